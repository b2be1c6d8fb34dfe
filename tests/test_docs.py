"""The README's and the docs' promises that a test can hold them to."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
# The pages for users: the README, docs/ and the examples' READMEs.
USER_PAGES = [ROOT / "README.md", *DOCS, *sorted((ROOT / "examples").glob("*/README.md"))]
# Every Markdown page a reader can reach: those, and the notes for maintainers.
PAGES = [*USER_PAGES, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]
PUBLIC_MODULES = {
    "errors",
    "catalog",
    "sandbox",
    "resource",
    "role_set",
    "provider",
    "sharding",
    "review",
}

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _fenced(text: str, language: str | None = None) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if language is None or lang == language]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def readme_test_command() -> str:
    """The one command in the README's shell blocks that runs pytest."""
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)\n```", README, re.S)
    commands = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if "-m pytest" in line and line.strip().startswith("python3 -m venv")
    ]
    assert len(commands) == 1, commands
    return str(commands[0])


def test_ci_runs_the_readme_test_command() -> None:
    command = readme_test_command()
    assert "pytest" in command
    assert "ruff check" in command
    assert "mypy" in command
    assert README.count(command) == 1
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    runs = [line for line in ci_lines if line.startswith(command)]
    assert len(runs) == 1, "CI must run the README's test command verbatim, once"
    # Under `set -e` a failure inside `a && b && c` does not stop the script: the line
    # must end the chain with `|| exit`, so that any failing link fails CI.
    assert re.fullmatch(r"\|\| exit( \$\?| 1)?", runs[0][len(command) :].strip()), runs[0]


def test_ci_stops_at_a_failing_step(tmp_path: Path) -> None:
    # The README command's shape, with its middle link failing, run the way .ci/run runs
    # it: the script must exit non-zero and go no further.
    script = (ROOT / ".ci" / "run").read_text()
    header = script[: script.index("cd ")]
    assert "set -euo pipefail" in header
    command = readme_test_command()
    line = next(line.strip() for line in script.splitlines() if line.strip().startswith(command))
    chained = "true && false && true" + line[len(command) :]
    probe = tmp_path / "probe.sh"
    probe.write_text(f"{header}{chained}\necho went-on\n")
    result = subprocess.run(["bash", str(probe)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "went-on" not in result.stdout


def test_readme_fits_on_a_screen() -> None:
    assert len(README.splitlines()) <= 150


def test_every_setting_is_documented() -> None:
    from pulumi_karmo_roles._config import CONFIG_KEYS

    for key, env in CONFIG_KEYS.items():
        assert f"`{key}`" in README
        assert f"`{env}`" in README


def test_every_error_class_is_documented() -> None:
    from pulumi_karmo_roles import errors

    text = (ROOT / "docs" / "errors.md").read_text()
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, errors.KarmoError):
            if value in (errors.KarmoError, errors.APIError):
                continue
            assert f"`{name}`" in text, name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if fragment:
            assert fragment in _anchors(resolved), f"{page.name}: no heading for {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_use_the_venv(page: Path) -> None:
    # Every command is pasteable in a checkout: Python tools run from .venv/bin/, so a
    # reader never runs the system's pip or a tool that is not installed.
    bare = {"pip", "pip3", "python", "pytest", "ruff", "mypy", "twine", "karmo-sandbox"}
    for block in _fenced(page.read_text(), "sh"):
        for line in block.splitlines():
            for command in re.split(r"&&|\|\||;|\|", line.split(" #")[0]):
                words = command.split()
                if not words:
                    continue
                assert words[0] not in bare, f"{page.name}: {line!r} runs {words[0]} bare"
                if words[0] == "python3":
                    assert words[1:3] == ["-m", "venv"], f"{page.name}: {line!r}"


def test_cli_output_is_only_captured_output() -> None:
    # What the CLI prints is captured from a real run into docs/previews.md (generated);
    # no other page shows invented CLI output.
    for page in PAGES:
        if page.name == "previews.md":
            continue
        text = page.read_text()
        assert "not captured from a CLI run" not in text
        for block in _fenced(text):
            assert "[urn=" not in block, page.name
            assert "Resources:" not in block, page.name


def test_quoted_output_is_captured_from_the_code() -> None:
    # `--help`, and the messages the docs quote, are regenerated from the code by
    # scripts/capture_docs.py; --check fails with a diff when a page says otherwise.
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "capture_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_sandbox_page_names_only_real_options() -> None:
    # The prose too: every `--option ARG` it names is one of karmo-sandbox's, with the
    # argument name --help gives it, and it names every one.
    from pulumi_karmo_roles.sandbox.__main__ import build_parser

    metavars = {}
    for action in build_parser()._actions:
        for option in action.option_strings:
            metavars[option] = action.metavar or (
                None if action.nargs == 0 else action.dest.upper()
            )
    page = (ROOT / "docs" / "sandbox.md").read_text()
    prose = FENCE.sub("", page)  # the --help block is compared whole, above
    named = re.findall(r"(--[a-z][a-z-]*)(?: ([A-Z][A-Z_]*)\b)?", prose)
    assert len(named) > 10
    for option, argument in named:
        assert option in metavars, f"docs/sandbox.md names {option}, which karmo-sandbox lacks"
        if argument:
            assert argument == metavars[option], (
                f"{option} {argument}: --help says {metavars[option]}"
            )
    options = {option for option, _ in named}
    missing = {o for o in metavars if o.startswith("--") and o != "--help"} - options
    assert not missing, f"docs/sandbox.md never mentions {sorted(missing)}"


def test_the_left_out_line_is_quoted_as_written() -> None:
    # CONTRIBUTING.md quotes the line a run without a CLI ends with; the count in it
    # changes with every new CLI test, so the page says N.
    from tests.support.cli import NO_CLI

    page = " ".join((ROOT / "CONTRIBUTING.md").read_text().split())
    assert f"``N {NO_CLI}``" in page


def test_each_docs_page_is_listed_once_in_the_readme() -> None:
    match = re.search(r"^## Documentation\n(.*?)^## ", README, re.S | re.M)
    assert match is not None
    listed = [target.partition("#")[0] for target in LINK.findall(match.group(1))]
    for page in DOCS:
        name = f"docs/{page.name}"
        assert listed.count(name) == 1, f"{name} is listed {listed.count(name)} times"
    assert "CONTRIBUTING.md" in listed
    assert "CHANGELOG.md" in listed


@pytest.mark.parametrize("page", USER_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_user_pages_name_no_test_file_and_no_internal_module(page: Path) -> None:
    # Tests and internal modules get renamed; a user needs neither. CONTRIBUTING.md
    # is where they are named.
    text = page.read_text()
    assert not re.search(r"\btests/|\btest_\w+\.py\b|\bconftest\b", text), page.name
    for dotted in re.findall(r"pulumi_karmo_roles((?:[./][A-Za-z_]\w*)+)", text):
        module, *rest = dotted.removesuffix(".py")[1:].replace("/", ".").split(".")
        assert module in PUBLIC_MODULES, f"{page.name} names pulumi_karmo_roles.{module}"
        assert all(name[:1].isupper() for name in rest), f"{page.name} names {dotted}"


def test_docstring_links_to_the_docs_resolve() -> None:
    # Docstrings point to a page (and a heading) instead of repeating it.
    named = 0
    for source in sorted((ROOT / "pulumi_karmo_roles").rglob("*.py")):
        for name, fragment in re.findall(r"\bdocs/([\w-]+\.md)(?:#([\w-]+))?", source.read_text()):
            named += 1
            page = ROOT / "docs" / name
            assert page.exists(), f"{source.name} points to docs/{name}"
            if fragment:
                assert fragment in _anchors(page), f"{source.name}: no heading for #{fragment}"
    assert named


def test_the_retry_policy_is_described_once() -> None:
    pages = [page.name for page in PAGES if "2^(n-1)" in page.read_text()]
    assert pages == ["reliability.md"]


def _run_pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("slug", "passes"), [("org-admin", True), ("Admin", False)], ids=["valid", "invalid"]
)
def test_the_test_your_own_program_snippet_works(tmp_path: Path, slug: str, passes: bool) -> None:
    # The snippet in docs/testing.md, run as written against a user's program: without
    # the mock calling check, the invalid slug would pass.
    (snippet,) = _fenced((ROOT / "docs" / "testing.md").read_text(), "python")
    (tmp_path / "test_roles.py").write_text(snippet)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "__init__.py").write_text("")
    (tmp_path / "infra" / "roles.py").write_text(
        "from pulumi_karmo_roles import OrganizationRole\n\n"
        f'admin = OrganizationRole("admin", organization_id="org_123", slug="{slug}",'
        ' name="Organization Admin")\n'
    )
    result = _run_pytest(tmp_path)
    if passes:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "ValueError: slug: slug must start with 'org-'" in result.stdout


def test_demo_explains_a_missing_cli(tmp_path: Path) -> None:
    # A PATH with bash and python but no pulumi, as on these machines.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "python3", "dirname", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        ["bash", str(ROOT / "examples" / "basic" / "demo.sh")],
        env={**os.environ, "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "the Pulumi CLI is not installed" in result.stderr
    assert "get.pulumi.com" in result.stderr


def _page_section(page: Path, heading: str) -> str:
    """The text under ``## heading`` of ``page``, up to the next heading of that level."""
    text = page.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_each_page_says_where_credentials_belong_when_pull_requests_are_previewed() -> None:
    # A secret of the stack config is readable by a pull request's preview job (it holds
    # the state's credentials and runs the pull request's code): the README's advice,
    # `pulumi config set --secret karmo:token`, must point to where the token belongs then.
    configure = _page_section(ROOT / "README.md", "Configure")
    assert "(docs/pull-requests.md#where-each-credential-belongs)" in configure
    for page, heading in (
        (ROOT / "docs" / "pull-requests.md", "Where each credential belongs"),
        (ROOT / "docs" / "authentication.md", "When pull requests are previewed"),
    ):
        text = " ".join(_page_section(page, heading).split())
        for words in ("`KARMO_TOKEN`", "`WORKOS_API_KEY`", "deploy job", "stack config"):
            assert words in text, (page.name, words)
