"""Through ``python -m pulumi.dynamic``, what the CLI shows of the provider process
(both found running the real CLI, tests/cli): the gRPC error details printed under a
resource are our error's one line, not a traceback (other exceptions keep theirs); and
each message the provider writes is a line of its own, even from parallel operations."""

from __future__ import annotations

import io
import threading

import pytest
from conftest import run_concurrently
from harness import EngineError, ProviderProcess

from pulumi_karmo_roles._display import LineAtomicWriter
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


def test_a_line_is_written_whole_when_threads_interleave() -> None:
    # The interleaving print() allows, forced: thread A has written its text but not yet
    # its newline when thread B writes a whole line.
    stream = io.StringIO()
    writer = LineAtomicWriter(stream)
    a_wrote_text, b_done = threading.Event(), threading.Event()

    def a() -> None:
        writer.write("warning: A")
        a_wrote_text.set()
        b_done.wait(5)
        writer.write("\n")

    def b() -> None:
        a_wrote_text.wait(5)
        writer.write("warning: B\n")
        b_done.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stream.getvalue() == "warning: B\nwarning: A\n"
    writer.write("partial")
    writer.flush()
    assert stream.getvalue().endswith("\npartial")
