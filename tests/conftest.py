from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator

import pytest
from harness import ProviderProcess
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer

# Property tests are deterministic by default: the same examples on every run and every
# fresh clone, no example database in the tree, no per-example deadline (a wall-clock
# limit that a loaded 2-core machine breaks). HYPOTHESIS_PROFILE=explore searches anew
# with more examples, for a developer hunting bugs.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", max_examples=1_000, database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
# Hypothesis also caches the constants it finds in our modules under ./.hypothesis: keep
# the work tree clean and the run independent of any earlier one.
_HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="karmo-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME.name)

TOKEN = "kt_live_7Qz9XbV2mN4pL8sR3tW6yA1c"
"""A distinctive fake token: tests assert it appears nowhere it must not."""

WORKOS_KEY = "sk_test_wk/9fQ2+Lm7Xp4Zr8Tn6Vb"
"""A distinctive fake WorkOS API key ("/" and "+": characters servers escape)."""


_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


@pytest.fixture(autouse=True)
def _clean_karmo_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # KARMO_* settings, and proxies: the client honours HTTP(S)_PROXY, and a test's
    # 127.0.0.1 must not go through the machine's proxy (provider processes inherit this).
    for key in list(os.environ):
        if key.startswith("KARMO_") or key.lower() in _PROXY_VARIABLES:
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(token=TOKEN, seed=7, workos_api_key=WORKOS_KEY) as server:
        yield server


@pytest.fixture
def sandbox(_sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The sandbox on 127.0.0.1, emptied before each test (roles, faults, counters)."""
    _sandbox_server.reset()
    yield _sandbox_server
    _sandbox_server.reset()


def _engine_process(url: str) -> Iterator[ProviderProcess]:
    process = ProviderProcess()
    process.configure({"karmo:apiUrl": url, "karmo:token": TOKEN, "karmo:maxRetries": "0"})
    yield process
    leaked = TOKEN in process.stderr()
    process.close()
    assert not leaked, "the token appeared on the provider process's stderr"


@pytest.fixture(scope="module")
def shared_engine(_sandbox_server: SandboxServer) -> Iterator[ProviderProcess]:
    """One ``engine`` for a whole module, for tests that leave nothing behind in the
    provider process (diffs, one failing request each): a process start is a fifth of a
    second, and these tests are many. Take ``sandbox`` too, for a clean sandbox."""
    yield from _engine_process(_sandbox_server.url)


@pytest.fixture
def engine(sandbox: SandboxServer) -> Iterator[ProviderProcess]:
    """A ``python -m pulumi.dynamic`` process, configured with the sandbox as Karmo and
    no retries (tests that retry configure their own)."""
    yield from _engine_process(sandbox.url)


@pytest.fixture
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log record at DEBUG and assert none carries the token."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


_CONFIGURED: list[OrganizationRoleProvider] = []


def configured_provider(
    url: str | None, config: dict[str, str] | None = None
) -> OrganizationRoleProvider:
    """A provider configured as the engine would (the sandbox token, no retries unless
    ``config`` says otherwise), closed after the test."""
    provider = OrganizationRoleProvider()
    stack = {"karmo:token": TOKEN, "karmo:maxRetries": "0", **(config or {})}
    if url is not None:
        stack["karmo:apiUrl"] = url
    provider.configure(ConfigureRequest(Config(stack, "karmo-test")))
    _CONFIGURED.append(provider)
    return provider


@pytest.fixture(autouse=True)
def _close_configured_providers() -> Iterator[None]:
    yield
    while _CONFIGURED:
        _CONFIGURED.pop().close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_concurrently(work: Callable[[int], object], count: int) -> list[BaseException]:
    """Run ``work(0..count-1)`` on ``count`` threads released at the same instant;
    return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
