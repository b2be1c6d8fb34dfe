"""Baselines for the benchmark, run in the provider process like the real provider.

``NaiveProvider`` is what most hand-written dynamic providers do: a new HTTP client
(and so a new TLS context, connection and handshake) for every operation.
``NoopProvider`` does nothing: its cost is the ``pulumi.dynamic`` server's own share.
``SleepProvider`` only waits as long as a request to Karmo takes (``bench:latencyMs``):
the best any provider could do through the same server and engine.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from pulumi.dynamic import ConfigureRequest, CreateResult, ResourceProvider


def _created(props: dict[str, Any], role_id: str) -> CreateResult:
    return CreateResult(
        f"{props['organization_id']}/{props['slug']}", {**props, "role_id": role_id}
    )


class NaiveProvider(ResourceProvider):
    """Upserts a role with a fresh ``httpx.Client`` per create."""

    def configure(self, req: ConfigureRequest) -> None:
        self.url = str(req.config.get("karmo:apiUrl"))
        self.token = str(req.config.get("karmo:token"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        with httpx.Client(timeout=30) as client:
            answer = client.put(
                f"{self.url}/organizations/{props['organization_id']}/roles/{props['slug']}",
                json={"name": props["name"]},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            answer.raise_for_status()
            role_id = answer.json()["id"]
        return _created(props, role_id)


class NoopProvider(ResourceProvider):
    """Returns at once: what remains is the dynamic provider server's own work."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return _created(props, "r")


__all__ = ["NaiveProvider", "NoopProvider", "SleepProvider"]


class SleepProvider(ResourceProvider):
    """Waits the network latency and returns: an ideal provider with free HTTP."""

    def configure(self, req: ConfigureRequest) -> None:
        self.latency = float(req.config.get("bench:latencyMs") or 0) / 1000

    def create(self, props: dict[str, Any]) -> CreateResult:
        time.sleep(self.latency)
        return _created(props, "r")
