"""Karmo faults (through the sandbox's scripted answers) as the user sees them
in ``pulumi up``: our one-paragraph message, never a Python traceback; retries shown
while they happen.

Where the engine shows a dynamic provider's messages: the provider process has no
connection to the engine's log, but the engine reads its stderr line by line and shows
each line at once, under the stack (``pulumi:pulumi:Stack <project>-<stack> running
<line>`` in non-interactive output, the stack row's status in the interactive display),
then again under "Diagnostics:". ``pulumi.log.warn`` there prints ``warning: ...`` to
stderr. Logging at INFO through the ``logging`` module shows nothing.
"""

from __future__ import annotations

import re

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import NewProject, Run

pytestmark = pytest.mark.cli

PROGRAM = """
from pulumi_karmo_roles import OrganizationRole
import pulumi
OrganizationRole("ops", organization_id="org_acme", slug="org-ops",
                 name=pulumi.Config().get("name") or "Operations")
"""


def live(run: Run) -> str:
    """What was shown while the update ran (before the closing diagnostics)."""
    return run.stdout.split("\nDiagnostics:", 1)[0]


def retry_lines(run: Run) -> list[str]:
    """Lines shown while the update ran that speak of a retry."""
    return [line for line in live(run).splitlines() if re.search(r"(?i)retr|again|attempt", line)]


def resource_diagnostics(run: Run) -> list[str]:
    """The lines the CLI prints under the role in "Diagnostics:"."""
    block = run.stdout.split("OrganizationRole (ops):\n", 1)[1]
    return [line for line in block.split("\n\n", 1)[0].splitlines() if line.strip()]


def test_faults_show_our_message_and_visible_retries(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(PROGRAM, {"karmo:maxRetries": "3"})

    # A 401: our message, one paragraph, no traceback; nothing retried.
    sandbox.script({"status": 401})
    failed = stack.up(ok=False)
    assert failed.returncode != 0
    assert "Traceback" not in failed.output, failed
    errors = resource_diagnostics(failed)
    assert len(errors) == 1, failed
    assert errors[0].strip().startswith("error: pulumi_karmo_roles.errors.AuthenticationError: ")
    assert "401" in errors[0], failed
    assert len(sandbox.requests()) == 1

    # A burst of 502s: retried, each retry shown while it happens, then created.
    sandbox.reset_requests()
    sandbox.script({"status": 502, "body": "html"}, {"status": 502, "body": "html"})
    created = stack.up()
    assert sandbox.roles()[("org_acme", "org-ops")][1] == "Operations"
    retries = retry_lines(created)
    assert len([line for line in retries if "502" in line]) >= 2, created

    # A 429 with Retry-After: the wait the server asked for is shown, then updated.
    stack.pulumi("config", "set", "name", "Operations Team")
    sandbox.script({"status": 429, "retry_after": "1"})
    updated = stack.up()
    assert sandbox.roles()[("org_acme", "org-ops")][1] == "Operations Team"
    retries = retry_lines(updated)
    assert any("429" in line for line in retries), updated
