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

from ._review.engine import review
from ._review.load import load_event_log, load_preview
from ._review.model import RULES, Finding, RoleChange, StackReview
from ._review.report import DEFAULT_MAX_CHARS, Review
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
