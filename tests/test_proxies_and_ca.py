"""Networks users sit behind: the proxy variables (a forward proxy, a CONNECT tunnel,
``NO_PROXY``), a private CA through ``SSL_CERT_FILE``, and variables that cannot be used."""

from __future__ import annotations

import importlib.util
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles.errors import (
    ConfigurationError,
    KarmoError,
)
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN
from tests.support.servers import Proxy

VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}


def test_http_proxy_is_honoured(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
            client.upsert_role("org_1", "org-a", "A")
    assert proxy.seen == [f"PUT {sandbox.url}/organizations/org_1/roles/org-a"]
    assert len(sandbox.roles()) == 1


def test_no_proxy_is_honoured(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
            client.upsert_role("org_1", "org-a", "A")
    assert proxy.seen == []


def test_http_proxy_through_the_engine(sandbox: SandboxServer) -> None:
    with Proxy() as proxy:
        with ProviderProcess(env={"HTTP_PROXY": proxy.url}) as process:
            process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
            process.create(VALID)
    assert proxy.seen == [f"PUT {sandbox.url}/organizations/org_1/roles/org-a"]


@pytest.fixture(scope="module")
def https_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, Path]]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with SandboxServer(token=TOKEN, tls=context) as server:
        yield server, bundle


def test_connect_proxy_and_private_ca(
    https_sandbox: tuple[SandboxServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, bundle = https_sandbox
    server.reset()
    with Proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        with KarmoClient(server.url, TOKEN, max_retries=0) as client:
            client.upsert_role("org_1", "org-a", "A")
    assert proxy.seen == [f"CONNECT 127.0.0.1:{server.port}"]
    assert len(server.roles()) == 1


def test_an_untrusted_certificate_is_a_connection_error(
    https_sandbox: tuple[SandboxServer, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, _ = https_sandbox
    monkeypatch.setenv("SSL_CERT_FILE", str(_other_ca(tmp_path)))
    with KarmoClient(server.url, TOKEN, max_retries=0) as client:
        with pytest.raises(KarmoError, match=r"Could not reach Karmo.*CERTIFICATE_VERIFY_FAILED"):
            client.upsert_role("org_1", "org-a", "A")


def _other_ca(tmp_path: Path) -> Path:
    import trustme

    path = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("ALL_PROXY", "socks5://127.0.0.1:1", "ImportError"),  # socksio is not installed
        ("SSL_CERT_FILE", "/nonexistent/ca.pem", "FileNotFoundError"),
    ],
)
def test_unusable_network_variables_are_a_configuration_error(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    if variable == "ALL_PROXY" and importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: a SOCKS proxy is usable here")
    monkeypatch.setenv(variable, value)
    provider = configured_provider(sandbox.url)
    with pytest.raises(ConfigurationError, match="HTTPS_PROXY, ALL_PROXY") as caught:
        provider.create(dict(VALID))
    assert words in str(caught.value)
    assert "hunter2" not in str(caught.value)
