"""A review's result and its three forms: JSON (complete), Markdown (bounded, for a
pull-request comment) and text (for a terminal)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .display import exact
from .model import RULES, Finding, StackReview, json_value
from .render import markdown, text

DEFAULT_MAX_CHARS = 60_000
"""The Markdown's default bound: under GitHub's 65,536 characters of a comment."""

_PERMISSION_FIELDS = ("granted", "revoked", "permissions_before", "permissions_after")
_TEXT_FIELDS = ("organization_id", "slug", "name_before", "name_after",
                "organization_id_before", "slug_before")  # fmt: skip


@dataclass(frozen=True)
class Review:
    """What a review found: each stack's role changes and the rules' findings.

    ``to_json()`` is complete; ``to_markdown()`` and ``to_text()`` group identical
    changes across organizations and show every value inert (escaped, bounded, anything
    shaped like a credential redacted). Secrets are never decoded: the preview holds
    none in clear, and a secret value is shown as "secret".
    """

    stacks: list[StackReview] = field(default_factory=list)
    """Each stack's changes, in the order the documents named them."""
    findings: list[Finding] = field(default_factory=list)
    """What the rules found, stack by stack."""
    ignored_steps: int = 0
    """Steps or events without a usable URN (left out)."""
    notes: list[str] = field(default_factory=list)
    """What the reader should know of the documents themselves (e.g. a refresh's JSON
    that hides its drift)."""

    @property
    def blocking(self) -> bool:
        """Whether a finding blocks (the command then exits with 1)."""
        return any(finding.blocking for finding in self.findings)

    def counts(self) -> dict[str, int]:
        """The number of role changes of each kind, over all stacks."""
        found = dict.fromkeys(("create", "update", "replace", "delete", "drift"), 0)
        for stack in self.stacks:
            for role in stack.roles:
                found[role.change] += 1
        return found

    def to_json(self) -> dict[str, Any]:
        """The whole review as JSON-ready data: ``{"stacks": [...], "findings": [...],
        "blocking": bool, "summary": {...}}``, every string at most 1,000 characters and
        credential-shaped text redacted; nothing else is cut."""
        findings = []
        for finding in self.findings:
            entry = {key: json_value(value) for key, value in asdict(finding).items()}
            for key in ("stack", "organization_id", "slug", "message", "urn"):
                entry[key] = exact(entry[key])
            for key in ("permission", "pattern"):
                entry[key] = exact(entry[key], permission=True)
            findings.append(entry)
        return {
            "stacks": [
                {
                    "stack": exact(stack.stack),
                    "project": exact(stack.project),
                    "roles": [_role_json(role) for role in stack.roles],
                    "other_resources": stack.other_resources,
                }
                for stack in self.stacks
            ],
            "findings": findings,
            "blocking": self.blocking,
            "notes": list(self.notes),
            "summary": {
                "changes": self.counts(),
                "findings": {rule: sum(f.rule == rule for f in self.findings) for rule in RULES},
                "blocking_findings": sum(f.blocking for f in self.findings),
                "ignored_steps": self.ignored_steps,
            },
        }

    def to_markdown(self, max_chars: int = DEFAULT_MAX_CHARS) -> str:
        """The review for a pull-request comment or ``$GITHUB_STEP_SUMMARY``: at most
        ``max_chars`` characters (whole sections left out, with a note, when longer),
        starting with a hidden marker line that names the project and the stacks."""
        return markdown(self, max_chars)

    def to_text(self, max_chars: int | None = None) -> str:
        """The review for a terminal; with ``max_chars``, bounded as the Markdown is."""
        return text(self, max_chars)


def _role_json(role: Any) -> dict[str, Any]:
    entry = {key: json_value(value) for key, value in asdict(role).items()}
    entry["urn"] = exact(entry["urn"])
    for key in _TEXT_FIELDS:
        entry[key] = exact(entry[key])
    for key in _PERMISSION_FIELDS:
        if entry[key] is not None:
            entry[key] = [exact(p, permission=True) for p in entry[key]]
    return entry
