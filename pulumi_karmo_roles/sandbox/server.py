"""A local, stateful stand-in for Karmo's role endpoint, with fault injection.

Standard library only (and the package's own validation rules). It implements the
contract in ``openapi.yaml``: bearer check, validation answered with Karmo's error
envelope, and upsert semantics (201 when the role is created, 200 when it existed).
Roles live in memory. It is at least as strict as the provider's ``check`` under the
same access provider (``access_provider``, ``workos`` by default: WorkOS's limits too):
an organization id, slug, name or permission that ``check`` refuses is answered 422
with a pointer (``/organizationId``, ``/slug``, ``/name``, ``/permissions/N``), so a
demo never succeeds where the real thing would not. A ``Content-Length`` that is not a
number, or is over 1 MiB, is answered 400.

With ``workos_api_key`` it also serves WorkOS's organization-role API, at the root
(``/authorization/...``), over the same roles: see :mod:`.workos`.

Faults, set at start (``karmo-sandbox --latency-ms 200``) or at run time (``POST
/_sandbox/faults`` with ``{"latency-ms": 200}``; ``seed`` reseeds the dice there too),
apply to both faces (``face``: to ``karmo`` or ``workos`` only), with each face's own
error bodies:

* ``latency_ms``: added before every API answer;
* ``rate_limit_share`` with ``retry_after``: that share of requests gets 429;
* ``error_share`` with ``error_status``: that share gets a 5xx with a proxy's HTML page;
* ``not_configured`` (Karmo only): every request gets 503 with a Karmo body (provider
  not configured);
* ``lost_answer_share`` (Karmo only): that share of upserts is applied but answered 502;
* ``answer_delay_ms`` (Karmo only): a wait between applying an upsert and answering it;
* a script (``POST /_sandbox/script``): the next requests get exactly these answers,
  e.g. ``[{"status": 500}, {"status": 429, "retry_after": "0"}, {"action": "drop"}]``;
  an answer with ``"face": "workos"`` (or ``"karmo"``) waits for a request to that face.
  Actions: ``pass`` (answer as usual), ``drop`` (close, FIN), ``reset`` (abort,
  RST), ``truncate`` (half an answer, then RST), ``hang`` (``seconds``; then nothing,
  or the normal answer with ``"then": "answer"``). Otherwise an answer: ``status``,
  ``body`` (the face's own error body by default, or ``karmo``, ``workos``, ``html``, a
  string or a JSON value), ``retry_after``, ``code``, ``message``, ``errors``.
* ``rate_limit_rps``: a sliding one-second window, one per face; beyond it, 429 with a
  decimal ``Retry-After``.

Service-token mode (``token_lifetime``): ``POST /auth/token`` needs a well-formed SigV4
``Authorization`` header (the signature cannot be checked without the secret key) and
issues tokens valid that long; the API accepts only those, and answers 401 once expired.

With a ``prefix``, Karmo's API answers only under it: any other path gets 404, as from
the real service (WorkOS's face stays at the root). Admin endpoints under ``/_sandbox/``
(also under the prefix) need no token: ``GET roles``, ``GET stats``, ``POST faults``,
``POST script``, ``POST reset``, ``POST environment_roles``. The sandbox keeps the last
1000 API requests of both faces (never their ``Authorization`` header), each with its
``face``, for tests to inspect.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from .._rules import (
    DEFAULT_ACCESS_PROVIDER,
    PERMISSION_PATTERN,
    access_provider_problem,
    name_problem,
    organization_id_problem,
    slug_problem,
)
from . import workos
from .store import Role, RoleStore, new_role_id

__all__ = ["Faults", "SandboxServer"]

_FACES = ("karmo", "workos")
_ROLE_PATH = re.compile(r"/organizations/([^/]+)/roles/([^/]+)(/permissions)?")
_MAX_BODY = 1 << 20
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[A-Z0-9]{16,128}/[0-9]{8}/[a-z0-9-]+/execute-api/aws4_request,"
    r" ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}"
)
_PROXY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
    "{reason}</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass
class Faults:
    """Faults the sandbox injects into API answers (admin endpoints are exempt)."""

    latency_ms: float = 0.0
    """Milliseconds to wait before every API answer."""
    rate_limit_share: float = 0.0
    """Share (0..1) of requests answered 429."""
    retry_after: str | None = "1"
    """``Retry-After`` header of those 429s (``None``: no header)."""
    error_share: float = 0.0
    """Share (0..1) of requests answered ``error_status`` with a proxy's HTML page."""
    error_status: int = 502
    """Status of those errors (500, 502, 503 or 504)."""
    not_configured: bool = False
    """Answer every request 503 with a Karmo body: access provider not configured."""
    lost_answer_share: float = 0.0
    """Share (0..1) of valid upserts that are applied but answered 502, as when a proxy
    loses Karmo's answer: the client cannot know the write happened."""
    answer_delay_ms: float = 0.0
    """Milliseconds to wait after applying an upsert, before answering it."""
    rate_limit_rps: float = 0.0
    """If positive, at most this many API requests in any one-second window, counted per
    face; beyond it, 429 with ``Retry-After`` set to when a request would next fit
    (decimal seconds)."""
    face: str | None = None
    """The face these faults apply to: ``karmo``, ``workos``, or ``None`` for both."""

    def update(self, changes: dict[str, Any]) -> None:
        """Apply changes named as the command line's options (``latency-ms``) or as the
        fields (``latency_ms``); an unknown name or a value of the wrong type is an error
        and changes nothing."""
        types = {f.name: f.type for f in fields(self)}
        checked = {}
        for key, value in changes.items():
            name = key.replace("-", "_")
            if name not in types:
                known = ", ".join(sorted(n.replace("_", "-") for n in types))
                raise ValueError(f"unknown fault {key!r} (known: {known})")
            if not _fits(value, str(types[name])):
                raise ValueError(f"fault {key!r} must be {types[name]}, got {value!r}")
            checked[name] = value
        if checked.get("face") not in (None, *_FACES):
            raise ValueError(f"face must be one of {_FACES} or None, got {checked['face']!r}")
        for name, value in checked.items():
            setattr(self, name, value)

    def named(self) -> dict[str, Any]:
        """The settings, named as the command line's options (``latency-ms``)."""
        return {name.replace("_", "-"): value for name, value in asdict(self).items()}


def _fits(value: Any, declared: str) -> bool:
    """Whether a JSON value fits a field declared as ``float``, ``int``, ``bool`` or
    ``str | None`` (bool is not a number here, though Python counts it as one)."""
    if isinstance(value, bool):
        return declared == "bool"
    if declared == "float":
        return isinstance(value, (int, float))
    if declared == "int":
        return isinstance(value, int)
    return isinstance(value, str) or (value is None and "None" in declared)


@dataclass
class _State:
    token: str
    organizations: frozenset[str] | None
    token_lifetime: int | None = None
    access_provider: str = DEFAULT_ACCESS_PROVIDER
    workos_api_key: str | None = None
    minted: dict[str, float] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    roles: RoleStore = field(default_factory=RoleStore)
    script: list[dict[str, Any]] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    seen: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=1000))
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=random.Random)
    windows: dict[str, deque[float]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def admit(self, rps: float, now: float, face: str = "karmo") -> float:
        """Sliding one-second window of one face: 0 if a request fits now, else seconds
        to wait."""
        window = self.windows.setdefault(face, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) < rps:
            window.append(now)
            return 0.0
        return window[int(len(window) - rps)] + 1.0 - now

    def next_scripted(self, face: str) -> dict[str, Any] | None:
        """Take the first scripted answer meant for ``face`` (or for either face)."""
        for i, answer in enumerate(self.script):
            if answer.get("face") in (None, face):
                return self.script.pop(i)
        return None

    def reset(self) -> None:
        self.roles.clear()
        self.script.clear()
        self.stats.clear()
        self.seen.clear()
        self.windows.clear()
        self.minted.clear()
        self.faults = Faults()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this, each keep-alive request stalls ~40 ms on delayed ACKs.
    disable_nagle_algorithm = True
    server: _Server
    face = "karmo"
    """The face the request being answered is for (its answers are counted so)."""

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()
        with self.server.state.lock:
            self.server.state.stats["connections"] += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the demo read their own output

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _route(self, method: str) -> None:
        raw = urlsplit(self.path).path
        prefix = self.server.prefix
        under_prefix = bool(prefix) and raw.startswith(prefix + "/")
        # WorkOS's own paths, at the root; known before the body, for a 400's shape.
        self.face = "workos" if workos.serves(raw) and not under_prefix else "karmo"
        body = self._read_body()
        if body is None:
            return
        # Karmo's API answers only under its prefix, as the real service; WorkOS's face
        # is at the root.
        path, outside = (raw, False) if self.face == "workos" else _under_prefix(raw, prefix)
        if path.startswith("/_sandbox/"):
            self._admin(method, path.removeprefix("/_sandbox/"), body)
            return
        face, state = self.face, self.server.state
        with state.lock:
            state.stats["requests" if face == "karmo" else "workos_requests"] += 1
            state.seen.append(
                {
                    "face": face,
                    "method": method,
                    "path": raw,
                    "user_agent": self.headers.get("User-Agent", ""),
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": body.decode("utf-8", errors="replace"),
                }
            )
        if outside:  # the real service has nothing there: no script, no faults
            self._karmo_error(404, "40400000", f"No route for {method} {raw}")
            return
        with state.lock:
            scripted = state.next_scripted(face)
            faults = Faults(**asdict(state.faults))
            if faults.face not in (None, face):
                faults = Faults()
            roll = state.rng.random()
            rps = faults.rate_limit_rps
            wait = state.admit(rps, state.clock(), face) if rps else 0
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if scripted is not None and self._scripted(scripted):
            return
        if wait:
            self._rate_limited(f"{max(wait, 0.001):.3f}", window=True)
            return
        if faults.not_configured and face == "karmo":
            self._karmo_error(
                503,
                "50300001",
                "Access-management provider is not configured for this environment.",
            )
            return
        if roll < faults.rate_limit_share:
            self._rate_limited(faults.retry_after)
            return
        if roll < faults.rate_limit_share + faults.error_share:
            self._proxy_page(faults.error_status)
            return
        if face == "workos":
            authorization = self.headers.get("Authorization", "")
            self._answer(*workos.answer(state, method, path, body, authorization))
            return
        lose = roll >= 1.0 - faults.lost_answer_share
        self._api(method, path, body, lose_answer=lose, answer_delay=faults.answer_delay_ms / 1000)

    def _rate_limited(self, retry_after: str | None, *, window: bool = False) -> None:
        """429 in the face's own shape: the ``rate_limit_rps`` window, or the share."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        if self.face == "workos":
            self._answer(*workos.error(429, "rate_limit_exceeded", "Too many requests.", headers))
        elif window:
            self._karmo_error(429, "42900002", "Rate limit exceeded.", headers)
        else:
            self._karmo_error(
                429, "42900001", "Configured access provider rate limited the request.", headers
            )

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if body is None:
            self._send(status, b"", "application/json", headers)
        else:
            self._json(status, body, headers)

    def _scripted(self, answer: dict[str, Any]) -> bool:
        """Play one scripted answer; False if it only delays the normal answer."""
        action = answer.get("action")
        if action == "pass":  # this request is answered as usual
            return False
        if action == "drop":  # close without answering (FIN)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if action == "reset":  # abort without answering (RST)
            self._reset()
            return True
        if action == "truncate":  # half an answer, then RST
            self.wfile.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b'Content-Length: 64\r\n\r\n{"id": "role_'
            )
            self._reset()
            return True
        if action == "hang":
            time.sleep(float(answer.get("seconds", 5)))
            return answer.get("then") != "answer"
        status = int(answer.get("status", 500))
        headers = {}
        if answer.get("retry_after") is not None:
            headers["Retry-After"] = str(answer["retry_after"])
        kind = answer.get("body", self.face)
        if kind == "workos":
            self._answer(
                *workos.error(
                    status,
                    str(answer.get("code", HTTPStatus(status).phrase.lower().replace(" ", "_"))),
                    answer.get("message", HTTPStatus(status).phrase),
                    headers,
                    errors=answer.get("errors"),
                )
            )
        elif kind == "karmo":
            self._karmo_error(
                status,
                str(answer.get("code", f"{status}00001")),
                answer.get("message", HTTPStatus(status).phrase),
                headers,
                errors=answer.get("errors", []),
            )
        elif kind == "html":
            self._proxy_page(status, headers)
        else:
            raw = kind if isinstance(kind, str) else json.dumps(kind)
            self._send(status, raw.encode(), answer.get("content_type", "text/plain"), headers)
        return True

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _api(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        lose_answer: bool = False,
        answer_delay: float = 0.0,
    ) -> None:
        if path == "/auth/token":
            self._mint(method)
            return
        match = _ROLE_PATH.fullmatch(path)
        if not match:
            self._karmo_error(404, "40400000", f"No route for {method} {path}")
            return
        if method != "PUT":
            self._karmo_error(405, "40500001", f"{method} is not supported here")
            return
        if not self._authorized():
            return
        state = self.server.state
        organization_id, slug = unquote(match.group(1)), unquote(match.group(2))
        errors = _validate_path(organization_id, slug, state.access_provider)
        if errors:
            self._karmo_error(422, "42200003", "Request validation failed", errors=errors)
            return
        if state.organizations is not None and organization_id not in state.organizations:
            self._karmo_error(404, "40400001", f"Organization {organization_id} not found")
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._karmo_error(400, "40000001", "Request body must be JSON")
            return
        if match.group(3):
            self._put_permissions((organization_id, slug), payload)
            return
        errors = _validate(payload, state.access_provider)
        if errors:
            self._karmo_error(422, "42200001", "Request validation failed", errors=errors)
            return
        with state.lock:
            role = state.roles.get(organization_id, slug)
            created = role is None
            if role is None:
                role = Role(new_role_id(), payload["name"])
                state.roles.put(organization_id, slug, role)
            else:
                role.name = payload["name"]
                role.touch()
            state.stats["created" if created else "updated"] += 1
        if answer_delay:
            time.sleep(answer_delay)
        if lose_answer:
            self._proxy_page(502)
            return
        self._json(201 if created else 200, {"id": role.role_id})

    def _put_permissions(self, key: tuple[str, str], payload: Any) -> None:
        errors = _validate_permissions(payload)
        if errors:
            self._karmo_error(422, "42200002", "Request validation failed", errors=errors)
            return
        state = self.server.state
        with state.lock:
            role = state.roles.get(*key)
            if role is not None:
                role.permissions = sorted(payload["permissions"])
                role.touch()
                state.stats["permissions"] += 1
        if role is None:
            self._karmo_error(404, "40400002", f"Role {key[1]} not found in {key[0]}")
            return
        self._send(204, b"", "application/json", None)

    def _authorized(self) -> bool:
        """Check the bearer token; answer 401 and return False if it does not pass."""
        state = self.server.state
        auth = self.headers.get("Authorization", "")
        if state.token_lifetime is None:
            if secrets.compare_digest(auth.encode(), f"Bearer {state.token}".encode()):
                return True
            self._karmo_error(401, "40100001", "Missing or invalid bearer token")
            return False
        with state.lock:
            expires = state.minted.get(auth.removeprefix("Bearer "))
        if expires is None:
            self._karmo_error(401, "40100001", "Missing or invalid bearer token")
            return False
        if expires <= time.time():
            self._karmo_error(401, "40100002", "Service token expired")
            return False
        return True

    def _mint(self, method: str) -> None:
        state = self.server.state
        if method != "POST" or state.token_lifetime is None:
            self._karmo_error(404, "40400000", f"No route for {method} /auth/token")
            return
        # The sandbox has no secret key to check the signature against: it checks that
        # the request carries a well-formed SigV4 Authorization header and its date.
        auth = self.headers.get("Authorization", "")
        if not _SIGV4.fullmatch(auth) or not self.headers.get("X-Amz-Date"):
            self._karmo_error(403, "40300001", "Missing or malformed AWS SigV4 signature")
            return
        token = "kst_" + secrets.token_urlsafe(24)
        with state.lock:
            state.minted[token] = time.time() + state.token_lifetime
            state.stats["minted"] += 1
        self._json(200, {"access_token": token, "expires_in": state.token_lifetime})

    def _admin(self, method: str, what: str, body: bytes) -> None:
        self.face = "karmo"  # admin answers are counted with Karmo's, as they always were
        status, answer = self._admin_answer(method, what, body)
        self._json(status, answer)  # sent outside the lock: _send takes it too

    def _admin_answer(self, method: str, what: str, body: bytes) -> tuple[int, Any]:
        state = self.server.state
        if method == "POST" and what == "environment_roles":
            try:
                spec = json.loads(body or b"{}")
                slug = spec["slug"]
                role = workos.environment_role(
                    slug, spec["name"], spec.get("permissions", []), spec.get("description")
                )
            except (ValueError, TypeError, KeyError) as exc:
                return 400, {"error": str(exc)}
            with state.lock:
                state.roles.environment[slug] = role
            return 201, workos.role_object(slug, role)
        with state.lock:
            if method == "GET" and what == "roles":
                roles = [
                    {
                        "organization_id": o,
                        "slug": s,
                        "id": r.role_id,
                        "name": r.name,
                        "permissions": r.permissions,
                    }
                    for (o, s), r in sorted(state.roles.items(), key=lambda item: item[0])
                ]
                environment = [workos.role_object(s, r) for s, r in state.roles.environment.items()]
                return 200, {"roles": roles, "environment_roles": environment}
            if method == "GET" and what == "stats":
                return 200, dict(state.stats)
            if method == "POST" and what == "faults":
                try:
                    changes = json.loads(body or b"{}")
                    if not isinstance(changes, dict):
                        raise ValueError("faults must be a JSON object")
                    seed = changes.pop("seed", None)
                    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                        raise ValueError(f"seed must be a whole number, got {seed!r}")
                    state.faults.update(changes)
                except ValueError as exc:
                    return 400, {"error": str(exc)}
                if seed is not None:
                    state.rng.seed(seed)
                return 200, state.faults.named()
            if method == "POST" and what == "script":
                answers = json.loads(body or b"[]")
                state.script.extend(answers if isinstance(answers, list) else [answers])
                return 200, {"queued": len(state.script)}
            if method == "POST" and what == "reset":
                state.reset()
                return 200, {}
        return 404, {"error": f"no admin endpoint {method} /_sandbox/{what}"}

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` if ``Content-Length`` is unusable (answered 400)."""
        raw = self.headers.get("Content-Length") or "0"
        if not (raw.isascii() and raw.isdigit()) or int(raw) > _MAX_BODY:
            # Where this body ends is unknowable: answer, then close the connection.
            self.close_connection = True
            message = f"Content-Length must be a whole number of bytes up to {_MAX_BODY}"
            if self.face == "workos":
                self._answer(*workos.error(400, "invalid_request", message))
            else:
                self._karmo_error(400, "40000002", message)
            return None
        length = int(raw)
        return self.rfile.read(length) if length else b""

    def _karmo_error(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        request_id = "req_" + secrets.token_hex(8)
        body = {
            "code": code,
            "message": message,
            "meta": {"requestId": request_id},
            "errors": errors or [],
        }
        self._json(status, body, {"X-Request-Id": request_id, **(headers or {})})

    def _proxy_page(self, status: int, headers: dict[str, str] | None = None) -> None:
        page = _PROXY_PAGE.format(status=status, reason=HTTPStatus(status).phrase)
        self._send(status, page.encode(), "text/html", headers)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: int, content: bytes, content_type: str, headers: dict[str, str] | None
    ) -> None:
        # One write per answer: status line, headers and body leave in one segment.
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(content)}",
            "Server: karmo-sandbox",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        # Counted before it is sent: a client that has the answer finds it counted.
        counter = f"status_{status}" if self.face == "karmo" else f"{self.face}_status_{status}"
        with self.server.state.lock:
            self.server.state.stats[counter] += 1
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content)


def _under_prefix(path: str, prefix: str) -> tuple[str, bool]:
    """The path below ``prefix``, and whether it lies outside it (an admin path is
    never outside: ``/_sandbox/`` answers with or without the prefix)."""
    if not prefix:
        return path, False
    if path.startswith(prefix + "/"):
        return path[len(prefix) :], False
    return path, not path.startswith("/_sandbox/")


# The rules come from the package's validation module, the one home of each: the
# sandbox refuses whatever the provider's check refuses. Their text starts with the
# property's name, which the pointer already gives.


def _error(pointer: str, problem: str, prop: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": problem.removeprefix(prop + " ")}


def _validate_path(organization_id: str, slug: str, access_provider: str) -> list[dict[str, str]]:
    errors = []
    problem = organization_id_problem(organization_id)
    if problem:
        errors.append(_error("/organizationId", problem, "organization_id"))
    problem = slug_problem(slug, access_provider)
    if problem:
        errors.append(_error("/slug", problem, "slug"))
    return errors


def _validate_permissions(payload: Any) -> list[dict[str, str]]:
    permissions = payload.get("permissions") if isinstance(payload, dict) else None
    if not isinstance(permissions, list):
        return [{"pointer": "/permissions", "detail": "must be an array of permission slugs"}]
    errors = []
    for i, permission in enumerate(permissions):
        if not isinstance(permission, str) or not PERMISSION_PATTERN.fullmatch(permission):
            errors.append(
                {
                    "pointer": f"/permissions/{i}",
                    "detail": "may contain lowercase letters, numbers, colons, periods, "
                    "underscores, hyphens, and asterisks",
                }
            )
        elif permissions.index(permission) != i:  # the contract: uniqueItems
            errors.append({"pointer": f"/permissions/{i}", "detail": "duplicate permission"})
    return errors


def _validate(payload: Any, access_provider: str) -> list[dict[str, str]]:
    if not isinstance(payload, dict):
        return [{"pointer": "", "detail": "must be a JSON object"}]
    errors = [{"pointer": f"/{k}", "detail": "is not allowed"} for k in payload if k != "name"]
    problem = name_problem(payload.get("name"), access_provider)
    if problem:
        errors.append(_error("/name", problem, "name"))
    return errors


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        state: _State,
        prefix: str,
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.prefix = prefix
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake runs in the connection's own thread (setup), not in accept.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a timeout, a capped read) is expected here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """Karmo's role endpoint on 127.0.0.1, in a background thread, and WorkOS's
    organization-role API over the same roles (see :mod:`.workos`).

    ::

        with SandboxServer(token="dev-token", workos_api_key="sk_test_1") as sandbox:
            client = KarmoClient(sandbox.url, "dev-token")
            # WorkOS's view of the same roles: GET {sandbox.workos_url}/authorization/...

    :param token: the bearer token it accepts.
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
        limits, as :func:`~pulumi_karmo_roles.validation.slug_problem` and
        :func:`~pulumi_karmo_roles.validation.name_problem` state them) or ``generic``.
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
        state = _State(
            token=token,
            clock=clock,
            token_lifetime=token_lifetime,
            access_provider=access_provider,
            workos_api_key=workos_api_key,
            organizations=frozenset(organizations) if organizations is not None else None,
            faults=faults or Faults(),
        )
        if seed is not None:
            state.rng.seed(seed)
        self._server = _Server((host, port), state, self.prefix, tls)
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
        return self._server.state.faults

    def set_faults(self, **changes: Any) -> None:
        """Change faults at run time, e.g. ``set_faults(rate_limit_share=0.5)``."""
        with self._server.state.lock:
            self._server.state.faults.update(changes)

    def script(self, *answers: dict[str, Any]) -> None:
        """Queue exact answers for the next requests (see the module docstring)."""
        with self._server.state.lock:
            self._server.state.script.extend(answers)

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
        ``workos_permissions``; both: ``connections``."""
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
        counters."""
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
