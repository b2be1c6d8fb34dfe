"""The example workflows' comment step keeps one comment per stack: it posts a review
once, edits that comment in place when the review changes, leaves it alone when it does
not, touches no other comment, and posts nothing for an outdated commit.

The step's own ``run:`` script runs under bash, as GitHub runs it, with a stand-in for
``gh`` on PATH that keeps a pull request's comments in a JSON file (GitHub's API is not
reachable from tests). The stand-in answers only the calls the script makes, with the
exact ``--jq`` filters it uses, and fails on any other, so a changed script fails here
until this stand-in learns the new call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = [
    ROOT / "examples" / "github-actions" / "pulumi.yml",
    ROOT / "examples" / "github-actions" / "pulumi-aws-oidc.yml",
]
HEAD = "0123456789abcdef0123456789abcdef01234567"

FAKE_GH = textwrap.dedent(
    """
    import json, os, sys
    state_path = os.environ["FAKE_GH_STATE"]
    state = json.load(open(state_path))
    args = sys.argv[1:]
    assert args.pop(0) == "api", args
    method, jq, fields, paginate = "GET", None, {}, False
    path = None
    while args:
        arg = args.pop(0)
        if arg == "--method":
            method = args.pop(0)
        elif arg == "--jq":
            jq = args.pop(0)
        elif arg == "-F":
            key, _, value = args.pop(0).partition("=")
            fields[key] = open(value[1:]).read() if value.startswith("@") else value
        elif arg == "--paginate":
            paginate = True
        else:
            assert path is None, (path, arg)
            path = arg
    repo, number = os.environ["REPO"], os.environ["PR"]
    state["calls"].append([method, path])
    comments = state["comments"]
    out = None
    if method == "GET" and path == f"repos/{repo}/pulls/{number}":
        assert jq == ".head.sha", jq
        out = state["head"]
    elif method == "GET" and path == f"repos/{repo}/issues/{number}/comments":
        assert paginate
        assert jq == ".[] | select(.body | startswith(env.MARKER)) | .id", jq
        marker = os.environ["MARKER"]
        out = "\\n".join(str(c["id"]) for c in comments if c["body"].startswith(marker))
    elif method == "GET" and path.startswith(f"repos/{repo}/issues/comments/"):
        assert jq == ".body", jq
        wanted = int(path.rsplit("/", 1)[1])
        out = next(c["body"] for c in comments if c["id"] == wanted)
    elif method == "POST" and path == f"repos/{repo}/issues/{number}/comments":
        comments.append({"id": 1000 + len(comments), "body": fields["body"]})
        out = "{}"
    elif method == "PATCH" and path.startswith(f"repos/{repo}/issues/comments/"):
        wanted = int(path.rsplit("/", 1)[1])
        next(c for c in comments if c["id"] == wanted)["body"] = fields["body"]
        out = "{}"
    else:
        raise SystemExit(f"the stand-in for gh does not know: {method} {path}")
    json.dump(state, open(state_path, "w"))
    if out:
        print(out)
    """
)


def _post_script(workflow: Path) -> str:
    document: dict[str, Any] = yaml.safe_load(workflow.read_text())
    (step,) = [s for s in document["jobs"]["comment"]["steps"] if "run" in s]
    script: str = step["run"]
    return script


class PullRequest:
    """A pull request's comments, and the comment step run against them."""

    def __init__(self, tmp_path: Path, workflow: Path) -> None:
        self.tmp_path = tmp_path
        self.script = _post_script(workflow)
        self.state = tmp_path / "state.json"
        self.state.write_text(
            json.dumps(
                {
                    "head": HEAD,
                    "calls": [],
                    "comments": [{"id": 7, "body": "LGTM, but see the billing role"}],
                }
            )
        )
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
        gh.chmod(0o755)
        self.bin_dir = bin_dir
        (tmp_path / "reviews").mkdir()

    def review(self, stack: str, body: str) -> None:
        """What the preview job of ``stack`` wrote."""
        (self.tmp_path / "reviews" / f"{stack}.md").write_text(body)

    def run(self, head: str = HEAD) -> subprocess.CompletedProcess[str]:
        """The comment step, as GitHub runs a ``run:`` script (bash -e -o pipefail)."""
        bash = shutil.which("bash")
        assert bash is not None
        return subprocess.run(
            [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", self.script],
            cwd=self.tmp_path,
            env={
                "PATH": f"{self.bin_dir}:/usr/bin:/bin",
                "FAKE_GH_STATE": str(self.state),
                "GH_TOKEN": "ghs_not_a_real_token",
                "REPO": "acme/infra",
                "PR": "42",
                "HEAD_SHA": head,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    @property
    def comments(self) -> dict[int, str]:
        data = json.loads(self.state.read_text())
        return {c["id"]: c["body"] for c in data["comments"]}

    def writes(self) -> list[list[str]]:
        """The POST and PATCH calls so far (and forget them)."""
        data = json.loads(self.state.read_text())
        writes = [call for call in data["calls"] if call[0] != "GET"]
        data["calls"] = []
        self.state.write_text(json.dumps(data))
        return writes


def marker(stack: str) -> str:
    """The first line of ``karmo-roles review``'s Markdown for ``stack``."""
    return f"<!-- karmo-roles-review project=acme-roles stack={stack} -->\n"


@pytest.fixture(params=WORKFLOWS, ids=lambda p: p.name)
def pull_request(request: pytest.FixtureRequest, tmp_path: Path) -> PullRequest:
    return PullRequest(tmp_path, request.param)


def test_one_comment_per_stack_posted_once_then_edited_in_place(
    pull_request: PullRequest,
) -> None:
    pull_request.review("prod", marker("prod") + "## prod\n\n1 role renamed\n")
    pull_request.review("dev", marker("dev") + "## dev\n\nno change\n")
    first = pull_request.run()
    assert first.returncode == 0, first.stderr
    assert [method for method, _ in pull_request.writes()] == ["POST", "POST"]
    comments = pull_request.comments
    assert len(comments) == 3
    prod_id = next(i for i, body in comments.items() if body.startswith(marker("prod")))

    # The same reviews again: nothing is written.
    assert pull_request.run().returncode == 0
    assert pull_request.writes() == []

    # prod's review changed: its comment is edited, no comment is added.
    pull_request.review("prod", marker("prod") + "## prod\n\n1 role renamed, 1 deleted\n")
    assert pull_request.run().returncode == 0
    assert pull_request.writes() == [["PATCH", f"repos/acme/infra/issues/comments/{prod_id}"]]
    after = pull_request.comments
    assert len(after) == 3
    assert after[prod_id].endswith("1 role renamed, 1 deleted\n")
    assert after[7] == "LGTM, but see the billing role"  # a person's comment is untouched


def test_a_run_for_an_outdated_commit_posts_nothing(pull_request: PullRequest) -> None:
    pull_request.review("prod", marker("prod") + "## prod\n")
    done = pull_request.run(head="f" * 40)
    assert done.returncode == 0, done.stderr
    assert pull_request.writes() == []


def test_a_review_without_its_marker_is_not_posted(pull_request: PullRequest) -> None:
    pull_request.review("prod", "## prod\n\nno marker line\n")
    done = pull_request.run()
    assert done.returncode == 1
    assert "does not start with the review's marker" in done.stdout
    assert pull_request.writes() == []


def _review(name: str) -> str:
    """``karmo-roles review``'s Markdown of a preview the real CLI printed."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "karmo-roles"), "review", name],
        cwd=ROOT / "tests" / "fixtures" / "previews",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_reviews_of_two_pushes_share_one_comment(pull_request: PullRequest) -> None:
    # Two pushes to one pull request: a rename, then a permission change, in stack dev.
    pull_request.review("dev", _review("rename.json"))
    assert pull_request.run().returncode == 0
    assert [method for method, _ in pull_request.writes()] == ["POST"]
    pull_request.review("dev", _review("permissions.json"))
    assert pull_request.run().returncode == 0
    assert [method for method, _ in pull_request.writes()] == ["PATCH"]
    # Then a push that changes nothing: the same stack, the same comment.
    pull_request.review("dev", _review("no-changes.json"))
    assert pull_request.run().returncode == 0
    assert [method for method, _ in pull_request.writes()] == ["PATCH"]
    (ours,) = [body for i, body in pull_request.comments.items() if i != 7]
    assert ours == _review("no-changes.json")
