"""Regenerate the text the docs quote from the code (or check it is current).

    .venv/bin/python scripts/capture_docs.py           # rewrite the captured blocks
    .venv/bin/python scripts/capture_docs.py --check   # exit 1 with a diff if one is stale

A captured block is a fenced block right after a ``<!-- captured: NAME -->`` line; NAME
says what produces it (``CAPTURES``). Markdown shown as it renders (a pull-request
comment) sits between ``<!-- captured: NAME (rendered) -->`` and ``<!-- end of
capture -->`` lines instead. Nothing in those blocks is typed by hand:
``karmo-sandbox --help`` is run, and each error message is raised by the package (the
422 by the client against the sandbox). Request ids differ on every run, so ``--check``
compares with them masked. tests/test_docs.py runs ``--check``.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The fence may be longer than three backticks, for a capture that holds fences itself.
MARKER = re.compile(r"^<!-- captured: ([a-z-]+) -->\n(````*)(\w*)\n(.*?)^\2$", re.S | re.M)
RENDERED = re.compile(
    r"^<!-- captured: ([a-z-]+) \(rendered\) -->\n(.*?)^<!-- end of capture -->$", re.S | re.M
)
REQUEST_ID = re.compile(r"req_[0-9a-f]{16}")
HELP_COLUMNS = "80"
"""The terminal width the ``--help`` is captured at (argparse wraps to it)."""


def sandbox_help() -> str:
    """What ``karmo-sandbox --help`` prints (the command installed beside this Python)."""
    script = Path(sys.executable).parent / "karmo-sandbox"
    env = {**os.environ, "COLUMNS": HELP_COLUMNS, "NO_COLOR": "1"}
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    return done.stdout


def _shown(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}\n"


def validation_error() -> str:
    """The 422 for a blank name, as the client raises it against the sandbox."""
    from pulumi_karmo_roles._http.karmo import KarmoClient
    from pulumi_karmo_roles.errors import UnprocessableEntityError
    from pulumi_karmo_roles.sandbox import SandboxServer

    for variable in [v for v in os.environ if v.lower().endswith("_proxy")]:
        del os.environ[variable]  # the sandbox is on 127.0.0.1: no proxy between
    token = "kt_capture_docs_token"
    with SandboxServer(token) as sandbox, KarmoClient(sandbox.url, token) as client:
        try:
            client.upsert_role("org_123", "org-admin", "   ")
        except UnprocessableEntityError as exc:
            return _shown(exc)
    raise AssertionError("the sandbox accepted a blank name")


@contextlib.contextmanager
def _without(package: str) -> Iterator[None]:
    """Import ``package`` (and its submodules) fail, as if it were not installed."""
    saved = {m: sys.modules[m] for m in list(sys.modules) if m.split(".")[0] == package}
    for name in saved:
        del sys.modules[name]
    sys.modules[package] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules[package]
        sys.modules.update(saved)


def botocore_missing() -> str:
    """The error of ``karmo:auth = aws-sigv4`` without botocore."""
    from pulumi_karmo_roles._http.credentials import sigv4_signer
    from pulumi_karmo_roles.errors import ConfigurationError

    with _without("botocore"):
        try:
            sigv4_signer("eu-west-1")
        except ConfigurationError as exc:
            return _shown(exc)
    raise AssertionError("sigv4_signer worked without botocore")


def pyyaml_missing() -> str:
    """The error of a YAML role catalog without PyYAML."""
    from pulumi_karmo_roles.catalog import Catalog
    from pulumi_karmo_roles.errors import CatalogError

    here = Path.cwd()
    with tempfile.TemporaryDirectory() as directory:
        # A relative path, as a program under `pulumi` names its catalog.
        os.chdir(directory)
        try:
            Path("roles.yaml").write_text("roles:\n  org-admin:\n    name: Admin\n")
            with _without("yaml"):
                Catalog.from_file("roles.yaml")
        except CatalogError as exc:
            return _shown(exc)
        finally:
            os.chdir(here)
    raise AssertionError("a YAML catalog was read without PyYAML")


FIXTURES = ROOT / "tests" / "fixtures" / "previews"
"""Preview JSON the real Pulumi CLI printed (scripts/capture_review_fixtures.py)."""


def review(*names: str, options: tuple[str, ...] = ()) -> Callable[[], str]:
    """What ``karmo-roles review`` prints for the fixtures ``names`` (file names relative
    to their directory, as a user in it would type them)."""

    def run() -> str:
        script = Path(sys.executable).parent / "karmo-roles"
        done = subprocess.run(
            [str(script), "review", *names, *options],
            capture_output=True,
            text=True,
            cwd=FIXTURES,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=60,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"karmo-roles review {' '.join(names)}: {done.stderr.strip()}")
        return done.stdout

    return run


def short_token() -> str:
    """The error of a token too short to redact (``karmo:token`` set to ``t``)."""
    from pulumi_karmo_roles._config import check_settings
    from pulumi_karmo_roles.errors import ConfigurationError

    try:
        check_settings({"karmo:token": "t"}, {})
    except ConfigurationError as exc:
        return _shown(exc)
    raise AssertionError("a one-character token was accepted")


CAPTURES: dict[str, Callable[[], str]] = {
    "sandbox-help": sandbox_help,
    "validation-error": validation_error,
    "botocore-missing": botocore_missing,
    "pyyaml-missing": pyyaml_missing,
    "review-pull-request": review("pull-request.json", options=("--fail-on", "delete,takeover")),
    "review-role-set": review("role-set.json"),
    "review-drift": review(
        options=("--event-log", "drift-refresh-preview-only.events.jsonl", "--fail-on", "drift")
    ),
    "short-token": short_token,
}


def captured_pages() -> dict[Path, str]:
    """Each page under docs/ with a captured block, and its text with every captured
    block regenerated."""
    cache: dict[str, str] = {}

    def produce(name: str) -> str:
        if name not in CAPTURES:
            raise SystemExit(f"unknown capture {name!r} (known: {', '.join(CAPTURES)})")
        if name not in cache:
            cache[name] = CAPTURES[name]()
        return cache[name]

    def regenerate(match: re.Match[str]) -> str:
        name, fence, language = match.group(1), match.group(2), match.group(3)
        return f"<!-- captured: {name} -->\n{fence}{language}\n{produce(name)}{fence}"

    def render(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<!-- captured: {name} (rendered) -->\n{produce(name)}\n<!-- end of capture -->"

    pages = {}
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text()
        if MARKER.search(text) or RENDERED.search(text):
            pages[page] = RENDERED.sub(render, MARKER.sub(regenerate, text))
    unused = set(CAPTURES) - set(cache)
    if unused:
        raise SystemExit(f"no page shows the capture(s) {sorted(unused)}")
    return pages


def main(argv: list[str]) -> int:
    """Rewrite the captured blocks, or with ``--check`` report the stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = 0
    for page, fresh in captured_pages().items():
        current = page.read_text()
        if REQUEST_ID.sub("req_ID", current) == REQUEST_ID.sub("req_ID", fresh):
            continue
        if args.check:
            stale += 1
            name = str(page.relative_to(ROOT))
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    fresh.splitlines(keepends=True),
                    name,
                    f"{name} (from the code)",
                )
            )
        else:
            page.write_text(fresh)
            print(f"rewrote {page.relative_to(ROOT)}")
    if stale:
        print(f"\n{stale} page(s) stale: run .venv/bin/python scripts/capture_docs.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
