"""The files users copy parse, and the workflows hold to what the README and zizmor.yml
say: every YAML, JSON and TOML file in the repository loads; every workflow is linted by
.ci/run; workflows install the package only as the README says; third-party actions are
pinned to a commit with their tag beside it (or zizmor.yml says why not); a preview job
gets no Karmo or WorkOS secret."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.readme import README, install_targets, section

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRECTORIES = {".git", ".venv", "venv", "node_modules", "build", "dist"}


def repository_files() -> list[Path]:
    """The files of the work tree that git would commit (tracked, or new and not ignored)."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return sorted(ROOT / name for name in listed.split("\0") if name and (ROOT / name).exists())
    return sorted(
        path
        for path in ROOT.rglob("*")
        if path.is_file()
        and not SKIPPED_DIRECTORIES & set(path.relative_to(ROOT).parts)
        and not any(part.startswith(".ci-venv") for part in path.relative_to(ROOT).parts)
    )


FILES = repository_files()


def _kind(path: Path) -> str | None:
    name = path.name.removesuffix(".example")
    for kind, suffixes in {
        "yaml": (".yml", ".yaml"),
        "json": (".json",),
        "toml": (".toml",),
    }.items():
        if name.endswith(suffixes):
            return kind
    return None


DATA_FILES = [path for path in FILES if _kind(path)]


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a mapping key given twice (PyYAML keeps the last; GitHub and
    Pulumi refuse the file)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=True) for key, _ in node.value]
    for key in keys:
        if keys.count(key) > 1:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", node.start_mark
            )
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    kind = _kind(path)
    if kind == "yaml":
        return list(yaml.load_all(text, Loader=_StrictLoader))
    if kind == "json":

        def refuse_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [key for key, _ in pairs]
            assert len(keys) == len(set(keys)), f"a key appears twice in {keys}"
            return dict(pairs)

        return json.loads(text, object_pairs_hook=refuse_twice)
    # The standard library's from 3.11; before, tomli (which pytest itself needs there).
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    return tomllib.loads(text)


def test_the_repository_has_the_files_users_copy() -> None:
    names = {str(path.relative_to(ROOT)) for path in DATA_FILES}
    assert {
        "pyproject.toml",
        "zizmor.yml",
        ".github/workflows/ci.yml",
        "examples/github-actions/pulumi.yml",
        "examples/github-actions/pulumi-aws-oidc.yml",
        "examples/github-actions/karmo-drift.yml",
        "examples/basic/Pulumi.dev.yaml.example",
        "examples/multi-tenant/Pulumi.dev.yaml.example",
        "examples/production/Pulumi.prod.yaml.example",
        "examples/sharded/Pulumi.shard-3.yaml.example",
        "examples/sharded/pulumi-shards.yml",
        "examples/sharded/shards.yaml",
        "examples/sharded/roles.yaml",
        "examples/sharded/customers.json",
    } <= names


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_data_file_parses(path: Path) -> None:
    _load(path)


def test_the_strict_loader_refuses_what_github_refuses() -> None:
    # The two mistakes these tests exist for: a step name with ": " in it (a mapping
    # where a string was meant), and a key given twice.
    with pytest.raises(yaml.YAMLError):
        yaml.load("- name: Install (with the [aws] extra: botocore)\n", Loader=_StrictLoader)  # noqa: S506
    with pytest.raises(yaml.YAMLError, match="appears twice"):
        yaml.load("a: 1\na: 2\n", Loader=_StrictLoader)  # noqa: S506


def _workflow(path: Path) -> dict[str, Any]:
    (document,) = _load(path)
    assert isinstance(document, dict)
    return document


# A workflow is a YAML file with jobs (found by its text: a file that does not parse is
# still a workflow, and test_every_data_file_parses names it).
WORKFLOWS = [
    path
    for path in DATA_FILES
    if _kind(path) == "yaml" and re.search(r"^jobs:", path.read_text(), re.M)
]
EXAMPLE_WORKFLOWS = [p for p in WORKFLOWS if p.parent == ROOT / "examples" / "github-actions"]


def test_ci_lints_every_workflow() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    match = re.search(r"^workflows=\((.*)\)$", script, re.M)
    assert match is not None, ".ci/run lists the workflow files it lints"
    linted = {path for pattern in match.group(1).split() for path in ROOT.glob(pattern)}
    assert set(WORKFLOWS) == linted
    assert len(EXAMPLE_WORKFLOWS) == 3


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def _commands(run: str) -> list[list[str]]:
    """The simple commands of a `run:` script, split into words."""
    return [
        shlex.split(part)
        for line in run.replace("\\\n", " ").splitlines()
        for part in re.split(r"&&|\|\||;", line.split(" #")[0])
        if part.strip()
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflows_install_as_the_readme_says(path: Path) -> None:
    # The package is not on PyPI: a workflow installs it either with the README's test
    # command (this repository's CI), or from a requirements.txt, which the README's
    # Install section says must hold the path of a checkout or a wheel.
    test_command = _commands(
        next(line for line in README.splitlines() if line.startswith("python3 -m venv"))
    )
    allowed_targets = install_targets()
    installs = 0
    for _, step in _steps(_workflow(path)):
        for words in _commands(step.get("run", "")):
            if "pip" not in words[0] or "install" not in words:
                continue
            installs += 1
            assert words[0].endswith("/bin/pip"), f"{words}: pip from a virtual environment"
            if path.parent.name == "workflows":
                assert words in test_command, f"{words} is not the README's test command's"
            else:
                arguments = [w for w in words[2:] if not w.startswith("-")]
                assert arguments == ["requirements.txt"] or set(arguments) <= allowed_targets, words
    assert installs
    if path in EXAMPLE_WORKFLOWS:
        assert "requirements.txt" in section("Install")
        assert "README.md#install" in (path.parent / "README.md").read_text()


USES = re.compile(r"^\s*(?:- )?uses: ([^@\s]+)@(\S+)(.*)$", re.M)


def _ref_pinned() -> set[str]:
    config = yaml.safe_load((ROOT / "zizmor.yml").read_text())
    policies = config["rules"]["unpinned-uses"]["config"]["policies"]
    assert policies.pop("*") == "hash-pin"
    return {action for action, policy in policies.items() if policy == "ref-pin"}


def test_zizmor_config_gives_a_reason_for_each_accepted_finding() -> None:
    lines = (ROOT / "zizmor.yml").read_text().splitlines()
    entries = [i for i, line in enumerate(lines) if re.match(r"^\s+(- |[\w/\"*-]+: \S)", line)]
    for i in entries:
        if lines[i].strip() in ('"*": hash-pin',):
            continue  # the rule itself, not an exception to it
        assert lines[i - 1].strip().startswith("# "), f"zizmor.yml line {i + 1} has no reason"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_actions_are_pinned_to_a_commit_with_its_tag(path: Path) -> None:
    accepted = _ref_pinned()
    text = path.read_text()
    uses = USES.findall(text)
    assert uses
    for action, ref, rest in uses:
        if action in accepted:
            assert re.fullmatch(r"v\d+", ref), f"{action}@{ref}: a major tag, as zizmor.yml says"
            continue
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action}@{ref} is not a full commit"
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", rest), f"{action}@{ref}: no tag beside it"
    # One action, one commit, in every file.
    for other in WORKFLOWS:
        for action, ref, rest in USES.findall(other.read_text()):
            for mine, my_ref, my_rest in uses:
                if action == mine:
                    assert ref == my_ref, f"{action} differs in {other.name}"
                    if action not in accepted:
                        assert rest == my_rest, f"{action}'s tag differs in {other.name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_checkout_keeps_no_credentials_and_jobs_ask_for_their_permissions(path: Path) -> None:
    workflow = _workflow(path)
    assert workflow["permissions"] == {}, "the workflow grants nothing; each job asks"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
    for name, step in _steps(workflow):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, name


def _pulumi_commands(step: dict[str, Any]) -> list[str]:
    """The Pulumi commands a step runs: the Pulumi action's ``command``, or the ``pulumi
    X`` of its ``run:`` script."""
    if str(step.get("uses", "")).startswith("pulumi/actions@"):
        command = step.get("with", {}).get("command")
        return [command] if command else []
    return [words[1] for words in _commands(step.get("run", "")) if words[0] == "pulumi"]


def _runs_only_pulumi(step: dict[str, Any]) -> bool:
    if str(step.get("uses", "")).startswith("pulumi/actions@"):
        return True
    commands = _commands(step.get("run", ""))
    return bool(commands) and all(words[0] == "pulumi" for words in commands)


@pytest.mark.parametrize("path", EXAMPLE_WORKFLOWS, ids=lambda p: p.name)
def test_each_job_gets_only_the_secrets_it_needs(path: Path) -> None:
    workflow = _workflow(path)
    assert "secrets." not in json.dumps(workflow.get("env", {})), "no workflow-wide secret"
    for job_name, job in workflow["jobs"].items():
        assert "secrets." not in json.dumps(job.get("env", {})), f"{job_name}: job-wide secret"
        commands = [c for step in job["steps"] for c in _pulumi_commands(step)]
        for step in job["steps"]:
            if "secrets." in json.dumps(step) and not _runs_only_pulumi(step):
                raise AssertionError(f"{job_name}: a secret outside the Pulumi step: {step}")
        job_text = json.dumps(job)
        if commands in (["preview"], ["refresh"]):
            # A preview or a refresh never calls Karmo: no Karmo credential, no AWS role.
            assert not re.search(r"KARMO_TOKEN|secrets\.KARMO", job_text), job_text
            assert "id-token" not in job.get("permissions", {})
            assert "configure-aws-credentials" not in job_text
        if commands == ["preview"]:
            # ...and a pull request's code runs there: no WorkOS key, no write access.
            assert "WORKOS" not in job_text, job_text
            assert job["permissions"] == {"contents": "read"}, job_name
        elif commands == ["refresh"]:
            assert "--preview-only" in job_text, "the drift job writes no state"
        elif commands:
            assert commands == ["up"], commands
        else:
            # A job without Pulumi (the review comments) gets no secret and runs no code
            # of the repository: no checkout, no install.
            assert "secrets." not in job_text, job_name
            assert "actions/checkout" not in job_text, job_name
            assert "pip" not in job_text, job_name


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLE_WORKFLOWS if p.name != "karmo-drift.yml"], ids=lambda p: p.name
)
def test_pull_requests_get_the_review_in_one_comment_per_stack(path: Path) -> None:
    jobs = _workflow(path)["jobs"]
    preview = " ".join(str(step.get("run", "")) for step in jobs["preview"]["steps"])
    assert re.search(r"pulumi preview [^\n]*--json > ", preview), preview
    assert "karmo-roles review" in preview
    assert "$GITHUB_STEP_SUMMARY" in preview
    # Only the comment job may write to the pull request; it needs the previews.
    writers = [n for n, j in jobs.items() if "pull-requests" in j.get("permissions", {})]
    assert writers == ["comment"]
    assert jobs["comment"]["permissions"] == {"pull-requests": "write"}
    assert jobs["comment"]["needs"] == "preview"
    post = " ".join(str(step.get("run", "")) for step in jobs["comment"]["steps"])
    for words in ("head -n 1", "startswith(env.MARKER)", "--method PATCH", "--method POST"):
        assert words in post, words


def test_drift_runs_on_main_on_a_schedule_and_fails_on_drift() -> None:
    workflow = _workflow(ROOT / "examples" / "github-actions" / "karmo-drift.yml")
    # PyYAML reads the key `on` as True.
    triggers = {str(key): value for key, value in workflow.items()}["True"]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (job,) = workflow["jobs"].values()
    assert job["if"] == "github.ref == 'refs/heads/main'"
    runs = " ".join(str(step.get("run", "")) for step in job["steps"])
    assert re.search(r"pulumi refresh --preview-only .*--event-log ", runs), runs
    assert re.search(r"karmo-roles review .*--event-log .*--fail-on drift", runs), runs
    refresh = next(s for s in job["steps"] if "pulumi refresh" in str(s.get("run", "")))
    assert "WORKOS_API_KEY" in refresh["env"]


def test_ci_builds_the_cli_once_and_runs_the_engine_tests_once() -> None:
    # One job has the Pulumi CLI, restored from a cache keyed by the Go module's go.sum
    # and the Go version (or built and saved at once), and runs .ci/run, whose README
    # command runs tests/cli; every other job leaves tests/cli out.
    workflow = _workflow(ROOT / ".github" / "workflows" / "ci.yml")
    with_cli = []
    for name, job in workflow["jobs"].items():
        runs = " ".join(str(step.get("run", "")) for step in job["steps"])
        uses = [str(step.get("uses", "")) for step in job["steps"]]
        if "bash .ci/run" in runs:
            with_cli.append(name)
            restore = next(s for s in job["steps"] if "actions/cache/restore@" in s.get("uses", ""))
            key = restore["with"]["key"]
            assert "hashFiles('tools/pulumi-cli/go.sum')" in key, key
            assert "steps.go.outputs.go-version" in key, key
            go = next(s for s in job["steps"] if s.get("id") == "go")
            assert go["with"]["go-version-file"] == "tools/pulumi-cli/go.mod"
            assert any(u.startswith("actions/cache/save@") for u in uses)
        else:
            assert "pytest" in runs, name
            assert "--ignore=tests/cli" in runs, name
            assert not any(u.startswith(("actions/cache", "pulumi/actions")) for u in uses), name
    assert with_cli == ["engine"]
    matrix = workflow["jobs"]["tests"]["strategy"]["matrix"]["python"]
    declared = re.findall(
        r'"Programming Language :: Python :: (3\.\d+)"', (ROOT / "pyproject.toml").read_text()
    )
    assert matrix == declared
