"""The review itself: the documents' role changes collected, then the rules' findings.
The public :mod:`pulumi_karmo_roles.review` exports it; the command calls it here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from .changes import Collector
from .model import RULES, Options, StackReview
from .report import Review
from .rules import findings


def review(
    previews: Iterable[Mapping[str, Any]] = (),
    *,
    event_logs: Iterable[Iterable[Mapping[str, Any]]] = (),
    deny: Sequence[str] = (),
    fail_on: Collection[str] = (),
    project: str | None = None,
    stack: str | None = None,
) -> Review:
    """Review previews (documents of ``pulumi preview --json``, as :func:`load_preview`
    reads them) and event logs (as :func:`load_event_log` reads them).

    :param previews: One document per stack (or several of one stack: each role's
        change is kept once).
    :param event_logs: The events of ``pulumi refresh --preview-only --event-log``:
        their drift.
    :param deny: Shell-style patterns (``fnmatch``, case-sensitive): a granted
        permission matching one is a blocking ``deny`` finding, and so is a permission
        set known only after apply.
    :param fail_on: Rules whose findings block: ``wildcard``, ``delete``, ``takeover``,
        ``drift`` (``deny`` always blocks).
    :param project: With ``stack``: the stack to name when the documents name none (a
        preview with no changes holds no URN).
    :param stack: See ``project``.
    :raises ValueError: ``fail_on`` names no rule, or a ``deny`` pattern is empty.
    """
    unknown = sorted(set(fail_on) - set(RULES))
    if unknown:
        raise ValueError(f"no such rule: {', '.join(unknown)} (rules: {', '.join(RULES)})")
    if any(not pattern for pattern in deny):
        raise ValueError("a deny pattern is empty")
    collector = Collector()
    for document in previews:
        if isinstance(document, Mapping):
            collector.add_preview(document)
    for events in event_logs:
        collector.add_events(events)
    stacks = collector.stacks()
    if not stacks and project is not None and stack is not None:
        stacks = [StackReview(stack, project)]
    options = Options(tuple(deny), frozenset(fail_on))
    notes = [] if collector.events else collector.notes
    return Review(stacks, findings(stacks, options), collector.ignored, notes)
