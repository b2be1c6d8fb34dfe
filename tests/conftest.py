"""Fixtures of the whole suite: a clean environment, the sandbox, provider processes,
and deterministic property tests."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import ProviderProcess
from tests.support.providers import close_configured
from tests.support.secrets import TOKEN, WORKOS_KEY

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


@pytest.fixture(autouse=True)
def _close_configured_providers() -> Iterator[None]:
    yield
    close_configured()
