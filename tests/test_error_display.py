"""Through ``python -m pulumi.dynamic``: the gRPC error details the CLI prints under a
resource are our error's one line, not a traceback (found running the real CLI,
tests/cli/test_faults.py). Other exceptions keep their traceback."""

from __future__ import annotations

import pytest
from harness import EngineError, ProviderProcess

from pulumi_karmo_roles.sandbox import SandboxServer

ROLE = {"organization_id": "org_1", "slug": "org-ops", "name": "Operations"}


def test_a_karmo_error_reaches_the_cli_as_its_message(
    engine: ProviderProcess, sandbox: SandboxServer
) -> None:
    sandbox.script({"status": 401})
    with pytest.raises(EngineError) as caught:
        engine.create(ROLE)
    details = caught.value.details
    assert "Traceback" not in details
    assert "\n" not in details.strip()
    assert details.startswith("pulumi_karmo_roles.errors.AuthenticationError: Karmo rejected ")
    assert "401" in details


def test_other_errors_keep_their_traceback(engine: ProviderProcess, sandbox: SandboxServer) -> None:
    engine.create(ROLE)  # the provider is configured in this process from here on
    with pytest.raises(EngineError) as caught:
        engine.read("org_1/org-ops")  # no serialized provider: the SDK's KeyError
    assert caught.value.details.startswith("Traceback (most recent call last):")
    assert caught.value.message == "KeyError: '__provider'"
