"""What the stack config may hold, through the real Pulumi CLI: a credential set without
``--secret``, a malformed setting and a credential too short to redact each fail the
preview with one line that names the fix (and no other error line), before anything is
sent or written."""

from __future__ import annotations

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import NewProject, Run
from tests.support.secrets import TOKEN, WORKOS_KEY

pytestmark = pytest.mark.cli

PROGRAM = """
from pulumi_karmo_roles import OrganizationRole
OrganizationRole("admin", organization_id="org_acme", slug="org-admin", name="Admin")
"""


def error_lines(run: Run) -> list[str]:
    """The lines of a run's output that report an error."""
    return [line for line in run.output.splitlines() if line.lstrip().startswith("error:")]


def test_a_token_set_without_secret_fails_the_preview(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(PROGRAM)
    # --plaintext: the CLI itself warns about a value that looks like a secret.
    stack.pulumi("config", "set", "--plaintext", "karmo:token", TOKEN)
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    line = (
        "karmo:token is stored in plain text in the stack config, so it would be written "
        "to the state unencrypted: set it again as a secret with `pulumi config set "
        "--secret karmo:token <value>`."
    )
    assert error_lines(preview) == [f"error: {line}"], preview  # once, and nothing else
    assert "Traceback" not in preview.output, preview
    assert sandbox.stats().get("requests", 0) == 0
    # Set as a secret, the same stack previews, and its state never holds the token.
    stack.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
    stack.preview()
    stack.up()
    assert TOKEN not in str(stack.export())


def test_a_setting_out_of_range_fails_the_preview_in_one_line(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(PROGRAM, {"karmo:timeout": "1e10"})
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    assert error_lines(preview) == [
        "error: pulumi_karmo_roles.errors.ConfigurationError: karmo:timeout must be a number "
        "of seconds from 0.001 to 600, got '1e10'."
    ], preview  # the monitor's shutdown that follows is no error of its own
    assert "Traceback" not in preview.output, preview
    assert sandbox.stats().get("requests", 0) == 0


@pytest.mark.parametrize(
    ("config", "line"),
    [
        (
            {"karmo:workosApiUrl": "http://api.workos.com"},
            "karmo:workosApiUrl must use https:// (http:// only for a loopback host, "
            "127.0.0.0/8, ::1 or localhost: the credential would travel in clear text), got "
            "'http://api.workos.com'.",
        ),
        (
            {"karmo:apiUrl": "https://admin:Hunter2Secret@karmo.example"},
            "karmo:apiUrl must not carry a user name or password (`user:password@`): the "
            "credential travels in a header, never in the URL, got 'https://***@karmo.example'.",
        ),
    ],
)
def test_a_url_the_credential_must_not_go_to_fails_the_preview(
    new_project: NewProject, sandbox: SandboxServer, config: dict[str, str], line: str
) -> None:
    stack = new_project(PROGRAM, config)
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    (error,) = error_lines(preview)  # one line per failure
    assert line in error, preview
    assert "Hunter2Secret" not in preview.output
    assert "Traceback" not in preview.output, preview
    assert sandbox.stats().get("requests", 0) == 0


def test_a_workos_key_set_without_secret_fails_the_preview_in_one_line(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(PROGRAM)
    stack.pulumi("config", "set", "--plaintext", "karmo:workosApiKey", WORKOS_KEY)
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    assert error_lines(preview) == [
        "error: karmo:workosApiKey is stored in plain text in the stack config, so it would "
        "be written to the state unencrypted: set it again as a secret with `pulumi config "
        "set --secret karmo:workosApiKey <value>`."
    ], preview
    assert sandbox.stats().get("requests", 0) == 0


@pytest.mark.parametrize("key", ["karmo:token", "karmo:workosApiKey"])
def test_a_credential_too_short_to_redact_fails_the_preview_in_one_line(
    new_project: NewProject, sandbox: SandboxServer, key: str
) -> None:
    stack = new_project(PROGRAM)
    stack.pulumi("config", "set", "--secret", key, "t")
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    assert error_lines(preview) == [
        f"error: pulumi_karmo_roles.errors.ConfigurationError: {key} is shorter than 8 "
        "characters: too short to tell apart from ordinary text, so redacting it would garble "
        f"every message from the server. Set it again, e.g. `pulumi config set --secret {key} "
        "<value>`."
    ], preview
    assert sandbox.stats().get("requests", 0) == 0
