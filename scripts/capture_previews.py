"""Regenerate docs/previews.md from the real Pulumi CLI (or check it is current).

    .venv/bin/python scripts/capture_previews.py           # rewrite docs/previews.md
    .venv/bin/python scripts/capture_previews.py --check   # exit 1 with a diff if stale

Runs ``pulumi`` (on PATH, or built with scripts/pulumi-cli.sh) against an in-process
sandbox in a temporary project, and records what the CLI prints for each scenario.
Things that change from run to run are normalised: durations, temporary paths, ports,
role ids, the progress dots of non-interactive output. The order of lines is not stable
(the engine works on several resources at once, and a provider's messages reach the CLI
beside its gRPC answers), so ``--check`` compares each block's lines as a sorted list.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import pulumi  # noqa: E402

from pulumi_karmo_roles.sandbox import SandboxServer  # noqa: E402
from tests.support.cli import ROLE_TYPE, Project, Run, cli_environment, pulumi_bin  # noqa: E402

DOC = ROOT / "docs" / "previews.md"
TOKEN = "kt_capture_token_never_shown"
WORKOS_KEY = "sk_test_capture_key_never_shown"

PROGRAM = """
import pulumi
from pulumi_karmo_roles import OrganizationRole

admin = OrganizationRole(
    "platform-admin",
    organization_id="org_platform",
    slug="org-admin",
    name="Organization Admin",
    permissions={permissions},
)
support = OrganizationRole(
    "customer-support",
    organization_id="org_customer_42",
    slug={slug},
    name={name},
)
pulumi.export("adminRoleId", admin.role_id)
"""

IMPORT_PROGRAM = """
import pulumi
from pulumi_karmo_roles import OrganizationRole

support = OrganizationRole(
    "customer-support",
    organization_id="org_customer_42",
    slug="org-support",
    name="Customer Support",
    opts=pulumi.ResourceOptions(import_={import}),
)
"""

HEAD = """# What the Pulumi CLI prints

Captured from the Pulumi CLI built here ({version}, built from source: see
[CONTRIBUTING](../CONTRIBUTING.md#the-real-pulumi-engine)) against the local sandbox, by
`.venv/bin/python scripts/capture_previews.py`; a test fails when this page no longer
matches what the CLI prints. Durations, paths, ports and role ids are normalised. The
program (`__main__.py`) that each step edits:

```python
{program}
```

Commands that run the program go through `scripts/pulumi_inline.py` (the CLI built here
has no Python language host: [why](../CONTRIBUTING.md#programs-run-inline));
with a released CLI they are the same `pulumi` commands and print the same, except that a
failed preview there may also print the SDK's `Resource monitor has terminated` line.
"""


@dataclass
class Step:
    """One captured command, with what it shows."""

    title: str
    text: str
    program: dict[str, str] | None
    args: tuple[str, ...]
    ok: bool = True
    show_program: bool = False
    before: Callable[[Project, SandboxServer], None] | None = None
    """What happens first, outside the program (a change in the WorkOS dashboard)."""
    after: Callable[[Project, SandboxServer], None] | None = None
    """What undoes ``before`` for the next steps (a setting put back)."""


def _token_in_plain_text(project: Project, sandbox: SandboxServer) -> None:
    project.pulumi("config", "set", "--plaintext", "karmo:token", TOKEN)


def _token_as_secret(project: Project, sandbox: SandboxServer) -> None:
    project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)


def _timeout_out_of_range(project: Project, sandbox: SandboxServer) -> None:
    project.pulumi("config", "set", "karmo:timeout", "1e10")


def _no_timeout(project: Project, sandbox: SandboxServer) -> None:
    project.pulumi("config", "rm", "karmo:timeout")


def _rename_in_the_dashboard(project: Project, sandbox: SandboxServer) -> None:
    _workos("PATCH", sandbox, "org_customer_42", "org-support", {"name": "Helpdesk (renamed)"})


def _read_back(project: Project, sandbox: SandboxServer) -> None:
    project.pulumi("config", "set", "--secret", "karmo:workosApiKey", WORKOS_KEY)
    project.pulumi("config", "set", "karmo:workosApiUrl", sandbox.workos_url)
    # A refresh runs with the config recorded at the last `up` (pulumi/pulumi#18740).
    project.pulumi(*UP)
    _workos(
        "PUT",
        sandbox,
        "org_platform",
        "org-admin/permissions",
        {"permissions": ["roles:write", "billing:write"]},
    )


def _workos(method: str, sandbox: SandboxServer, org: str, path: str, body: object) -> None:
    """A change in the WorkOS dashboard, behind Pulumi's back."""
    answer = httpx.request(
        method,
        f"{sandbox.workos_url}/authorization/organizations/{org}/roles/{path}",
        json=body,
        headers={"Authorization": f"Bearer {WORKOS_KEY}"},
        trust_env=False,
    )
    answer.raise_for_status()


def source(values: dict[str, str]) -> str:
    """The program of a step: PROGRAM, or IMPORT_PROGRAM for an import step."""
    return _program(IMPORT_PROGRAM if "import" in values else PROGRAM, values) + "\n"


def _program(template: str, values: dict[str, str]) -> str:
    # Strings as JSON writes them (double quotes), as ruff format would leave them.
    quoted = {k: v if k == "permissions" else json.dumps(v) for k, v in values.items()}
    return template.format(**quoted).strip()


def program(
    *,
    name: str = "Customer Support",
    slug: str = "org-support",
    permissions: str = '["roles:write", "users:read"]',
) -> dict[str, str]:
    """Template values for PROGRAM."""
    return {"name": name, "slug": slug, "permissions": permissions}


PREVIEW = ("preview", "--diff", "--non-interactive", "--color=never")
UP = ("up", "--yes", "--skip-preview", "--non-interactive", "--color=never")

STEPS = [
    Step(
        "Preview of a new stack",
        "Every role to create; nothing is sent to Karmo.",
        program(),
        PREVIEW,
    ),
    Step("`pulumi up`", "Both roles created (the first update of the stack).", program(), UP),
    Step(
        "A new name: an update in place",
        "`name` old → new; `pulumi up` then sends one request.",
        program(name="Support Team"),
        PREVIEW,
    ),
    Step(
        "A new permission set: an update in place",
        "The set is compared as a set: a reordering alone is no change.",
        program(permissions='["roles:write", "users:read", "users:write"]'),
        PREVIEW,
    ),
    Step(
        "A new slug: a replace",
        "Another role: the new one is created, the old one forgotten.",
        program(slug="org-helpdesk"),
        PREVIEW,
    ),
    Step(
        "An invalid slug fails the preview",
        "The property name and the rule, from `check`.",
        program(slug="Support"),
        PREVIEW,
        ok=False,
    ),
    Step(
        "WorkOS's limits fail the preview",
        "Under `karmo:accessProvider workos`, the default, a slug or name WorkOS would "
        "refuse at deploy time fails the preview, naming the rule and the way out for "
        "other access providers.",
        program(slug="org-support-", name="Customer Support, for every region and every tier"),
        PREVIEW,
        ok=False,
    ),
    Step(
        "A credential in plain text fails the preview",
        "`karmo:token` set without `--secret` (so also `karmo:workosApiKey`) would be "
        "written to the state unencrypted: the program refuses it, in one line that names "
        "the fix, before anything is sent or written.",
        program(),
        PREVIEW,
        ok=False,
        before=_token_in_plain_text,
        after=_token_as_secret,
    ),
    Step(
        "A setting out of range fails the preview",
        "`karmo:timeout` set to `1e10`: the provider refuses the setting at configure time, "
        "in one line that names the key and the rule.",
        program(),
        PREVIEW,
        ok=False,
        before=_timeout_out_of_range,
        after=_no_timeout,
    ),
    Step(
        "Without a WorkOS key, refresh keeps the recorded state",
        "A role renamed in the WorkOS dashboard: Karmo has no read endpoint, so the refresh "
        "changes nothing and says so once.",
        program(),
        ("refresh", "--yes", "--skip-preview", "--non-interactive", "--color=never"),
        before=_rename_in_the_dashboard,
    ),
    Step(
        "With `karmo:workosApiKey`, a refreshing preview shows the drift",
        "After `pulumi config set --secret karmo:workosApiKey ...` and one `pulumi up` (a "
        "refresh runs with the config recorded at the last `up`), the same rename and a "
        "permission changed in the dashboard: the refresh reads both roles back from "
        "WorkOS, and the preview shows the update back to what the program declares "
        "(`pulumi up --refresh` applies it).",
        program(),
        (*PREVIEW, "--refresh"),
        before=_read_back,
    ),
    Step(
        "`pulumi destroy`",
        "Karmo has no delete: each role stays, with a warning.",
        program(),
        ("destroy", "--yes", "--skip-preview", "--non-interactive", "--color=never"),
    ),
    Step(
        "Importing fails: the `import_` option",
        "The engine's import step sends the provider's Read only the id, without the "
        "serialized provider, so the SDK's dynamic-provider server fails before any of our "
        "code runs (pulumi/pulumi#16175). Nothing is written to Karmo or the state. "
        "Declare the role in the program instead: `pulumi up` adopts an existing role "
        "through Karmo's upsert.",
        {"import": "org_customer_42/org-support"},
        UP,
        ok=False,
        show_program=True,
    ),
    Step(
        "Importing fails: `pulumi import`",
        "`pulumi import` needs the project's language host, which the CLI built here does "
        "not have, so it stops before the import step; with a released CLI it reaches "
        "the same Read and fails as above.",
        None,
        (
            "import",
            ROLE_TYPE,
            "support",
            "org_customer_42/org-support",
            "--yes",
            "--non-interactive",
            "--color=never",
            "--generate-code=false",
        ),
        ok=False,
    ),
]


def normalise(text: str, work: Path) -> str:
    """Remove what changes from run to run."""
    text = text.replace(str(work), "<tmp>")
    text = text.replace(str(Path(pulumi.__file__).parent), "<site-packages>/pulumi")
    text = re.sub(r"\((\d+(\.\d+)?)s\)", "(<t>)", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"role_01[0-9A-Z]{24}", "role_01<id>", text)
    text = re.sub(r"Duration: [0-9.hms]+", "Duration: <time>", text)
    # "@ updating...." is a heartbeat printed when the engine has been quiet for a while.
    text = re.sub(r"^@ [a-z ]+\.*\n", "", text, flags=re.M)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def capture() -> str:
    """Run every step and render the page."""
    bin_dir = pulumi_bin()
    version = subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    sections = [HEAD.format(version=version, program=_program(PROGRAM, program()))]
    with (
        tempfile.TemporaryDirectory(prefix="karmo-previews-") as tmp,
        SandboxServer(TOKEN, workos_api_key=WORKOS_KEY) as sandbox,
    ):
        work = Path(tmp)
        (work / "state").mkdir()
        (work / "home").mkdir()
        env = cli_environment(bin_dir, work / "state", work / "home")
        project = Project(
            work / "project", env, secret=TOKEN, name="karmo-roles", also_secret=(WORKOS_KEY,)
        )
        project.write_program(_program(PROGRAM, program()) + "\n")
        project.pulumi("stack", "init", "dev", "--non-interactive")
        project.pulumi("config", "set", "karmo:apiUrl", sandbox.url)
        project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
        for step in STEPS:
            if step.program is not None:
                project.write_program(source(step.program))
            if step.before is not None:
                step.before(project, sandbox)
            run: Run = project.pulumi(*step.args, ok=step.ok)
            if step.after is not None:
                step.after(project, sandbox)
            exit_code, text = "", normalise(run.output, work)
            if not step.ok:
                assert run.returncode != 0, run
                exit_code = f"\n(exit code {run.returncode})"
                # How many resources the engine had compared when the failure stopped it
                # varies from run to run.
                text = re.sub(r"^( +)\d+ unchanged$", r"\1<n> unchanged", text, flags=re.M)
            shown = ""
            if step.show_program and step.program is not None:
                shown = f"```python\n{source(step.program)}```\n\n"
            sections.append(
                f"## {step.title}\n\n{step.text}\n\n{shown}```console\n$ pulumi "
                f"{' '.join(step.args)}\n{text}{exit_code}\n```\n"
            )
    return "\n".join(sections)


def canonical(page: str) -> list[str]:
    """What --check compares: the page with the non-blank lines of each fenced block
    (and of the prose between them) sorted."""
    return [
        line
        for part in page.split("```")
        for line in sorted(line for line in part.splitlines() if line.strip())
    ]


def main() -> int:
    """Write docs/previews.md, or with --check compare it with a fresh capture."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    page = capture()
    if not args.check:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(page)
        print(f"wrote {DOC.relative_to(ROOT)}")
        return 0
    current = DOC.read_text() if DOC.exists() else ""
    if canonical(current) == canonical(page):
        return 0
    sys.stdout.writelines(
        line + "\n"
        for line in difflib.unified_diff(
            canonical(current),
            canonical(page),
            "docs/previews.md (lines sorted per block)",
            "what the CLI prints now (lines sorted per block)",
            lineterm="",
        )
    )
    print(
        "\ndocs/previews.md is stale: run .venv/bin/python scripts/capture_previews.py",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
