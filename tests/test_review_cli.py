"""``karmo-roles review``: formats, exit status 0/1/2, standard input, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_karmo_roles._cli import main
from tests.support.previews import preview, role_props, step, urn

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "previews"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["review", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def wildcard(tmp_path: Path) -> Path:
    path = tmp_path / "preview.json"
    doc = preview(step("create", urn("a"), new=role_props(permissions=["users:*"])))
    path.write_text(json.dumps(doc))
    return path


def test_markdown_by_default_and_exit_0_when_nothing_blocks(
    capsys: pytest.CaptureFixture[str], wildcard: Path
) -> None:
    code, out, err = run(capsys, str(wildcard))
    assert (code, err) == (0, "")
    assert out.startswith("<!-- karmo-roles-review project=acme-roles stack=dev -->\n")
    assert "**wildcard**" in out


def test_a_blocking_finding_exits_1_and_still_writes_the_review(
    capsys: pytest.CaptureFixture[str], wildcard: Path
) -> None:
    for args in (["--fail-on", "wildcard"], ["--fail-on", "delete,wildcard"],
                 ["--deny", "users:*"]):  # fmt: skip
        code, out, _ = run(capsys, str(wildcard), "--format", "text", *args)
        assert code == 1, args
        assert "blocks this change" in out


def test_json_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(FIXTURES / "role-set.json"), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert len(data["stacks"][0]["roles"]) == 50
    assert out.isascii()


def test_several_files_and_event_logs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, str(FIXTURES / "role-set.json"), str(FIXTURES / "rename.json"),
        "--event-log", str(FIXTURES / "drift-refresh-preview-only.events.jsonl"),
        "--format", "json", "--fail-on", "drift",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 1
    assert [(s["project"], s["stack"]) for s in data["stacks"]] == [
        ("acme-tenants", "prod"), ("acme-roles", "dev")
    ]  # fmt: skip
    assert data["summary"]["changes"]["drift"] == 3


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with open(FIXTURES / "rename.json", "rb") as stream:
        monkeypatch.setattr(sys, "stdin", type("In", (), {"buffer": stream})())
        code, out, _ = run(capsys, "-", "--format", "text")
    assert code == 0
    assert "renamed Organization Admin → Administrators" in out


def test_a_terminal_that_cannot_show_unicode_gets_escapes_not_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_karmo_roles", "review", str(FIXTURES / "rename.json"),
         "--format", "text"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert "renamed Organization Admin \\u2192 Administrators" in done.stdout


def test_max_chars_bounds_the_markdown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = preview(*(step("create", urn(f"r{i}"), new=role_props(slug=f"org-r{i}"))
                    for i in range(300)))  # fmt: skip
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run(capsys, str(path), "--max-chars", "4000")
    assert code == 0
    assert len(out) <= 4000
    assert "Cut to fit 4,000 characters" in out


def test_a_preview_without_urns_can_be_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"steps": [], "changeSummary": {}}))
    _, out, _ = run(capsys, str(path), "--project", "acme", "--stack", "prod")
    assert out.startswith("<!-- karmo-roles-review project=acme stack=prod -->")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no JSON object in it"),
        (b"not json", "no JSON object in it"),
        (b'{"steps": [', "not JSON (cut short)"),
        (b'{"a": 1}', "not the JSON of `pulumi preview --json` (no steps)"),
        (b'{"steps": 1}', "steps is no list"),
        (b'{"sequence": 1, "summaryEvent": {}}', "an engine event"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"sequence": 1, "preludeEvent": {}}\n{"sequence": 2}', "an event log"),
        (b'{"x":' * 100_000, "JSON nested too deep"),
        (b'{"steps": [' + b"1" * 5000 + b"]}", "not JSON (Exceeds the limit"),
    ],
)
def test_what_is_not_a_preview_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"karmo-roles: error: {path}: ")
    assert err.count("\n") == 1
    assert message in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], wildcard: Path) -> None:
    missing = wildcard.parent / "missing.json"
    code, _, err = run(capsys, str(missing))
    assert code == 2
    assert err == f"karmo-roles: error: {missing}: cannot be read (No such file or directory)\n"
    assert run(capsys)[0] == 2
    assert run(capsys, "-", "--event-log", "-")[0] == 2
    # refused before anything is read (reading stdin twice would get nothing the second time)
    assert run(capsys, "-", "--event-log", "-")[2] == (
        "karmo-roles: error: standard input (-) can be read once\n"
    )
    assert run(capsys, str(wildcard), "--project", "x")[0] == 2
    for args in (["--fail-on", "nope"], ["--max-chars", "10"], ["--format", "yaml"]):
        with pytest.raises(SystemExit) as exit_:
            run(capsys, str(wildcard), *args)
        assert exit_.value.code == 2


def test_an_event_log_that_is_not_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"sequence": 1, "preludeEvent": {}}\n{"cut": ')
    code, _, err = run(capsys, "--event-log", str(path))
    assert code == 2
    assert f"{path}, line 2: not JSON (cut short)" in err
    path.write_text('{"no": "event"}\n')
    assert run(capsys, "--event-log", str(path))[0] == 2


def test_the_console_command_sends_review_and_discover_where_they_belong(
    tmp_path: Path, wildcard: Path
) -> None:
    script = shutil.which("karmo-roles", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKOS_")}
    for command in ([script], [sys.executable, "-m", "pulumi_karmo_roles"]):
        done = subprocess.run([*command, "review", str(wildcard), "--fail-on", "wildcard"],
                              capture_output=True, text=True, check=False, env=env)  # fmt: skip
        assert done.returncode == 1
        assert done.stdout.startswith("<!-- karmo-roles-review")
        missing = subprocess.run([*command, "review", str(tmp_path / "none.json")],
                                 capture_output=True, text=True, check=False, env=env)  # fmt: skip
        assert missing.returncode == 2
        assert missing.stderr.count("\n") == 1
        assert "Traceback" not in missing.stderr
        discover = subprocess.run([*command, "discover", "--organization", "org_1"],
                                  capture_output=True, text=True, check=False, env=env)  # fmt: skip
        assert discover.returncode == 1
        assert discover.stderr.startswith("karmo-roles: error: WORKOS_API_KEY is not set")
        helped = subprocess.run([*command, "--help"], capture_output=True, text=True, check=False)
        assert "review" in helped.stdout
        assert "discover" in helped.stdout
