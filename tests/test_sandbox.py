"""The sandbox as users start it: ``python -m pulumi_karmo_roles.sandbox``."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pulumi_karmo_roles.sandbox import Faults, SandboxServer
from pulumi_karmo_roles.sandbox.__main__ import build_parser


def _put(url: str, body: object, token: str = "dev-token") -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_module_starts_without_the_pulumi_sdk() -> None:
    # What keeps the sandbox's start-up short (it is started by tests and demos many
    # times): neither it nor the package's top level loads the Pulumi SDK, gRPC or the
    # HTTP client stack. benchmarks/ measures the time itself.
    heavy = ("pulumi", "grpc", "httpx", "httpcore", "pydantic")
    code = (
        "import sys, pulumi_karmo_roles, pulumi_karmo_roles.sandbox.__main__; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_module_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_karmo_roles.sandbox", "--port", "0", "--token", "dev-token"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("karmo sandbox listening on http://127.0.0.1:")
        assert "dev-token" not in line
        url = line.split()[-1]
        status, body = _put(url + "/organizations/org_1/roles/org-admin", {"name": "Admin"})
        assert status == 201
        assert str(body["id"]).startswith("role_01")
        status, again = _put(url + "/organizations/org_1/roles/org-admin", {"name": "Admins"})
        assert (status, again["id"]) == (200, body["id"])
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize(
    ("path", "body", "token", "status", "pointer"),
    [
        ("/organizations/org_1/roles/admin", {"name": "A"}, "dev-token", 422, "/slug"),
        ("/organizations/org_1/roles/org-a", {"name": " "}, "dev-token", 422, "/name"),
        ("/organizations/org_1/roles/org-a", {"name": "\u200b"}, "dev-token", 422, "/name"),
        ("/organizations/org_1/roles/org-a", {"name": "A\x07"}, "dev-token", 422, "/name"),
        ("/organizations/org_1/roles/org-a", {"name": "\u202eA"}, "dev-token", 422, "/name"),
        ("/organizations/org%2F1/roles/org-a", {"name": "A"}, "dev-token", 422, "/organizationId"),
        ("/organizations/org%201/roles/org-a", {"name": "A"}, "dev-token", 422, "/organizationId"),
        ("/organizations/org%071/roles/org-a", {"name": "A"}, "dev-token", 422, "/organizationId"),
        ("/organizations/" + "o" * 256 + "/roles/org-a", {"name": "A"}, "dev-token", 422,
         "/organizationId"),
        ("/organizations/org_1/roles/org-a%E2%80%AE/permissions", {"permissions": []},
         "dev-token", 422, "/slug"),
        ("/organizations/org_1/roles/org-a", {"name": "x" * 256}, "dev-token", 422, "/name"),
        ("/organizations/org_1/roles/org-a", {"name": "A", "x": 1}, "dev-token", 422, "/x"),
        ("/organizations/org_1/roles/org-a", {}, "dev-token", 422, "/name"),
        ("/organizations/org_1/roles/org-a", {"name": "A"}, "wrong", 401, None),
        ("/organizations/org_2/roles/org-a", {"name": "A"}, "dev-token", 404, None),
    ],
)  # fmt: skip
def test_contract_errors(
    path: str, body: object, token: str, status: int, pointer: str | None
) -> None:
    with SandboxServer(token="dev-token", organizations=["org_1"]) as server:
        got, error = _put(server.url + path, body, token)
    assert got == status
    assert isinstance(error["code"], str)
    assert len(error["code"]) == 8
    assert str(error["meta"]).startswith("{'requestId': 'req_")
    if pointer:
        assert pointer in [e["pointer"] for e in error["errors"]]  # type: ignore[attr-defined]


def test_not_configured_fault() -> None:
    with SandboxServer(token="dev-token") as server:
        server.set_faults(not_configured=True)
        status, error = _put(server.url + "/organizations/o/roles/org-a", {"name": "A"})
    assert status == 503
    assert error["code"] == "50300001"


def _admin(url: str, method: str = "GET", body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def test_a_request_held_across_a_reset_changes_nothing_after_it() -> None:
    # A request still held when the next test's reset comes (its client gave up, or a
    # retry already had the answer) must not create its role in the next test's sandbox
    # nor be counted there: it is closed unanswered.
    with SandboxServer(token="dev-token") as server:
        server.script({"action": "hang", "seconds": 2.0, "then": "answer"})
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            held = pool.submit(_put, server.url + "/organizations/o/roles/org-a", {"name": "A"})
            # Drawn (the hang taken from the script) means held, whatever the machine's load.
            deadline = time.monotonic() + 30.0
            while _admin(server.url + "/_sandbox/script", "POST", []) != {"queued": 0}:
                assert time.monotonic() < deadline, "the request never reached the sandbox"
                time.sleep(0.01)
            server.reset()
            with pytest.raises(http.client.RemoteDisconnected):
                held.result()
        assert server.roles() == {}
        assert server.stats() == {}


def test_admin_endpoints_over_http() -> None:
    with SandboxServer(token="dev-token") as server:
        base = server.url + "/_sandbox/"
        _put(server.url + "/organizations/org_1/roles/org-a", {"name": "A"})
        roles = _admin(base + "roles")
        assert roles == {
            "roles": [
                {
                    "organization_id": "org_1",
                    "slug": "org-a",
                    "id": server.roles()[("org_1", "org-a")][0],
                    "name": "A",
                    "permissions": [],
                }
            ],
            "environment_roles": [],
        }
        stats = _admin(base + "stats")
        assert isinstance(stats, dict)
        assert (stats["requests"], stats["created"], stats["status_201"]) == (1, 1, 1)
        assert _admin(base + "faults", "POST", {"not-configured": True})["not-configured"] is True  # type: ignore[index]
        assert _put(server.url + "/organizations/o/roles/org-a", {"name": "A"})[0] == 503
        assert _admin(base + "script", "POST", [{"status": 409}]) == {"queued": 1}
        assert _admin(base + "reset", "POST", {}) == {}
        assert server.roles() == {}
        assert _put(server.url + "/organizations/o/roles/org-a", {"name": "A"})[0] == 201


def test_the_counters_count_only_the_apis_requests() -> None:
    # The admin endpoints are the test's own instrument: their answers are not Karmo's
    # (or WorkOS's) requests, and counting them made status_200 disagree with requests().
    with SandboxServer(token="dev-token", workos_api_key="sk_test_1") as server:
        base = server.url + "/_sandbox/"
        _admin(base + "stats")
        _admin(base + "roles")
        _admin(base + "faults", "POST", {})
        _admin(base + "reset", "POST", {})
        stats = _admin(base + "stats")
        assert isinstance(stats, dict)
        assert not any(name.startswith(("status_", "workos_status_")) for name in stats), stats
        assert server.requests() == []
        assert _put(server.url + "/organizations/o/roles/org-a", {"name": "A"})[0] == 201
        assert _put(server.url + "/organizations/o/roles/org-a", {"name": "B"})[0] == 200
        _admin(base + "stats")
        stats = server.stats()
        assert (stats["requests"], stats["status_201"], stats["status_200"]) == (2, 1, 1)
        assert len(server.requests()) == 2


def test_the_faults_endpoint_answers_with_the_seed() -> None:
    with SandboxServer(token="dev-token") as server:
        url = server.url + "/_sandbox/faults"
        answer = _admin(url, "POST", {"seed": 7})
        assert answer == {**Faults().named(), "seed": 7}
        assert _admin(url, "POST", {"latency-ms": 1}) == {
            **Faults(latency_ms=1).named(),
            "seed": 7,
        }
    with SandboxServer(token="dev-token", seed=3) as seeded:
        assert _admin(seeded.url + "/_sandbox/faults", "POST", {}) == {
            **Faults().named(),
            "seed": 3,
        }


def test_an_unknown_fault_is_answered_with_every_known_name() -> None:
    with SandboxServer(token="dev-token") as server:
        url = server.url + "/_sandbox/faults"
        settings = _admin(url, "POST", {})
        assert isinstance(settings, dict)
        status, answer = _admin_status(url, {"latency": 5})
        assert status == 400
        assert isinstance(answer, dict)
        known = ", ".join(sorted(settings))
        assert answer["error"] == f"unknown fault 'latency' (known: {known})"
        assert "seed" in settings


def test_rate_limit_window() -> None:
    now = [100.0]  # the window's clock moves only when the test says so
    with SandboxServer(token="dev-token", clock=lambda: now[0]) as server:
        server.set_faults(rate_limit_rps=3)

        def put(i: int) -> tuple[int, dict[str, object]]:
            return _put(server.url + f"/organizations/o/roles/org-{i}", {"name": "A"})

        statuses = [put(i)[0] for i in range(5)]
        now[0] += 0.5
        still_full = put(5)
        now[0] += 0.5  # the first three requests are a second old: the window is free
        statuses_later = [put(i)[0] for i in range(6, 10)]
    assert statuses == [201, 201, 201, 429, 429]
    assert still_full[0] == 429
    assert statuses_later == [201, 201, 201, 429]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"permissions": ["ok", "Not OK"]}, "/permissions/1"),
        ({"permissions": ["a", "a"]}, "/permissions/1"),
        ({"permissions": "a"}, "/permissions"),
        ({}, "/permissions"),
    ],
)
def test_permissions_validation(body: object, pointer: str) -> None:
    with SandboxServer(token="dev-token") as server:
        _put(server.url + "/organizations/o/roles/org-a", {"name": "A"})
        status, error = _put(server.url + "/organizations/o/roles/org-a/permissions", body)
    assert status == 422
    assert pointer in [e["pointer"] for e in error["errors"]]  # type: ignore[attr-defined]


def test_permissions_of_a_missing_role() -> None:
    with SandboxServer(token="dev-token") as server:
        status, _ = _put(server.url + "/organizations/o/roles/org-none/permissions",
                         {"permissions": []})  # fmt: skip
    assert status == 404


def _raw_put(port: int, content_length: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            b"PUT /organizations/o/roles/org-a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer dev-token\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + content_length.encode() + b"\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("content_length", ["abc", "-5", "5x", "+5", "99999999999999999999"])
def test_unusable_content_length_is_answered_400(
    content_length: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with SandboxServer(token="dev-token") as server:
        answer = _raw_put(server.port, content_length)
        roles = server.roles()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in head
    error = json.loads(body)
    assert error["code"] == "40000002"
    assert "Content-Length" in error["message"]
    assert roles == {}
    assert "Traceback" not in capfd.readouterr().err


def _admin_status(url: str, body: object) -> tuple[int, object]:
    try:
        return 200, _admin(url, "POST", body)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


# A value other than the default for each fault, as JSON would carry it.
CHANGED = {
    "latency_ms": 1.5,
    "rate_limit_share": 0.25,
    "retry_after": "7",
    "error_share": 0.125,
    "error_status": 504,
    "not_configured": True,
    "lost_answer_share": 0.5,
    "answer_delay_ms": 2.5,
    "rate_limit_rps": 40.0,
    "face": "workos",
}


def test_every_fault_has_an_option_and_an_admin_name() -> None:
    # One name per setting: the option's, without its dashes, is the endpoint's.
    names = [field.name for field in dataclasses.fields(Faults)]
    assert sorted(CHANGED) == sorted(names)
    options = {o for action in build_parser()._actions for o in action.option_strings}
    for name in names:
        assert "--" + name.replace("_", "-") in options, name
    assert "--seed" in options
    with SandboxServer(token="dev-token") as server:
        changes = {name.replace("_", "-"): value for name, value in CHANGED.items()}
        answer = _admin(server.url + "/_sandbox/faults", "POST", changes)
        assert answer == {**changes, "seed": None}
        assert dataclasses.asdict(server.faults) == CHANGED
        # The fields' own spelling, as SandboxServer.set_faults takes them, works too.
        assert _admin(server.url + "/_sandbox/faults", "POST", {"latency_ms": 0})
        assert server.faults.latency_ms == 0


def test_the_options_set_the_faults() -> None:
    # Started with every fault option, the sandbox reports them back from the endpoint.
    options = []
    for name, value in CHANGED.items():
        flag = "--" + name.replace("_", "-")
        options += [flag] if value is True else [flag, str(value)]
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_karmo_roles.sandbox", "--port", "0", "--token", "t",
         "--seed", "3", *options],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        answer = _admin(url + "/_sandbox/faults", "POST", {})
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    assert answer == {
        **{name.replace("_", "-"): value for name, value in CHANGED.items()},
        "seed": 3,
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"latency": 5}, "unknown fault 'latency' (known: answer-delay-ms, error-share"),
        ({"error-share": "half"}, "fault 'error-share' must be float, got 'half'"),
        ({"not-configured": 1}, "fault 'not-configured' must be bool, got 1"),
        ({"error-status": True}, "fault 'error-status' must be int, got True"),
        ({"seed": "x"}, "seed must be a whole number, got 'x'"),
        ([], "faults must be a JSON object"),
    ],
)
def test_the_faults_endpoint_refuses_what_it_cannot_apply(body: object, error: str) -> None:
    with SandboxServer(token="dev-token") as server:
        status, answer = _admin_status(
            server.url + "/_sandbox/faults",
            {"latency-ms": 9, **body} if isinstance(body, dict) else body,
        )
        assert status == 400
        assert isinstance(answer, dict)
        assert str(answer["error"]).startswith(error), answer
        assert server.faults == Faults()  # nothing applied, not even the valid change


def _statuses(server: SandboxServer, count: int = 24) -> list[int]:
    statuses = []
    for i in range(count):
        request = urllib.request.Request(
            server.url + f"/organizations/o/roles/org-{i}",
            data=b'{"name": "A"}',
            method="PUT",
            headers={"Authorization": "Bearer dev-token"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            error.close()
    return statuses


def test_the_faults_endpoint_seeds_the_dice() -> None:
    with SandboxServer(token="dev-token", faults=Faults(error_share=0.5), seed=3) as seeded:
        expected = _statuses(seeded)
    assert {201, 502} <= set(expected)
    with SandboxServer(token="dev-token") as server:
        _admin(server.url + "/_sandbox/faults", "POST", {"error-share": 0.5, "seed": 3})
        assert _statuses(server) == expected


def test_outside_its_prefix_the_sandbox_answers_404() -> None:
    with SandboxServer(token="dev-token", prefix="/auth-api") as server:
        origin = server.url.removesuffix("/auth-api")
        role = "/organizations/org_1/roles/org-a"
        for path in (role, "/auth-apix" + role, "/other/auth-api" + role):
            status, error = _put(origin + path, {"name": "A"})
            assert (status, error["code"]) == (404, "40400000"), path
            assert error["message"] == f"No route for PUT {path}"
        server.set_faults(not_configured=True)  # faults are the service's: not here
        assert _put(origin + role, {"name": "A"})[0] == 404
        server.set_faults(not_configured=False)
        assert server.roles() == {}
        assert _put(server.url + role, {"name": "A"})[0] == 201
        # The admin endpoints answer with and without the prefix.
        for base in (origin, server.url):
            roles = _admin(base + "/_sandbox/roles")
            assert [r["slug"] for r in roles["roles"]] == ["org-a"]  # type: ignore[index]
        assert [r["path"] for r in server.requests()] == [
            role, "/auth-apix" + role, "/other/auth-api" + role, role, "/auth-api" + role
        ]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "prog"),
    [
        (["karmo-sandbox"], "karmo-sandbox"),
        ([sys.executable, "-m", "pulumi_karmo_roles.sandbox"],
         "python -m pulumi_karmo_roles.sandbox"),
    ],
    ids=["script", "module"],
)  # fmt: skip
def test_help_names_the_command_as_it_was_started(command: list[str], prog: str) -> None:
    if command[0] == "karmo-sandbox":
        script = Path(sys.executable).parent / "karmo-sandbox"
        assert script.exists(), "the project is installed with its karmo-sandbox command"
        command = [str(script)]
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.startswith(f"usage: {prog} [-h] [--host HOST]")
