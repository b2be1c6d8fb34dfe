"""Run one Pulumi command on every shard's stack at once, through the Automation API.

    python fanout.py up --shards 8                 # stacks shard-0 ... shard-7
    python fanout.py preview --stack shard-2 --stack shard-5
    python fanout.py up --shards 8 --concurrency 2 --logs /tmp/fanout
    python fanout.py destroy --shards 8

Each stack runs in a process of its own (the Automation API runs the program in the
process that calls it, and the Pulumi SDK holds one program per process), at most
``--concurrency`` at once. A line is printed as each stack starts and ends, then a table
of every stack; each stack's CLI output goes to ``--logs``. A failed stack never stops the
others; the exit status is 1 if any failed (2 for bad arguments).

``up`` runs in two phases so that an organization moved from one shard to another keeps
its permissions whatever order the stacks finish in (with ``clear_permissions_on_delete``
the old stack's delete clears the role's permissions in Karmo, also when the new stack has
just set them):

1. removals: each stack is previewed, then ``up --target`` applies its delete steps only;
2. everything: a full ``up`` of each stack. A stack that would create a role whose removal
   failed in phase 1 (in another stack) is held back, and counts as failed.

The backend and the passphrase come from the environment, as for ``pulumi``
(``PULUMI_BACKEND_URL``, ``PULUMI_CONFIG_PASSPHRASE``); the stacks' config from
``Pulumi.<stack>.yaml`` in the project directory (``--dir``, default this one).
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIONS = ("preview", "up", "destroy")
Role = tuple[str, str]  # (organization id, slug)


@dataclass
class Outcome:
    """What one worker process did to one stack."""

    stack: str
    step: str
    ok: bool
    seconds: float
    changes: dict[str, int] = field(default_factory=dict)
    creates: list[Role] = field(default_factory=list)
    error: str = ""
    holds: list[Role] | None = None


# --- the worker: one stack, in its own process --------------------------------------------


def _role(inputs: dict[str, Any] | None) -> Role | None:
    """The role a resource's inputs name, or None if they name none."""
    inputs = inputs or {}
    organization_id, slug = inputs.get("organization_id"), inputs.get("slug")
    if isinstance(organization_id, str) and isinstance(slug, str):
        return organization_id, slug
    return None


def _work(step: str, stack_name: str, project: Path, log: Path, result: dict[str, Any]) -> None:
    from pulumi import automation as auto
    from pulumi.automation.events import EngineEvent, OpType

    def program() -> None:
        sys.path.insert(0, str(project))
        runpy.run_path(str(project / "__main__.py"), run_name="__main__")

    os.chdir(project)  # the program reads its files relative to the project, as under pulumi
    with log.open("a") as out:

        def write(line: str) -> None:
            out.write(line + "\n")
            out.flush()

        # Select, never create: a stack without its config (its shard) must not run.
        stack = auto.select_stack(
            stack_name,
            project_name=_project_name(project),
            program=program,
            opts=auto.LocalWorkspaceOptions(work_dir=str(project)),
        )
        deletes: list[str] = []

        def collect(event: EngineEvent) -> None:
            pre = event.resource_pre_event
            if pre is None:
                return
            meta = pre.metadata
            if meta.op == OpType.DELETE:
                deletes.append(meta.urn)
            elif meta.op == OpType.CREATE:
                role = _role(getattr(meta.new, "inputs", None))
                if role:
                    result["creates"].append(role)

        write(f"--- {step} {stack_name}")
        if step == "preview":
            summary = stack.preview(on_output=write, on_event=collect, color="never")
            result["changes"] = {
                getattr(k, "value", str(k)): v for k, v in summary.change_summary.items()
            }
        elif step == "removals":
            stack.preview(on_output=write, on_event=collect, color="never")
            if deletes:
                write(f"--- up --target: {len(deletes)} removal(s)")
                up = stack.up(on_output=write, color="never", target=deletes)
                result["changes"] = dict(up.summary.resource_changes or {})
        elif step == "up":
            up = stack.up(on_output=write, color="never")
            result["changes"] = dict(up.summary.resource_changes or {})
        elif step == "destroy":
            down = stack.destroy(on_output=write, color="never")
            result["changes"] = dict(down.summary.resource_changes or {})


def _project_name(project: Path) -> str:
    for line in (project / "Pulumi.yaml").read_text().splitlines():
        if line.startswith("name:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"{project / 'Pulumi.yaml'}: no name")


def _roles_in_state(stack_name: str, project: Path) -> list[Role] | None:
    """Every role the stack's state holds (read without running the program), or None if
    the state cannot be read."""
    from pulumi import automation as auto

    try:
        stack = auto.select_stack(
            stack_name,
            project_name=_project_name(project),
            program=lambda: None,
            opts=auto.LocalWorkspaceOptions(work_dir=str(project)),
        )
        resources = (stack.export_stack().deployment or {}).get("resources", [])
    except Exception:  # the state is unreadable: the parent assumes the worst
        return None
    return [role for resource in resources if (role := _role(resource.get("inputs")))]


def _worker(argv: list[str]) -> int:
    step, stack_name, project, log = argv
    result: dict[str, Any] = {
        "ok": True,
        "changes": {},
        "creates": [],
    }
    try:
        _work(step, stack_name, Path(project), Path(log), result)
    except Exception as exc:  # reported to the parent, whatever it is
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        result["ok"] = False
        result["error"] = ((errors or lines or [type(exc).__name__])[0])[:300]
        if step == "removals":
            result["holds"] = _roles_in_state(stack_name, Path(project))
    print("FANOUT-RESULT " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


# --- the parent: processes, phases, progress, summary --------------------------------------


def _run_one(step: str, stack: str, project: Path, logs: Path) -> Outcome:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "_worker",
            step,
            stack,
            str(project),
            str(logs / f"{stack}.log"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("FANOUT-RESULT "):
            data = json.loads(line.removeprefix("FANOUT-RESULT "))
            return Outcome(
                stack,
                step,
                data["ok"],
                seconds,
                data.get("changes", {}),
                [(r[0], r[1]) for r in data.get("creates", [])],
                data.get("error", ""),
                None if data.get("holds") is None else [(r[0], r[1]) for r in data["holds"]],
            )
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return Outcome(stack, step, False, seconds, error=f"worker exit {done.returncode}: {tail}")


def _fan(
    step: str,
    stacks: list[str],
    concurrency: int,
    run: Callable[[str], Outcome],
) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    total = len(stacks)

    def one(stack: str) -> Outcome:
        print(f"[{step}] {stack}: started", flush=True)
        outcome = run(stack)
        outcomes[stack] = outcome
        changes = ", ".join(f"{v} {k}" for k, v in sorted(outcome.changes.items())) or "-"
        status = "ok" if outcome.ok else f"FAILED: {outcome.error}"
        print(
            f"[{step}] {stack}: {status} ({changes}) in {outcome.seconds:.1f} s "
            f"[{len(outcomes)}/{total}]",
            flush=True,
        )
        return outcome

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, stacks))
    return outcomes


def _held_back(removals: dict[str, Outcome]) -> dict[str, str]:
    """Stacks whose additions must wait: they would create a role that a stack whose
    removals failed still holds (its later delete would clear the permissions they set)."""
    pending: dict[Role, str] = {}
    unreadable = []
    for stack, outcome in removals.items():
        if not outcome.ok:
            if outcome.holds is None:
                unreadable.append(stack)
            pending.update({role: stack for role in outcome.holds or ()})
    held: dict[str, str] = {}
    for stack, outcome in removals.items():
        others = [name for name in unreadable if name != stack]
        if outcome.creates and others:
            held[stack] = (
                f"held back: it would create roles, and the state of {', '.join(others)} "
                "could not be read to tell which roles they hold; fix them and run again"
            )
            continue
        for role in outcome.creates:
            other = pending.get(role)
            if other is not None and other != stack:
                held[stack] = (
                    f"held back: it would create {role[1]} in {role[0]}, which {other} "
                    f"still holds and failed to remove; fix {other} and run again"
                )
                break
    return held


def _table(rows: Iterable[Outcome]) -> None:
    print()
    print("| stack | step | result | changes | seconds |")
    print("| --- | --- | --- | --- | ---: |")
    for o in rows:
        changes = ", ".join(f"{v} {k}" for k, v in sorted(o.changes.items())) or "-"
        result = "ok" if o.ok else f"FAILED: {o.error}"
        print(f"| {o.stack} | {o.step} | {result} | {changes} | {o.seconds:.1f} |")


def main(argv: list[str]) -> int:
    """Parse the arguments, fan out, print the summary; the exit status."""
    if argv[:1] == ["_worker"]:
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("action", choices=ACTIONS)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--shards", type=int, help="run stacks shard-0 ... shard-(N-1)")
    group.add_argument("--stack", action="append", help="a stack to run (repeatable)")
    parser.add_argument("--concurrency", type=int, default=4, help="stacks at once (4)")
    parser.add_argument("--dir", type=Path, default=Path(__file__).parent, help="the project")
    parser.add_argument("--logs", type=Path, help="each stack's CLI output (a temp dir)")
    args = parser.parse_args(argv)
    if args.shards is not None and args.shards < 1:
        parser.error("--shards must be at least 1")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    stacks = args.stack or [f"shard-{i}" for i in range(args.shards)]
    project = args.dir.resolve()
    logs = (args.logs or Path(tempfile.mkdtemp(prefix="fanout-logs-"))).resolve()
    logs.mkdir(parents=True, exist_ok=True)
    print(f"{args.action} of {len(stacks)} stacks, {args.concurrency} at once; logs in {logs}")

    def step(name: str) -> Callable[[str], Outcome]:
        return lambda stack: _run_one(name, stack, project, logs)

    rows: list[Outcome] = []
    if args.action == "up":
        removals = _fan("removals", stacks, args.concurrency, step("removals"))
        rows += [removals[s] for s in stacks]
        held = _held_back(removals)
        ready = [s for s in stacks if s not in held]
        applied = _fan("up", ready, args.concurrency, step("up")) if ready else {}
        for stack in stacks:
            if stack in held:
                print(f"[up] {stack}: {held[stack]}", flush=True)
                rows.append(Outcome(stack, "up", False, 0.0, error=held[stack]))
            else:
                rows.append(applied[stack])
    else:
        done = _fan(args.action, stacks, args.concurrency, step(args.action))
        rows += [done[s] for s in stacks]
    _table(rows)
    failed = sorted({o.stack for o in rows if not o.ok})
    print(
        f"\n{len(stacks) - len(failed)} of {len(stacks)} stacks ok"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
