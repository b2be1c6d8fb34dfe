"""Reading what ``pulumi preview --json`` and ``--event-log`` write, refusing anything
else with one line: text that is no JSON, cut short, nested too deep to parse, too large,
or JSON that is no preview.
"""

from __future__ import annotations

import json
import re
from typing import Any, BinaryIO

from ..errors import ReviewInputError
from .display import plain

MAX_INPUT_BYTES = 256 * 1024 * 1024
"""The largest file a review reads (a preview of 2,000 roles is a few megabytes)."""

# Policy packs can print text before the JSON on stdout (pulumi/pulumi#19775).
_JSON_START = re.compile(r"^\{", re.M)
_EVENT_KEYS = frozenset(
    {"cancelEvent", "stdoutEvent", "diagnosticEvent", "preludeEvent", "summaryEvent",
     "resourcePreEvent", "resOutputsEvent", "resOpFailedEvent", "policyEvent",
     "engineEvent", "startDebuggingEvent", "progressEvent", "errorEvent",
     "policyRemediationEvent", "policyLoadEvent", "policyAnalyzeSummaryEvent",
     "policyRemediateSummaryEvent", "policyAnalyzeStackSummaryEvent"}
)  # fmt: skip


def read_bytes(stream: BinaryIO, name: str) -> str:
    """A file's text, refusing one larger than :data:`MAX_INPUT_BYTES` or not UTF-8."""
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise ReviewInputError(
            f"{name}: larger than {MAX_INPUT_BYTES >> 20} MiB, more than any preview holds"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReviewInputError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def _parse(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ReviewInputError(f"{what}: JSON nested too deep to be a preview") from None
    except json.JSONDecodeError as exc:
        tail = text[exc.pos :].rstrip()
        cut = (
            not tail
            or exc.msg.startswith("Unterminated string")
            or any(word.startswith(tail) for word in ("true", "false", "null"))
        )
        reason = "cut short" if cut else f"invalid at line {exc.lineno} column {exc.colno}"
        raise ReviewInputError(f"{what}: not JSON ({reason})") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ReviewInputError(f"{what}: not JSON ({plain(str(exc), 80)})") from None


def load_preview(text: str, name: str = "input") -> dict[str, Any]:
    """The document ``pulumi preview --json`` wrote (text printed before it by a policy
    pack is skipped). Raises :class:`ReviewInputError` when it is not one."""
    if not text.lstrip().startswith("{"):
        start = _JSON_START.search(text)
        if start is None:
            raise ReviewInputError(
                f"{name}: not the JSON of `pulumi preview --json` (no JSON object in it)"
            )
        text = text[start.start() :]
    try:
        document = _parse(text, name)
    except ReviewInputError:
        first = text.lstrip().split("\n", 1)[0]
        if len(first) < len(text.strip()) and _is_event(first):
            raise ReviewInputError(
                f"{name}: an event log, not the JSON of `pulumi preview --json` (pass it "
                "with --event-log)"
            ) from None
        raise
    if not isinstance(document, dict):
        raise ReviewInputError(f"{name}: not the JSON of `pulumi preview --json`")
    steps = document.get("steps")
    if _EVENT_KEYS & document.keys():
        raise ReviewInputError(
            f"{name}: an engine event, not the JSON of `pulumi preview --json` (pass an "
            "event log with --event-log)"
        )
    if steps is None and "changeSummary" not in document:
        raise ReviewInputError(f"{name}: not the JSON of `pulumi preview --json` (no steps)")
    if steps is not None and not isinstance(steps, list):
        raise ReviewInputError(
            f"{name}: not the JSON of `pulumi preview --json` (steps is no list)"
        )
    return document


def _is_event(line: str) -> bool:
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(event, dict) and bool(_EVENT_KEYS & event.keys())


def load_event_log(text: str, name: str = "input") -> list[dict[str, Any]]:
    """The events of an engine event log (``--event-log``: one JSON object a line).
    Raises :class:`ReviewInputError` when it is not one."""
    events: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        event = _parse(line, f"{name}, line {number}")
        if not isinstance(event, dict) or not (_EVENT_KEYS & event.keys() or "sequence" in event):
            raise ReviewInputError(
                f"{name}, line {number}: not an engine event (an --event-log file holds "
                "one JSON event a line)"
            )
        events.append(event)
    if not events:
        raise ReviewInputError(f"{name}: an empty event log")
    return events
