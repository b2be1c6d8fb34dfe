"""Mocks for programs under ``pulumi.runtime.set_mocks`` that register each role through
the real provider's ``check`` (and ``read`` for ``.get()``), so a program that would fail
its preview fails under test too; they record every registration. :func:`run` runs a
program in a fresh mocked runtime."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import deserialize_properties, is_rpc_secret, unwrap_rpc_secret
from pulumi.runtime.settings import reset_options

from pulumi_karmo_roles._claims import ROLE_TYPE
from pulumi_karmo_roles.provider import OrganizationRoleProvider


class CheckingMocks(pulumi.runtime.Mocks):
    """Roles pass through the provider's check/read; other resources (components) are
    accepted as declared. ``registered`` keeps every registration in order."""

    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []
        self.provider = OrganizationRoleProvider()

    def role_id(self, outputs: dict[str, Any]) -> str:
        """The ``role_id`` Karmo would return for a role with these outputs."""
        return f"role_{outputs['organization_id']}_{outputs['slug']}"

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.registered.append(args)
        if args.typ != ROLE_TYPE:
            return None, {}
        inputs = {
            k: unwrap_rpc_secret(v) if is_rpc_secret(v) else v
            for k, v in args.inputs.items()
            if k != "__provider"
        }
        if args.resource_id:
            result = self.provider.read(args.resource_id, inputs)
            return result.id, dict(result.outs or {})
        checked = self.provider.check({}, inputs)
        if checked.failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        outs = checked.inputs
        return f"{outs['organization_id']}/{outs['slug']}", {**outs, "role_id": self.role_id(outs)}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class Recorder(CheckingMocks):
    """Also keeps what each component registered as its outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: dict[str, dict[str, Any]] = {}  # URN -> registered outputs

    def roles(self) -> dict[str, dict[str, Any]]:
        """Registered roles by resource name: their inputs, without the provider."""
        return {
            r.name: {k: v for k, v in r.inputs.items() if k != "__provider"}
            for r in self.registered
            if r.typ == ROLE_TYPE
        }


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, keeping what components pass to ``register_outputs``."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder)
        self.recorder = recorder

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = deserialize_properties(request.outputs)
        self.recorder.outputs[request.urn] = outputs
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def _quiet_about_failed_programs(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A program that fails (on purpose, in the duplicate tests) leaves futures holding its
    # exception and tasks pending; their destructors report them, whenever the garbage
    # collector runs. Formatting that report parses source, and Python 3.11 fails an AST
    # parse interrupted by another (a collection during one of pytest's later imports).
    # The tests assert those exceptions themselves; anything else is reported as usual.
    if context.get("message") in (
        "Future exception was never retrieved",
        "Task exception was never retrieved",
        "Task was destroyed but it is pending!",
    ):
        return
    loop.default_exception_handler(context)


def program_test(test: Callable[..., Any]) -> Callable[..., Any]:
    """``pulumi.runtime.test`` (the SDK's decorator for tests of programs under mocks:
    it waits for every registration and every Output the test returns), typed."""
    wrapped: Callable[..., Any] = pulumi.runtime.test(test)  # type: ignore[no-untyped-call]
    return wrapped


@contextmanager
def runtime(
    *, preview: bool = False, config: dict[str, Any] | None = None, project: str = "p"
) -> Iterator[Recorder]:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_about_failed_programs)
    asyncio.set_event_loop(loop)
    recorder = Recorder()
    pulumi.runtime.set_mocks(
        recorder, project=project, stack="dev", preview=preview, monitor=RecordingMonitor(recorder)
    )
    # A key with a namespace ("karmo:accessProvider") is the provider's; others the project's.
    stack_config = {
        k if ":" in k else f"{project}:{k}": v if isinstance(v, str) else json.dumps(v)
        for k, v in (config or {}).items()
    }
    pulumi.runtime.set_all_config(stack_config)
    # The engine configures the provider with the stack config, so the mocks' does too.
    recorder.provider.configure(ConfigureRequest(Config(stack_config, project)))
    try:
        yield recorder
    finally:
        pulumi.runtime.set_all_config({})
        reset_options()
        # A failed program leaves tasks that never ran; cancelled and run to their end
        # here, their coroutines are not reported "never awaited" during a later test.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()


def run(program: Callable[[], Any], **options: Any) -> Recorder:
    """Run ``program`` as a Pulumi program in a fresh mocked runtime; wait for every
    registration (and the Output it returns, if any)."""
    with runtime(**options) as recorder:

        @program_test
        def body() -> Any:
            return program()

        body()
    return recorder
