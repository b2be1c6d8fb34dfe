"""Capture what ``pulumi preview --json`` prints for each change a review must explain
(or check that tests/fixtures/previews/ still holds it).

    .venv/bin/python scripts/capture_review_fixtures.py            # rewrite the fixtures
    .venv/bin/python scripts/capture_review_fixtures.py --check    # exit 1 if stale
    .venv/bin/python scripts/capture_review_fixtures.py --out DIR  # write them to DIR
    .venv/bin/python scripts/capture_review_fixtures.py --check --out DIR  # both

Runs ``pulumi`` (on PATH, or built with scripts/pulumi-cli.sh) against an in-process
sandbox, in temporary projects on a file backend: the scenarios of SCENARIOS, one after
the other on stack ``dev`` of project ``acme-roles`` (each ``up`` after a capture makes
the next preview show only its own change), a role set over 50 organizations on stack
``prod`` of ``acme-tenants``, and a refresh that finds what was changed in the WorkOS
dashboard (``pulumi preview --refresh --json``, and ``pulumi refresh --preview-only
--json --event-log FILE`` with its event log).

What changes from run to run is normalised: the duration, temporary paths, ports, the
sandbox's role ids (replaced by ids derived from organization and slug), the provider's
UUID (derived from its URN), secrets' ciphertexts, timestamps; steps and diagnostics are
sorted (refresh steps first, as the engine runs them). ``--check`` compares each fixture
with a fresh capture, the event log's lines as a sorted list without their sequence
numbers (the engine emits events of several resources at once).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import pulumi  # noqa: E402

from pulumi_karmo_roles.sandbox import SandboxServer  # noqa: E402
from tests.support.cli import Project, Run, cli_environment, pulumi_bin  # noqa: E402
from tests.support.dashboard import Dashboard  # noqa: E402
from tests.support.secrets import WORKOS_KEY  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "previews"
TOKEN = "kt_fixture_token_never_shown"
SECRET_NAME = "Administrators (secret name)"
"""The name the ``secret`` scenario declares as a secret: it must appear in no fixture."""
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""What the preview JSON prints for a value unknown until apply."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TENANTS = [f"org_tenant_{n:02d}" for n in range(1, 51)]

PREVIEW_JSON = ("preview", "--json", "--non-interactive")
UP = ("up", "--yes", "--skip-preview", "--non-interactive", "--color=never")

HEADER = """import pulumi
from pulumi_karmo_roles import OrganizationRole

"""


@dataclass
class Roles:
    """The program of stack ``dev``, as each scenario changes it."""

    admin_name: str = '"Organization Admin"'
    billing_permissions: str = '["billing:read"]'
    support_permissions: str = ""
    viewer_slug: str = "org-viewer"
    removed: bool = False
    output_organization: bool = False

    def source(self) -> str:
        """The program's ``__main__.py``."""
        support = f", permissions={self.support_permissions}" if self.support_permissions else ""
        text = HEADER + (
            f'OrganizationRole("admin", organization_id="org_acme", slug="org-admin",\n'
            f"                 name={self.admin_name},\n"
            f'                 permissions=["members:read", "members:write", "roles:*"])\n'
            f'OrganizationRole("support", organization_id="org_acme", slug="org-support",\n'
            f'                 name="Support"{support})\n'
            f'OrganizationRole("billing", organization_id="org_acme", slug="org-billing",\n'
            f'                 name="Billing", permissions={self.billing_permissions})\n'
            f'OrganizationRole("viewer", organization_id="org_globex", slug="{self.viewer_slug}",\n'
            f'                 name="Viewer", permissions=["reports:read"])\n'
        )
        if not self.removed:
            text += (
                'OrganizationRole("auditor", organization_id="org_globex", slug="org-auditor",\n'
                '                 name="Auditor", permissions=["audit:read"],\n'
                "                 clear_permissions_on_delete=True)\n"
                'OrganizationRole("legacy", organization_id="org_globex", slug="org-legacy",\n'
                '                 name="Legacy", permissions=["legacy:read"])\n'
            )
        if self.output_organization:
            text += (
                "# The organization id is an Output of another resource: unknown in a preview\n"
                "# that creates that resource.\n"
                'anchor = OrganizationRole("anchor", organization_id="org_acme",\n'
                '                          slug="org-anchor", name="Anchor")\n'
                'OrganizationRole("tenant-viewer", slug="org-viewer", name="Viewer",\n'
                '                 organization_id=anchor.role_id.apply(lambda _: "org_tenant"))\n'
            )
        return text


def role_set_source(permissions: str) -> str:
    """The program of stack ``prod``: one catalog in 50 organizations."""
    return (
        "from pulumi_karmo_roles import OrganizationRoleSet\n\n"
        f'TENANTS = [f"org_tenant_{{n:02d}}" for n in range(1, {len(TENANTS) + 1})]\n'
        'OrganizationRoleSet("tenant-roles", organization_ids=TENANTS, catalog={\n'
        f'    "org-billing": {{"name": "Billing", "permissions": {permissions}}},\n'
        "})\n"
    )


@dataclass
class Scenario:
    """One captured preview: the program before it, and the command whose JSON it keeps."""

    name: str
    """The fixture's file name, without ``.json``."""
    what: str
    stack: str
    source: str | None
    """The program to write first (None: keep the current one)."""
    command: tuple[str, ...] = PREVIEW_JSON
    before: Callable[[Project, SandboxServer], None] | None = None
    """What happens first, outside the program (config, a change in the dashboard)."""
    apply: bool = True
    """Run ``pulumi up`` afterwards, so the next scenario previews only its own change."""
    event_log: bool = False
    """Keep the command's ``--event-log`` beside the JSON, as ``<name>.events.jsonl``."""


def _read_back(project: Project, sandbox: SandboxServer) -> None:
    project.pulumi("config", "set", "--secret", "karmo:workosApiKey", WORKOS_KEY)
    project.pulumi("config", "set", "karmo:workosApiUrl", sandbox.workos_url)
    # A refresh runs with the config recorded at the last `up` (pulumi/pulumi#18740).
    project.pulumi(*UP)
    dashboard = Dashboard(sandbox)
    dashboard.rename("org_acme", "org-support", "Helpdesk (renamed)")
    dashboard.set_permissions("org_acme", "org-billing", ["billing:refund", "invoices:read"])
    dashboard.delete("org_globex", "org-readonly")


REFRESH_PREVIEW_ONLY = ("refresh", "--preview-only", "--json", "--non-interactive")


def scenarios() -> list[Scenario]:
    """Every capture, in the order it runs."""
    roles = Roles()
    return [
        Scenario(
            "create",
            "A new stack: six roles to create, one without managed permissions, one with a "
            "wildcard permission, one with clear_permissions_on_delete.",
            "dev",
            roles.source(),
        ),
        Scenario(
            "pull-request",
            "Every kind of change at once, as a pull request may hold them (not applied): "
            "org-admin renamed, org-billing's permissions changed, org-support's taken "
            "over, org-viewer's slug changed, org-auditor and org-legacy removed.",
            "dev",
            _later(viewer_slug="org-readonly", removed=True).source(),
            apply=False,
        ),
        Scenario(
            "rename",
            "org-admin in org_acme renamed: Organization Admin -> Administrators.",
            "dev",
            Roles(admin_name='"Administrators"').source(),
        ),
        Scenario(
            "permissions",
            "org-billing in org_acme: billing:write and invoices:read granted, billing:read "
            "revoked.",
            "dev",
            Roles(
                admin_name='"Administrators"',
                billing_permissions='["billing:write", "invoices:read"]',
            ).source(),
        ),
        Scenario(
            "takeover",
            "org-support in org_acme: permissions go from unmanaged to managed "
            "(tickets:read, tickets:write).",
            "dev",
            Roles(
                admin_name='"Administrators"',
                billing_permissions='["billing:write", "invoices:read"]',
                support_permissions='["tickets:read", "tickets:write"]',
            ).source(),
        ),
        Scenario(
            "replace",
            "org-viewer in org_globex becomes org-readonly: a replace (the old role stays "
            "in Karmo).",
            "dev",
            _later(viewer_slug="org-readonly").source(),
        ),
        Scenario(
            "delete",
            "org-auditor (clear_permissions_on_delete) and org-legacy in org_globex removed "
            "from the program.",
            "dev",
            _later(viewer_slug="org-readonly", removed=True).source(),
        ),
        Scenario(
            "unknown",
            "Two roles added: org-anchor, and org-viewer in an organization whose id is an "
            "Output of org-anchor's creation (unknown at preview).",
            "dev",
            _later(viewer_slug="org-readonly", removed=True, output_organization=True).source(),
        ),
        Scenario(
            "secret",
            "org-admin in org_acme renamed to a name declared as a secret.",
            "dev",
            _later(
                viewer_slug="org-readonly",
                removed=True,
                output_organization=True,
                admin_name=f"pulumi.Output.secret({SECRET_NAME!r})",
            ).source(),
        ),
        Scenario("no-changes", "A preview with nothing to change.", "dev", None),
        Scenario(
            "drift-preview-refresh",
            "With karmo:workosApiKey: org-support renamed, org-billing's permissions "
            "changed (billing:refund added, billing:write removed) and org-readonly "
            "deleted in the WorkOS dashboard; `pulumi preview --refresh --json`.",
            "dev",
            None,
            command=(*PREVIEW_JSON, "--refresh"),
            before=_read_back,
            apply=False,
        ),
        Scenario(
            "drift-refresh-preview-only",
            "The same drift, `pulumi refresh --preview-only --json --event-log FILE`; the "
            "event log is drift-refresh-preview-only.events.jsonl.",
            "dev",
            None,
            command=REFRESH_PREVIEW_ONLY,
            apply=False,
            event_log=True,
        ),
        Scenario(
            "role-set",
            "A role set's catalog over 50 organizations: billing:write granted to "
            "org-billing in each.",
            "prod",
            role_set_source('["billing:read", "billing:write"]'),
            before=lambda project, _: _setup_role_set(project),
            apply=False,
        ),
    ]


def _later(**changes: Any) -> Roles:
    """The program after the permissions and takeover scenarios, with ``changes``."""
    base: dict[str, Any] = {
        "admin_name": '"Administrators"',
        "billing_permissions": '["billing:write", "invoices:read"]',
        "support_permissions": '["tickets:read", "tickets:write"]',
    }
    return Roles(**{**base, **changes})


def _setup_role_set(project: Project) -> None:
    project.write_program(role_set_source('["billing:read"]'))
    project.pulumi(*UP)
    project.write_program(role_set_source('["billing:read", "billing:write"]'))


@dataclass
class Normaliser:
    """Replaces what changes from run to run with stable values."""

    work: Path
    role_ids: dict[str, str] = field(default_factory=dict)
    provider_ids: dict[str, str] = field(default_factory=dict)

    def learn_providers(self, raw: str) -> None:
        """Remember each provider's id (a fresh UUID per stack, found in the references
        ``URN::ID``), mapped to a UUID derived from the provider's URN."""
        for urn, found in re.findall(
            r"(urn:pulumi:[^\"\s]*?::pulumi:providers:[^\"\s:]+::[^\"\s:]+)::"
            r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
            raw,
        ):
            # A provider created by this very preview has no id yet: keep it unknown.
            if found != UNKNOWN:
                self.provider_ids.setdefault(found, str(uuid.uuid5(uuid.NAMESPACE_URL, urn)))

    def learn(self, sandbox: SandboxServer) -> None:
        """Remember each role id the sandbox holds (roles the dashboard deletes later stay
        known), mapped to an id derived from organization and slug."""
        for (organization_id, slug), (role_id, _) in sandbox.roles().items():
            digest = hashlib.sha256(f"{organization_id}/{slug}".encode()).digest()
            digits = "".join(_CROCKFORD[b % 32] for b in digest[:24])
            self.role_ids.setdefault(role_id, "role_01" + digits)

    def text(self, text: str) -> str:
        """Normalise a string (a JSON document or one of its values)."""
        text = text.replace(str(self.work), "<tmp>")
        text = text.replace(str(Path(pulumi.__file__).parent), "<site-packages>/pulumi")
        text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
        text = re.sub(r"role_01[0-9A-Z]{24}", lambda m: self.role_ids.get(m[0], m[0]), text)
        for found, stable in self.provider_ids.items():
            text = text.replace(found, stable)
        return text

    def value(self, value: Any, key: str = "") -> Any:
        """Normalise a parsed JSON value (``key``: the name it has in its object)."""
        if key == "stackTrace" and isinstance(value, list):
            # Where the program registered the resource: keep the program's own frames.
            return [frame for frame in value if _in_program(frame)]
        if key == "sourcePosition" and isinstance(value, str) and not _in_program(value):
            return "<outside the program>"
        if isinstance(value, dict):
            if "ciphertext" in value:
                return {**value, "ciphertext": "<ciphertext>"}
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if key in ("duration", "durationSeconds", "timestamp") and isinstance(value, (int, float)):
            return 0
        if key in ("created", "modified") and isinstance(value, str):
            return "2026-01-01T00:00:00Z"
        if isinstance(value, str):
            return self.text(value)
        return value

    def preview(self, stdout: str) -> dict[str, Any]:
        """The preview JSON, normalised, its steps and diagnostics in a stable order."""
        self.learn_providers(stdout)
        digest = self.value(json.loads(stdout))
        assert isinstance(digest, dict)
        steps = digest.get("steps") or []
        # Refresh steps come first (the engine refreshes before it runs the program).
        steps.sort(key=lambda s: (s.get("op") != "refresh", s.get("urn", ""), s.get("op", "")))
        diagnostics = digest.get("diagnostics") or []
        diagnostics.sort(key=lambda d: (d.get("urn", ""), d.get("message", "")))
        return digest

    def events(self, lines: str) -> list[dict[str, Any]]:
        """The event log's events, normalised, in the engine's order."""
        self.learn_providers(lines)
        return [self.value(json.loads(line)) for line in lines.splitlines() if line.strip()]


def _in_program(frame: object) -> bool:
    """A source position (or stack frame) in the project's own files, not in the package,
    the SDK or the runner, whose paths depend on the machine."""
    if isinstance(frame, dict):
        frame = frame.get("sourcePosition", "")
    return isinstance(frame, str) and frame.startswith("project:///") and "../" not in frame


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def _events_dump(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in events)


def capture() -> dict[str, str]:
    """Run every scenario: ``{file name: text}``."""
    bin_dir = pulumi_bin()
    version = subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    files: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="karmo-review-") as tmp,
        SandboxServer(TOKEN, workos_api_key=WORKOS_KEY) as sandbox,
    ):
        work = Path(tmp)
        normaliser = Normaliser(work)
        projects = {
            "dev": _project(work, bin_dir, sandbox, "acme-roles", "dev"),
            "prod": _project(work, bin_dir, sandbox, "acme-tenants", "prod"),
        }
        for scenario in scenarios():
            project = projects[scenario.stack]
            if scenario.source is not None:
                project.write_program(scenario.source)
            if scenario.before is not None:
                scenario.before(project, sandbox)
            normaliser.learn(sandbox)
            args = scenario.command
            log = work / f"{scenario.name}.events.jsonl"
            if scenario.event_log:
                args = (*args, "--event-log", str(log))
            run = project.pulumi(*args)
            _observe(scenario, run)
            files[f"{scenario.name}.json"] = _dump(normaliser.preview(run.stdout))
            # What the normalisation keeps: every unknown value the CLI printed.
            assert files[f"{scenario.name}.json"].count(UNKNOWN) == run.stdout.count(UNKNOWN)
            if scenario.event_log:
                files[f"{scenario.name}.events.jsonl"] = _events_dump(
                    normaliser.events(log.read_text())
                )
            if scenario.apply:
                project.pulumi(*UP)
                normaliser.learn(sandbox)
    for name, text in files.items():
        for secret in (TOKEN, WORKOS_KEY, SECRET_NAME):
            assert secret not in text, f"{secret!r} is in {name}"
    files["README.md"] = _index(version)
    return files


def _project(work: Path, bin_dir: Path, sandbox: SandboxServer, name: str, stack: str) -> Project:
    (work / name / "state").mkdir(parents=True)
    (work / name / "home").mkdir()
    env = cli_environment(bin_dir, work / name / "state", work / name / "home")
    project = Project(
        work / name / "project", env, secret=TOKEN, name=name, also_secret=(WORKOS_KEY,)
    )
    project.pulumi("stack", "init", stack, "--non-interactive")
    project.pulumi("config", "set", "karmo:apiUrl", sandbox.url)
    project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
    return project


def _observe(scenario: Scenario, run: Run) -> None:
    """The facts of the preview JSON the review relies on (docs of pulumi/pulumi and
    notes on its source): a new CLI that breaks one stops the capture here."""
    digest = json.loads(run.stdout)
    for step in digest.get("steps") or []:
        state = step.get("newState") or step.get("oldState") or {}
        if state.get("type") != "pulumi-python:dynamic/karmo:OrganizationRole":
            continue
        # A dynamic provider sends no detailed diff: changes come from the inputs.
        assert not step.get("detailedDiff"), (scenario.name, step)
        assert not step.get("diffReasons"), (scenario.name, step)
        for side in ("oldState", "newState"):
            inputs = (step.get(side) or {}).get("inputs") or {}
            if "__provider" in inputs:
                assert inputs["__provider"] == "[secret]", (scenario.name, side)
        if scenario.name == "drift-refresh-preview-only" and step["op"] == "refresh":
            # pulumi/pulumi#16278: the refresh step holds the recorded state on both sides
            # (a role gone from WorkOS is a delete step).
            assert step["oldState"]["inputs"] == step["newState"]["inputs"], step
    if scenario.name == "unknown":
        assert UNKNOWN in run.stdout
    if scenario.name == "secret":
        assert '"[secret]"' in run.stdout


def _index(version: str) -> str:
    lines = [
        "# Preview JSON captured from the real Pulumi CLI",
        "",
        "Written by `scripts/capture_review_fixtures.py` (the CLI built by",
        "`scripts/pulumi-cli.sh`, against the sandbox); do not edit by hand. Stack `dev`",
        "of project `acme-roles` goes through the scenarios in this order, each applied",
        "before the next; `role-set` is stack `prod` of project `acme-tenants`.",
        "",
        "| file | what the preview holds |",
        "| --- | --- |",
    ]
    for scenario in scenarios():
        command = " ".join(scenario.command)
        lines.append(f"| `{scenario.name}.json` | {scenario.what} (`pulumi {command}`) |")
    return "\n".join([*lines, "", FACTS.replace("{version}", version)]) + "\n"


FACTS = """## What these previews show (CLI {version})

- Top level: `config`, `steps`, `duration`, `changeSummary`; `diagnostics` and
  `maybeCorrupt` are left out when empty.
- The stack resource's `same` step is listed even without `--show-sames`; no other
  `same` step is.
- Roles' steps have `detailedDiff: null` and no `diffReasons`; a replace has
  `replaceReasons` (`["slug"]`). What changed comes from `oldState.inputs` against
  `newState.inputs`. States carry `created`, `modified`, `sourcePosition` and
  `stackTrace` (normalised here: fixed timestamps, the program's own frames only).
- A replace is one `replace` step; a removal a `delete` step with `oldState` only.
- Unknown values are `"04da6b54-80e4-46f7-96ec-b56ff0331ba9"` (the organization id of
  `tenant-viewer` in `unknown.json`, and the id in the provider reference of every step
  of a new stack, whose provider the preview creates); secrets `"[secret]"` (`name` in
  `secret.json`, in the old and new state once recorded, and `__provider` everywhere).
  The event log
  holds secrets as `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  "ciphertext": ...}` instead.
- `preview --refresh`: a `refresh` step per resource (old = new = recorded), then an
  `update` step whose `oldState` is what WorkOS holds for a drifted role; a role
  deleted in WorkOS has its `refresh` step (old = new = recorded) and then a `create`
  step.
- `refresh --preview-only --json`: `refresh` steps hold the recorded values on both
  sides even for a drifted role (pulumi/pulumi#16278), while `changeSummary` counts
  the updates; a role deleted in WorkOS is a `delete` step. Its event log has, per
  role, a `resOutputsEvent` with `metadata.op` `update` (`old` recorded, `new` what
  WorkOS holds, in both `inputs` and `outputs`), `same`, or `delete` (`new` null);
  `detailedDiff` is null and there are no `keys` or `diffs`."""


def canonical(name: str, text: str) -> Any:
    """What --check compares: the JSON, and an event log's lines sorted without their
    sequence numbers."""
    if name.endswith(".jsonl"):
        events = []
        for line in text.splitlines():
            event = json.loads(line)
            event.pop("sequence", None)
            events.append(json.dumps(event, sort_keys=True))
        return sorted(events)
    if name.endswith(".json"):
        return json.loads(text)
    return text


def main() -> int:
    """Write the fixtures, or with --check compare them with a fresh capture."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, default=FIXTURES, help="where to write them")
    args = parser.parse_args()
    files = capture()
    if args.out != FIXTURES or not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = args.out / name
            # An event log whose events came in another order is the same log: keep the
            # file as it is, so a rerun changes nothing in git.
            if not path.exists() or canonical(name, path.read_text()) != canonical(name, text):
                path.write_text(text)
        print(f"wrote {len(files)} files to {args.out}")
    if not args.check:
        return 0
    stale = []
    for name, text in sorted(files.items()):
        path = FIXTURES / name
        current = path.read_text() if path.exists() else ""
        if not current or canonical(name, current) != canonical(name, text):
            stale.append(name)
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"tests/fixtures/previews/{name}",
                    "what the CLI prints now",
                )
            )
    if stale:
        print(
            f"\nstale: {', '.join(stale)}: run .venv/bin/python scripts/capture_review_fixtures.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
