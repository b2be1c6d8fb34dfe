"""Review the role changes of a ``pulumi preview`` as the person approving them needs
to: who gains which permission, where; what is taken away; which roles are renamed,
replaced or deleted; what was changed in the dashboard since the last deploy.

::

    from pulumi_karmo_roles.review import load_preview, review

    with open("preview.json", encoding="utf-8") as f:
        result = review([load_preview(f.read())], deny=["*:delete"], fail_on=["delete"])
    print(result.to_markdown())
    if result.blocking:
        raise SystemExit(1)

It reads what ``pulumi preview --json`` writes (``--refresh`` included) and the event
log of ``pulumi refresh --preview-only --event-log FILE``, considers the
``OrganizationRole`` resources (role sets' children included) and counts the others.
``karmo-roles review`` is the same on the command line (docs/pull-requests.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from ._review.changes import Collector
from ._review.load import load_event_log, load_preview
from ._review.model import RULES, Finding, Options, RoleChange, StackReview
from ._review.report import DEFAULT_MAX_CHARS, Review
from ._review.rules import findings
from .errors import ReviewInputError

__all__ = [
    "DEFAULT_MAX_CHARS",
    "RULES",
    "Finding",
    "Review",
    "ReviewInputError",
    "RoleChange",
    "StackReview",
    "load_event_log",
    "load_preview",
    "review",
]


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
