"""``karmo-roles review``: the review of previews on the command line.

Exit status 0 when nothing blocks, 1 when a finding blocks (the review is still
written), 2 when an input cannot be read or is not a preview's JSON (one line on
standard error, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import ReviewInputError
from .display import plain
from .engine import review
from .load import load_event_log, load_preview, read_bytes
from .model import RULES
from .render import MIN_MAX_CHARS
from .report import DEFAULT_MAX_CHARS

DESCRIPTION = (
    "Summarize the Karmo role changes of `pulumi preview --json` (with or without "
    "--refresh) and the drift in the event log of `pulumi refresh --preview-only "
    "--event-log FILE`: permissions granted and revoked, renames, replacements and "
    "deletions with what to do by hand, drift, and the rules' findings. Exit status: 0 "
    "nothing blocks, 1 a finding blocks, 2 an input is not a preview."
)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``review`` to a parser's subcommands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "review",
        help="summarize the role changes of previews for a pull request",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE",
        help="what `pulumi preview --json` wrote, one file per stack (- reads stdin)",
    )  # fmt: skip
    parser.add_argument(
        "--event-log", action="append", default=[], metavar="FILE",
        help="the event log of `pulumi refresh --preview-only --event-log FILE` (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=("markdown", "text", "json"), default="markdown",
        help="markdown (default: a pull-request comment), text (a terminal) or json "
        "(complete, never cut)",
    )  # fmt: skip
    parser.add_argument(
        "--max-chars", type=_max_chars, default=DEFAULT_MAX_CHARS, metavar="N",
        help=f"the longest Markdown (default {DEFAULT_MAX_CHARS:,}): whole entries are left "
        "out, with a note, beyond it",
    )  # fmt: skip
    parser.add_argument(
        "--deny", action="append", default=[], metavar="PATTERN",
        help="a shell-style pattern of permissions no change may grant, e.g. 'admin:*' "
        "(repeatable; always blocking)",
    )  # fmt: skip
    parser.add_argument(
        "--fail-on", action="append", default=[], type=_rules, metavar="RULE[,RULE...]",
        help=f"rules whose findings block: {', '.join(r for r in RULES if r != 'deny')}",
    )  # fmt: skip
    parser.add_argument(
        "--project", metavar="NAME",
        help="the project, named in the title and marker when the previews name none "
        "(a preview with no changes has no URN); with --stack",
    )  # fmt: skip
    parser.add_argument("--stack", metavar="NAME", help="the stack, as --project")
    return parser


def _max_chars(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {plain(value, 40)}") from None
    if number < MIN_MAX_CHARS:
        raise argparse.ArgumentTypeError(f"at least {MIN_MAX_CHARS}")
    return number


def _rules(value: str) -> list[str]:
    rules = [rule.strip() for rule in value.split(",") if rule.strip()]
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown or not rules:
        raise argparse.ArgumentTypeError(
            f"no such rule: {plain(','.join(unknown) or value, 60)} (rules: {', '.join(RULES)})"
        )
    return rules


def _name(path: str) -> str:
    return "standard input" if path == "-" else plain(path, 200)


def _read(path: str) -> str:
    name = _name(path)
    try:
        if path == "-":
            return read_bytes(sys.stdin.buffer, "standard input")
        with open(path, "rb") as stream:
            return read_bytes(stream, name)
    except OSError as exc:
        raise ReviewInputError(
            f"{name}: cannot be read ({plain(exc.strerror or str(exc), 100)})"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Review the files ``args`` names and write the review: the exit status."""
    if not args.files and not args.event_log:
        print(
            "karmo-roles: error: give a preview's JSON (FILE, or - for stdin) or --event-log FILE",
            file=sys.stderr,
        )
        return 2
    if (args.project is None) != (args.stack is None):
        print("karmo-roles: error: --project and --stack go together", file=sys.stderr)
        return 2
    if [*args.files, *args.event_log].count("-") > 1:
        print("karmo-roles: error: standard input (-) can be read once", file=sys.stderr)
        return 2
    try:
        previews = [load_preview(_read(path), _name(path)) for path in args.files]
        logs = [load_event_log(_read(path), _name(path)) for path in args.event_log]
        result = review(
            previews, event_logs=logs, deny=args.deny,
            fail_on=[rule for rules in args.fail_on for rule in rules],
            project=args.project, stack=args.stack,
        )  # fmt: skip
    except (ReviewInputError, ValueError) as exc:
        print(f"karmo-roles: error: {plain(str(exc), 400)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("karmo-roles: error: out of memory reading the input", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, and a failed gate rather than a pass
        print(
            f"karmo-roles: error: the review failed ({type(exc).__name__}: "
            f"{plain(str(exc), 200)}); this is a bug in karmo-roles review, please report it",
            file=sys.stderr,
        )
        return 2
    if args.format == "json":
        output = json.dumps(result.to_json(), indent=2, ensure_ascii=True) + "\n"
    elif args.format == "text":
        output = result.to_text()
    else:
        output = result.to_markdown(args.max_chars)
    _write(output)
    return 1 if result.blocking else 0


def _write(output: str) -> None:
    stream = sys.stdout
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="backslashreplace")
    try:
        stream.write(output)
        stream.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        sys.stderr.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``karmo-roles review ...`` alone (see ``--help``)."""
    parser = argparse.ArgumentParser(prog="karmo-roles")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))
