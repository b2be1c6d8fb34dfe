"""Through ``python -m pulumi.dynamic``, what the CLI shows of the provider process
(both found running the real CLI, tests/cli): the gRPC error details printed under a
resource are our error's one line, not a traceback (other exceptions keep theirs); and
each message the provider writes is a line of its own, even from parallel operations."""

from __future__ import annotations

import io
import sys
import threading
import time
import traceback
import types

import pytest

from pulumi_karmo_roles._announce import announce
from pulumi_karmo_roles._display import install
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.concurrency import run_concurrently
from tests.support.harness import EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN

ROLE = {"organization_id": "org_1", "slug": "org-ops", "name": "Operations"}
VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}


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


def test_messages_of_parallel_operations_are_whole_lines(
    engine: ProviderProcess, sandbox: SandboxServer
) -> None:
    # Deletes run four at a time and each warns: `pulumi destroy` once showed two warnings
    # glued on one line (print writes the text and the newline separately). The CLI shows
    # each stderr line of the provider process as one message.
    count = 64
    roles = [{**ROLE, "slug": f"org-ops-{i}"} for i in range(count)]
    for role in roles:
        engine.create(role)
    errors = run_concurrently(
        lambda i: engine.delete(f"org_1/org-ops-{i}", {**roles[i], "role_id": f"r{i}"}), count
    )
    assert errors == []
    warnings = [line for line in engine.stderr().splitlines() if "warning:" in line]
    assert len(warnings) == count
    for line in warnings:
        assert line.startswith("warning: Karmo has no delete operation: role 'org-ops-")
        assert line.count("warning:") == 1


def test_each_announcement_is_one_whole_write(monkeypatch: pytest.MonkeyPatch) -> None:
    # One write per line, under one lock: a stream that yields between calls cannot get
    # two announcements on one line.
    writes: list[str] = []

    class Slow(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            time.sleep(0.001)
            return len(text)

    monkeypatch.setattr(sys, "stderr", Slow())
    errors = run_concurrently(lambda i: announce(f"message {i}\nsecond line"), 32)
    assert errors == []
    assert sorted(writes) == sorted(f"warning: message {i} second line\n" for i in range(32))


def test_outside_the_provider_process_install_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = sys.stderr
    install()  # here __main__ is pytest's, not the SDK's server
    assert sys.stderr is stderr
    # A server that does not look as expected is left alone, too.
    other = types.ModuleType("__main__")
    other.traceback = traceback  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", other)
    install()
    assert other.traceback is traceback


def test_in_a_server_that_looks_as_expected_install_replaces_only_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = types.ModuleType("__main__")
    server._abort_with_traceback = lambda: None  # type: ignore[attr-defined]
    server.traceback = traceback  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", server)
    stderr = sys.stderr
    install()
    assert server.traceback is not traceback
    assert sys.stderr is stderr  # no process-wide stream swap


def test_each_retry_is_announced(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = configured_provider(sandbox.url, {"karmo:maxRetries": "2"})
    sandbox.script({"status": 429, "retry_after": "0"}, {"status": 502, "body": "html"})
    provider.create(dict(VALID))
    lines = [line for line in capsys.readouterr().err.splitlines() if "retrying" in line]
    path = "PUT /organizations/org_1/roles/org-a"
    assert lines == [
        f"warning: Karmo: {path} answered 429 TOO_MANY_REQUESTS; retrying in 0.0 s "
        "(attempt 2 of 3).",
        f"warning: Karmo: {path} answered 502 BAD_GATEWAY; retrying in "
        + lines[1].split("retrying in ")[1],
    ]
    assert lines[1].endswith("(attempt 3 of 3).")


def test_retries_show_on_the_provider_stderr_while_they_happen(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
        sandbox.script({"status": 429, "retry_after": "2"})
        done = threading.Event()

        def create() -> None:
            process.create(VALID)
            done.set()

        thread = threading.Thread(target=create)
        thread.start()
        seen_during = False
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            if "retrying in 2.0 s (attempt 2 of 5)" in process.stderr():
                seen_during = not done.is_set()
                break
            time.sleep(0.05)
        thread.join(timeout=30)
        assert seen_during, process.stderr()
        assert done.is_set()
