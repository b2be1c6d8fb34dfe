"""Drive the provider the way the Pulumi engine does: start ``python -m pulumi.dynamic``,
read the port it prints, and call its gRPC ``ResourceProvider`` service with the provider
serialized under ``__provider`` (as ``pulumi up`` does, minus the CLI)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from pulumi_karmo_roles.provider import OrganizationRoleProvider

ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
UNKNOWN = rpc.UNKNOWN
"""The wire value the engine sends for a value unknown during preview."""


class EngineError(Exception):
    """An operation failed in the provider process; ``details`` is what the CLI prints."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details

    @property
    def message(self) -> str:
        """The last line of the traceback: the exception the user reads."""
        return self.details.strip().splitlines()[-1]


@dataclass
class Diff:
    changes: str
    replaces: list[str]
    delete_before_replace: bool


def _serialize(props: dict[str, Any]) -> Any:
    return asyncio.run(rpc.serialize_properties(props, {}))


def _deserialize(struct: Any) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


class ProviderProcess:
    """One ``python -m pulumi.dynamic`` process and a gRPC stub to it."""

    def __init__(
        self, env: dict[str, str] | None = None, provider: ResourceProvider | None = None
    ) -> None:
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("KARMO_")}
        child_env.update(env or {})
        self.provider = serialize_provider(provider or OrganizationRoleProvider())
        self._stderr = tempfile.NamedTemporaryFile(prefix="dynamic-stderr-", delete=False)  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,  # a file, so a chatty provider never blocks on a pipe
            env=child_env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"pulumi.dynamic did not print a port: {line!r}\n{self.stderr()}")
        self.port = int(line)
        self.pid = self._proc.pid
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def __enter__(self) -> ProviderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def urn(self, name: str = "role") -> str:
        return f"urn:pulumi:dev::karmo-test::{ROLE_TYPE}::{name}"

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=60)
        except grpc.RpcError as exc:
            raise EngineError(exc.details() or str(exc)) from None

    def create_request(self, props: dict[str, Any], name: str = "role") -> Any:
        """A ready ``CreateRequest``, for callers that time the call alone."""
        return proto.CreateRequest(
            urn=self.urn(name), properties=_serialize(self._with_provider(props))
        )

    def _with_provider(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**props, "__provider": self.provider}

    def configure(self, config: dict[str, str]) -> None:
        """Send the stack config, as the engine does once per provider process."""
        self._call(
            "Configure",
            proto.ConfigureRequest(
                variables=config, args=_serialize(dict(config)), acceptSecrets=True
            ),
        )

    def check(
        self, news: dict[str, Any], olds: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        response = self._call(
            "Check",
            proto.CheckRequest(
                urn=self.urn(),
                olds=_serialize(self._with_provider(olds or {})),
                news=_serialize(self._with_provider(news)),
            ),
        )
        inputs = _deserialize(response.inputs)
        inputs.pop("__provider", None)
        return inputs, [(f.property, f.reason) for f in response.failures]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Diff:
        response = self._call(
            "Diff",
            proto.DiffRequest(
                id=id_,
                urn=self.urn(),
                olds=_serialize(self._with_provider(olds)),
                news=_serialize(self._with_provider(news)),
            ),
        )
        return Diff(
            changes=proto.DiffResponse.DiffChanges.Name(response.changes),
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call("Create", self.create_request(props))
        outs = _deserialize(response.properties)
        return response.id, outs

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        response = self._call(
            "Update",
            proto.UpdateRequest(
                id=id_,
                urn=self.urn(),
                olds=_serialize(self._with_provider(olds)),
                news=_serialize(self._with_provider(news)),
            ),
        )
        return _deserialize(response.properties)

    def read(
        self,
        id_: str,
        properties: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Refresh passes prior outputs as ``properties``; ``.get()`` passes only inputs."""
        request = proto.ReadRequest(id=id_, urn=self.urn())
        if properties is not None:
            request.properties.CopyFrom(_serialize(self._with_provider(properties)))
        if inputs is not None:
            request.inputs.CopyFrom(_serialize(self._with_provider(inputs)))
        response = self._call("Read", request)
        return response.id, _deserialize(response.properties)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._call(
            "Delete",
            proto.DeleteRequest(
                id=id_, urn=self.urn(), properties=_serialize(self._with_provider(props))
            ),
        )

    def stderr(self) -> str:
        return Path(self._stderr.name).read_text(errors="replace")

    def close(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        self._proc.kill()
        self._proc.wait(timeout=10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()
        os.unlink(self._stderr.name)
