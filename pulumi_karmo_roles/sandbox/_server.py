"""The sandbox's public face: :class:`SandboxServer`, which holds one sandbox's state
and runs its socket server on 127.0.0.1, in a background thread or in the caller's."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .._rules import DEFAULT_ACCESS_PROVIDER, access_provider_problem
from . import _workos as workos
from ._faults import Faults, Injector
from ._handler import Listener
from ._state import State


class SandboxServer:
    """Karmo's role endpoint on 127.0.0.1, in a background thread, and WorkOS's
    organization-role API over the same roles (see :mod:`.workos`).

    ::

        with SandboxServer(token="dev-token", workos_api_key="sk_test_1") as sandbox:
            client = KarmoClient(sandbox.url, "dev-token")
            # WorkOS's view of the same roles: GET {sandbox.workos_url}/authorization/...

    :param token: the bearer token it accepts.
    :param host: the address to bind; keep it a loopback address (the admin endpoints
        need no token).
    :param port: the port to listen on; 0 picks a free one (see :attr:`url`).
    :param prefix: a path prefix the API sits under, e.g. ``/auth-api``.
    :param organizations: if given, only these organizations exist (others get 404).
    :param faults: faults to inject from the start.
    :param seed: seed of the fault dice, for repeatable runs.
    :param tls: serve HTTPS with this server-side SSL context (e.g. from ``trustme``).
    :param token_lifetime: if given, require service tokens minted by ``POST /auth/token``
        (a SigV4-signed request) instead of ``token``; they expire after this many seconds.
    :param clock: monotonic seconds for the ``rate_limit_rps`` window (tests pass a fake
        one to make the window exact).
    :param access_provider: ``workos`` (Karmo's WorkOS mode: upserts also follow WorkOS's
        limits, as the provider's ``check`` states them) or ``generic``.
    :param workos_api_key: the API key the WorkOS face accepts (at :attr:`workos_url`);
        without one, the WorkOS face answers every request 401.
    """

    _POLL_INTERVAL = 0.02
    """Seconds between checks for :meth:`stop` (socketserver's default, 0.5 s, made every
    stop take that long)."""

    def __init__(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        organizations: list[str] | None = None,
        faults: Faults | None = None,
        seed: int | None = None,
        tls: ssl.SSLContext | None = None,
        token_lifetime: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        access_provider: str = DEFAULT_ACCESS_PROVIDER,
        workos_api_key: str | None = None,
    ) -> None:
        problem = access_provider_problem(access_provider)
        if problem:
            raise ValueError(f"access_provider {problem}")
        self.prefix = prefix.rstrip("/")
        if workos.serves(self.prefix + "/"):
            raise ValueError(
                f"prefix {prefix!r} would hide the WorkOS face, which serves {workos.PATH_PREFIX}"
            )
        state = State(
            token=token,
            token_lifetime=token_lifetime,
            access_provider=access_provider,
            workos_api_key=workos_api_key,
            organizations=frozenset(organizations) if organizations is not None else None,
            injector=Injector(faults=faults or Faults(), clock=clock),
        )
        if seed is not None:
            state.injector.reseed(seed)
        self._server = Listener((host, port), state, self.prefix, tls)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to configure as ``karmo:apiUrl``."""
        return f"{self.workos_url}{self.prefix}"

    @property
    def workos_url(self) -> str:
        """The base URL of the WorkOS face, to configure as ``karmo:workosApiUrl``: the
        root of the same address (WorkOS's paths, whatever :attr:`prefix` is)."""
        scheme = "https" if self._server.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def access_provider(self) -> str:
        """``workos`` or ``generic``: whose limits the Karmo face's upserts follow."""
        return self._server.state.access_provider

    @property
    def faults(self) -> Faults:
        """The live fault settings; change them with :meth:`set_faults`."""
        return self._server.state.injector.faults

    def set_faults(self, **changes: Any) -> None:
        """Change faults at run time, e.g. ``set_faults(rate_limit_share=0.5)``."""
        with self._server.state.lock:
            self._server.state.injector.faults.update(changes)

    def script(self, *answers: dict[str, Any]) -> None:
        """Queue exact answers for the next requests, e.g. ``script({"status": 500},
        {"action": "drop"})``; docs/sandbox.md lists the actions and an answer's fields."""
        with self._server.state.lock:
            self._server.state.injector.script.extend(answers)

    def roles(self) -> dict[tuple[str, str], tuple[str, str]]:
        """The organization roles it holds: ``(organization_id, slug) -> (role_id,
        name)`` (environment roles are not in it)."""
        with self._server.state.lock:
            return {k: (r.role_id, r.name) for k, r in self._server.state.roles.items()}

    def permissions(self, organization_id: str, slug: str) -> list[str] | None:
        """The permissions Karmo holds for a role (sorted), or None if there is no role."""
        with self._server.state.lock:
            role = self._server.state.roles.get(organization_id, slug)
            return None if role is None else list(role.permissions)

    def add_environment_role(
        self,
        slug: str,
        name: str,
        permissions: list[str] | None = None,
        *,
        description: str | None = None,
    ) -> str:
        """Add a WorkOS environment role (``type: EnvironmentRole``): in every
        organization's list, and the single-role read's answer for ``slug`` where the
        organization has no role of that slug. Replaces one of the same slug. Also
        ``POST /_sandbox/environment_roles`` with ``{"slug", "name", "permissions"}``.

        :returns: the role's id.
        :raises ValueError: a slug, name, description or permission WorkOS would refuse.
        """
        role = workos.environment_role(slug, name, list(permissions or []), description)
        with self._server.state.lock:
            self._server.state.roles.environment[slug] = role
        return role.role_id

    def expire_tokens(self) -> None:
        """In minted-token mode: make every token issued so far expired."""
        with self._server.state.lock:
            for token in self._server.state.minted:
                self._server.state.minted[token] = 0.0

    def minted_tokens(self) -> list[str]:
        """In minted-token mode: every token issued so far (tests assert none leaks)."""
        with self._server.state.lock:
            return list(self._server.state.minted)

    def stats(self) -> dict[str, int]:
        """Counters. The Karmo face: ``requests``, ``created``, ``updated``,
        ``permissions``, ``status_N``; the WorkOS face: ``workos_requests``,
        ``workos_status_N``, ``workos_created``, ``workos_updated``, ``workos_deleted``,
        ``workos_permissions``; both: ``connections``. The admin endpoints are not counted."""
        with self._server.state.lock:
            return dict(self._server.state.stats)

    def requests(self) -> list[dict[str, str]]:
        """The last API requests received, of both faces (``face``: ``karmo`` or
        ``workos``; method, raw path, User-Agent, Content-Type, body); never the
        ``Authorization`` header."""
        with self._server.state.lock:
            return list(self._server.state.seen)

    def reset_requests(self) -> None:
        """Forget the requests seen so far (keep roles, faults and counters)."""
        with self._server.state.lock:
            self._server.state.seen.clear()

    def reset(self) -> None:
        """Forget all roles (environment roles too), faults, scripted answers and
        counters. A request still held (by latency, a hang or an answer delay) is then
        closed unanswered when it wakes, and neither writes nor counts anything: a test's
        leftover request cannot reach the next test's sandbox."""
        with self._server.state.lock:
            self._server.state.reset()

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(self._POLL_INTERVAL,),
            name="karmo-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever(self._POLL_INTERVAL)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
