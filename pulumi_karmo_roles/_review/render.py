"""The review as Markdown (a pull-request comment, a job summary) and as text (a
terminal): the same blocks, in the order of what matters most (what blocks, findings,
drift, deletions, replacements, updates, creations), so a cut to fit drops the least.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import display
from .model import Finding, Reviewed, StackReview
from .sentences import FIRST_IDS, ORDER, Group, grouped, organizations, sentence

MIN_MAX_CHARS = 4_000
"""The smallest bound the Markdown can keep (its head and the note of a cut)."""
MARKER = "karmo-roles-review"
"""The hidden marker's name: ``<!-- karmo-roles-review project=P stack=S -->``."""
_MARKED = 200  # characters of names in the marker, for projects and for stacks


@dataclass
class _Style:
    markdown: bool
    listed: int = 50
    limit: int = 120

    def value(self, value: str) -> str:
        if self.markdown:
            return display.code(value, self.limit)
        return display.plain(value, self.limit)

    def permission(self, value: str) -> str:
        if self.markdown:
            return display.code(value, self.limit, permission=True)
        return display.plain(value, self.limit, permission=True)

    def literal(self, text: str) -> str:
        return f"`{text}`" if self.markdown else text


@dataclass
class _Block:
    text: str
    section: str
    kept: bool = True  # a heading is kept only with an entry of its section


def marker(review: Reviewed) -> str:
    """The hidden first line naming the project(s) and stack(s), for a workflow to
    find its earlier comment."""
    projects = _names(dict.fromkeys(display.marker_part(s.project) for s in review.stacks))
    stacks = _names(display.marker_part(s.stack) for s in review.stacks)
    return f"<!-- {MARKER} project={projects} stack={stacks} -->"


def _names(names: Iterable[str]) -> str:
    """Names joined by commas, at most :data:`_MARKED` characters (then ``,+N``)."""
    kept: list[str] = []
    size = more = 0
    for name in names:
        if more or size + len(name) + 1 > _MARKED:
            more += 1
            continue
        kept.append(name)
        size += len(name) + 1
    return ",".join(kept or ["_"]) + (f",+{more}" if more else "")


def _title(s: _Style, review: Reviewed) -> str:
    s = _Style(s.markdown, limit=60)
    if len(review.stacks) == 1:
        stack = review.stacks[0]
        return f"Karmo roles: {s.value(stack.project)} / {s.value(stack.stack)}"
    return f"Karmo roles: {len(review.stacks)} stacks"


def _summary(review: Reviewed) -> str:
    counts = review.counts()
    changes = sum(n for kind, n in counts.items() if kind != "drift")
    words = {"create": "created", "update": "updated", "replace": "replaced",
             "delete": "deleted"}  # fmt: skip
    listed = ", ".join(f"{n} {words[k]}" for k, n in counts.items() if n and k in words)
    line = f"{changes} role change{'s' if changes != 1 else ''}" + (f": {listed}" if listed else "")
    if counts["drift"]:
        line += f"; drift found in {counts['drift']} role{'s' if counts['drift'] != 1 else ''}"
    others = sum(stack.other_resources for stack in review.stacks)
    line += {0: "; no other resource changes", 1: "; 1 other resource changes"}.get(
        others, f"; {others} other resources change"
    )
    if review.ignored_steps:
        line += f"; {review.ignored_steps} steps without a usable URN left out"
    return line + "."


def _verdict(review: Reviewed) -> str:
    blocking = [f for f in review.findings if f.blocking]
    if blocking:
        rules = ", ".join(dict.fromkeys(f.rule for f in blocking))
        many = "s block" if len(blocking) != 1 else " blocks"
        return f"{len(blocking)} finding{many} this change ({rules})."
    if review.findings:
        return f"No finding blocks this change ({len(review.findings)} found, none blocking)."
    return "Nothing found by the rules."


def _finding_sentences(s: _Style, findings: list[Finding], several: bool) -> list[str]:
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for f in findings:
        key = (f.blocking, f.rule, f.stack, f.slug, f.permission, f.pattern)
        groups.setdefault(key, []).append(f)
    ordered = sorted(groups.values(), key=lambda g: not g[0].blocking)
    lines = []
    for group in ordered:
        f = group[0]
        at = organizations(
            [s.value(g.organization_id) if g.organization_id is not None else "(unknown)"
             for g in group[:FIRST_IDS]],
            len(group),
        )  # fmt: skip
        head = ("⛔ blocks: " if f.blocking else "") + (f"**{f.rule}**" if s.markdown else f.rule)
        slug = s.value(f.slug) if f.slug is not None else "(unknown)"
        stack = f" in {s.value(f.stack)}" if several else ""
        lines.append(f"{head}{stack}: {slug} in {at}: {_finding_text(s, f)}")
    return lines


def _finding_text(s: _Style, f: Finding) -> str:
    permission = s.permission(f.permission) if f.permission is not None else ""
    if f.rule == "wildcard":
        return f"granted {permission}, a wildcard (every permission it matches, future ones too)"
    if f.rule == "deny" and f.permission is None:
        deny = s.literal("--deny")
        return f"its permissions are known only after apply, so {deny} cannot check them"
    if f.rule == "deny":
        pattern = s.permission(f.pattern or "")
        return f"granted {permission}, which matches {s.literal('--deny')} {pattern}"
    if f.rule == "delete":
        return "replaced or deleted: the old role stays in Karmo (what to do by hand is below)"
    if f.rule == "takeover":
        return "its permissions go from unmanaged to managed: the whole set in Karmo is replaced"
    return "changed outside Pulumi (below)"


def _blocks(review: Reviewed, s: _Style, heading: Callable[[int, str], str]) -> list[_Block]:
    blocks = []
    if review.findings:
        blocks.append(_Block(heading(4, "Findings"), "Findings", kept=False))
        blocks += [
            _Block(f"- {line}", "Findings")
            for line in _finding_sentences(s, review.findings, len(review.stacks) > 1)
        ]
    for stack in review.stacks:
        blocks += _stack_blocks(stack, s, heading, several=len(review.stacks) > 1)
    return blocks


def _stack_blocks(
    stack: StackReview, s: _Style, heading: Callable[[int, str], str], several: bool
) -> list[_Block]:
    where = f"{s.value(stack.project)} / {s.value(stack.stack)}"
    blocks = []
    if several:
        blocks.append(_Block(heading(4, where), where, kept=False))
    if not stack.roles:
        blocks.append(_Block("No role changes.", where))
    for kind, title in ORDER:
        groups = grouped(stack.roles, kind)
        if not groups:
            continue
        count = sum(len(g.places) for g in groups)
        section = f"{title} ({count})" + (f" in {where}" if several else "")
        blocks.append(_Block(heading(5, f"{title} ({count})"), section, kept=False))
        blocks += [_Block(f"- {_bounded(s, g)}", section) for g in groups]
    return blocks


def _bounded(s: _Style, group: Group) -> str:
    line = sentence(s, group)
    if len(line) > 4_000:  # a hundred long permissions: list fewer, shorter
        line = sentence(_Style(s.markdown, listed=5, limit=40), group)
    return line


def _fit(
    head: list[str],
    blocks: list[_Block],
    max_chars: int | None,
    note: Callable[[int, list[str]], str],
) -> str:
    out = list(head)
    size = sum(len(line) + 1 for line in out)
    reserve = 700  # the note of a cut (sections named in at most 400 characters)
    left: list[str] = []
    dropped = 0
    pending: list[_Block] = []
    for block in blocks:
        if not block.kept:  # a heading: written with the first entry under it
            pending.append(block)
            continue
        add = [*pending, block]
        cost = sum(len(b.text) + 2 for b in add)
        if dropped or (max_chars is not None and size + cost + reserve > max_chars):
            dropped += 1
            if block.section not in left:
                left.append(block.section)
            continue
        out += [b.text for b in add]
        size += cost
        pending = []
    if dropped:
        out.append(note(dropped, left))
    return "\n".join(out) + "\n"


def markdown(review: Reviewed, max_chars: int) -> str:
    """The review as Markdown of at most ``max_chars`` characters."""
    if max_chars < MIN_MAX_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_MAX_CHARS}")
    s = _Style(markdown=True)
    head = [marker(review), f"### {_title(s, review)}", "", _summary(review), "",
            f"**{_verdict(review)}**", ""]  # fmt: skip
    head += [f"> {note}\n" for note in review.notes]

    def heading(level: int, text: str) -> str:
        return f"\n{'#' * level} {text}\n"

    def note(dropped: int, left: list[str]) -> str:
        sections = "; ".join(left[:5]) + ("; …" if len(left) > 5 else "")
        if len(sections) > 400:  # long stack names: name none rather than cut one
            sections = f"{len(left)} sections"
        return (
            f"\n> **Cut to fit {max_chars:,} characters:** {dropped} more entries left out "
            f"({sections}). The whole review: `karmo-roles review --format json` or "
            "`--format text` on the same preview."
        )

    text = _fit(head, _blocks(review, s, heading), max_chars, note)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "\n"


def text(review: Reviewed, max_chars: int | None = None) -> str:
    """The review as text for a terminal (bounded by ``max_chars`` when given)."""
    s = _Style(markdown=False)
    head = [_title(s, review), _summary(review), _verdict(review), *review.notes]

    def heading(_level: int, title: str) -> str:
        return f"\n{title}"

    def note(dropped: int, left: list[str]) -> str:
        return f"\n(cut to fit {max_chars} characters: {dropped} more entries left out)"

    return _fit(head, _blocks(review, s, heading), max_chars, note)
