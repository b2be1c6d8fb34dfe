"""What the real Pulumi engine costs as the program grows: ``pulumi up`` of N roles against
the sandbox (latency L per request), beside the same program over a do-nothing dynamic
resource, alternating, in the same run, for each N.

    python benchmarks/engine.py                        # N = 200, 1000, 2000: most of an hour
    python benchmarks/engine.py --n 50 200 --runs 3    # quicker; medians of 3
    python benchmarks/engine.py --n 1000 --engine-env PULUMI_SKIP_CHECKPOINTS=true
    python benchmarks/engine.py --n 1000 --parallel 32 --programs noop
    python benchmarks/engine.py --n 500 --profile /tmp/prof  # the engine's Go profiles
    python benchmarks/engine.py --n 1000 --programs noop sleep roles roleset
    python benchmarks/engine.py --n 1000 --shards 4 --backend s3 --checkpoints both
    python benchmarks/engine.py --quick --shards 2 --backend s3   # seconds; nothing timed

``--backend s3`` keeps every stack's state in a bucket of moto's S3 server on 127.0.0.1
(``moto[server]``, in the test extra) instead of a local directory. ``--shards K`` compares,
for each N, one stack of N roles (N/10 organizations x 10 roles) with the same roles split
by ``shard_of`` over K stacks: the K run at once (wall until the last ends, what one
machine running the fan-out pays), then the largest shard alone on a fresh stack (what
each job of a CI matrix pays); ``--checkpoints`` runs that with the engine's checkpoints
(``on``), with ``PULUMI_SKIP_CHECKPOINTS=true`` (``skip``), or ``both``. It prints its own
table and checks the issue's target: the largest shard alone takes at most 1/K of the
one stack.

Programs (``--programs``): ``noop``, a dynamic resource whose provider returns at once
(benchmarks/providers.py); ``roles``, N ``OrganizationRole``; and two more to compare
with: ``sleep``, a dynamic resource whose provider only waits L (the do-nothing resource
plus the network's wait, none of our code), and ``roleset``, one ``OrganizationRoleSet``
of N/10 organizations x 10 roles.

Needs ``pulumi`` on PATH or Go to build it (scripts/pulumi-cli.sh). Each ``pulumi up`` is
a new stack on a local file backend, run like a user would (``pulumi up --yes
--skip-preview``) through scripts/pulumi_inline.py, which hosts the program in its own
Python process. Three processes do the work: the *program* (that runner: the program and
the Python SDK), the *engine* (the ``pulumi`` Go binary: steps, state, checkpoints) and
the *provider* (``python -m pulumi.dynamic``, started by the engine through the
``pulumi-resource-pulumi-python`` shim: our provider or the do-nothing one).
``--engine-env``, ``--parallel`` and ``--up-arg`` change the engine's settings for every
program of the run; ``--profile`` has the CLI write its Go CPU and memory profiles
(``go tool pprof -top pulumi FILE.cpu``).

How each figure is measured:

* **wall**: from starting the command to its exit (engine start, program, N creates,
  every checkpoint, the last state write). **per resource** is wall / N.
* **peak memory**: a thread samples ``/proc`` every 0.1 s for the runner and all its
  descendants (re-scanning parent links, so a process re-parented when the engine kills
  the shim is still followed) and keeps, per process, the last ``VmHWM`` it read: the
  kernel's own high-water mark of that process's resident set, so a sample only has to
  see the process once after its peak; what can be missed is growth in the last 0.1 s
  of a process's life. A process's role comes from its command line. (``wait4``
  rusage cannot be used: Linux folds every waited-for descendant into ``ru_maxrss``.)
* **CPU**: user + system seconds per process (``/proc/PID/stat``), from the same
  samples; the last 0.1 s of a process may be missed.
* **state**: bytes of ``pulumi stack export`` after the up, and per resource. The
  serialized provider (``__provider``, a secret, so read from ``stack export
  --show-secrets``) is measured per resource in characters.

The targets (docs/performance.md) are checked at the end: at N = 1,000 and 2,000 ours takes at most
1.10 x the do-nothing resource's wall time (same run), our serialized provider is at most
120 characters per resource, and every up succeeded (no ``RecursionError``, every role
created once). The exit status is 1 if an up failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pulumi_karmo_roles.sandbox import Faults, SandboxServer  # noqa: E402
from tests.support.cli import UP, Project, Run, cli_environment, pulumi_bin  # noqa: E402

TOKEN = "bench-token"
ORGANIZATIONS = 10
"""How many organizations the roles of ``roles`` and ``noop`` are spread over."""
ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
NOOP_TYPE = "pulumi-python:dynamic/bench:Noop"

ROLES = """
from pulumi_karmo_roles import OrganizationRole
for i in range({n}):
    OrganizationRole(f"role-{{i}}", organization_id=f"org_{{i % {orgs}}}", slug=f"org-role-{{i}}",
                     name=f"Role {{i}}")
"""

NOOP = """
import pulumi.dynamic
from providers import NoopProvider

class Noop(pulumi.dynamic.Resource, module="bench", name="Noop"):
    def __init__(self, name: str, props: dict) -> None:
        super().__init__(NoopProvider(), name, {{**props, "role_id": None}})

for i in range({n}):
    Noop(f"role-{{i}}", {{"organization_id": f"org_{{i % {orgs}}}", "slug": f"org-role-{{i}}",
                        "name": f"Role {{i}}"}})
"""

ROLE_SET = """
from pulumi_karmo_roles import OrganizationRoleSet
OrganizationRoleSet(
    "tenants",
    organization_ids=[f"org_{{i}}" for i in range({n} // 10)],
    catalog={{f"org-role-{{j}}": {{"name": f"Role {{j}}"}} for j in range(10)}},
)
"""

SHARDED = """
from pulumi_karmo_roles import OrganizationRole, shard_of
for i in range({n}):
    organization = f"org_{{i // 10}}"
    if shard_of(organization, {shards}) == {shard}:
        OrganizationRole(f"role-{{i}}", organization_id=organization,
                         slug=f"org-role-{{i % 10}}", name=f"Role {{i}}")
"""

SLEEP = NOOP.replace("NoopProvider", "SleepProvider").replace('"Noop"', '"Sleep"')

PROGRAMS = {
    "noop": ("do-nothing dynamic resource", NOOP, NOOP_TYPE),
    "sleep": ("sleep-L dynamic resource", SLEEP, "pulumi-python:dynamic/bench:Sleep"),
    "roles": ("OrganizationRole", ROLES, ROLE_TYPE),
    "roleset": ("OrganizationRoleSet, N/10 organizations x 10", ROLE_SET, ROLE_TYPE),
}
TARGET_RATIO = 1.10
TARGET_RATIO_AT = (1000, 2000)
TARGET_PROVIDER_CHARS = 120
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as file:
            return file.read().decode(errors="replace")
    except OSError:  # the process is gone
        return None


@dataclass
class _Seen:
    role: str | None = None
    peak_kb: int = 0
    cpu_s: float = 0.0


@dataclass
class Watch:
    """Samples the processes of one ``pulumi up`` (see the module docstring)."""

    root: int
    interval: float = 0.1
    seen: dict[int, _Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watch", daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def _role(self, pid: int) -> str | None:
        if pid == self.root:
            return "program"
        args = (_read(f"/proc/{pid}/cmdline") or "").split("\0")
        if "pulumi.dynamic" in args:
            return "provider"
        if Path(args[0]).name == "pulumi":
            return "engine"
        return None  # the shim's shell, or a process between fork and exec

    def sample(self) -> None:
        """Read every process of the tree once."""
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _read(f"/proc/{entry.name}/stat")
                if stat is not None:
                    parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        tree = {self.root} | set(self.seen)
        grew = True
        while grew:
            children = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= children
            grew = bool(children)
        for pid in tree:
            status = _read(f"/proc/{pid}/status")
            stat = _read(f"/proc/{pid}/stat")
            if status is None or stat is None:
                continue
            seen = self.seen.setdefault(pid, _Seen())
            if seen.role is None:
                seen.role = self._role(pid)
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    seen.peak_kb = max(seen.peak_kb, int(line.split()[1]))
            fields = stat.rsplit(")", 1)[1].split()
            seen.cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def peak_mib(self, role: str) -> float:
        """The largest peak resident set of the processes in ``role``, in MiB."""
        return max((s.peak_kb for s in self.seen.values() if s.role == role), default=0) / 1024

    def cpu(self, role: str) -> float:
        """CPU seconds of the processes in ``role``."""
        return sum(s.cpu_s for s in self.seen.values() if s.role == role)


@dataclass
class Result:
    """One ``pulumi up`` and what it cost."""

    kind: str
    n: int
    ok: bool
    wall: float
    peak: dict[str, float]
    cpu: dict[str, float]
    state_bytes: int = 0
    provider_chars: int = 0
    failure: str = ""


def new_stack(
    work: Path,
    tag: str,
    program: str,
    bin_dir: Path,
    sandbox: SandboxServer,
    args: argparse.Namespace,
    engine_env: dict[str, str] | None = None,
) -> Project:
    """A project with ``program`` and a new stack on state of its own (a directory, or a
    new bucket with ``--backend s3``), set up for the sandbox; ``engine_env`` on top of
    ``--engine-env``."""
    state = work / f"state-{tag}"
    state.mkdir()
    env = cli_environment(bin_dir, state, work / "home")
    if args.s3 is not None:
        env.update(args.s3.environment(args.s3.new_bucket(), work))
    # The do-nothing provider is imported by the provider process from benchmarks/.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "benchmarks"), env.get("PYTHONPATH")])
    )
    env.update(args.engine_env)
    env.update(engine_env or {})
    project = Project(work / f"project-{tag}", env, secret=TOKEN)
    project.write_program(program)
    project.pulumi("stack", "init", "dev", "--non-interactive")
    project.pulumi("config", "set", "karmo:apiUrl", sandbox.url)
    project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
    return project


def up_args(args: argparse.Namespace) -> list[str]:
    """The arguments of every measured ``pulumi up``: ``--parallel`` and ``--up-arg``
    on top of the defaults."""
    parallel = [] if args.parallel is None else ["--parallel", str(args.parallel)]
    return [*UP, *parallel, *args.up_arg]


def timed_up(
    work: Path,
    tag: str,
    kind: str,
    n: int,
    bin_dir: Path,
    sandbox: SandboxServer,
    args: argparse.Namespace,
) -> Result:
    """One ``pulumi up`` of ``kind`` with ``n`` resources on a new stack, measured."""
    _, source, type_ = PROGRAMS[kind]
    project = new_stack(work, tag, source.format(n=n, orgs=ORGANIZATIONS), bin_dir, sandbox, args)
    project.pulumi("config", "set", "bench:latencyMs", f"{args.latency_ms:g}")
    extra = up_args(args)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        extra += ["--profiling", str(args.profile.resolve() / tag)]
    sandbox.reset()
    sandbox.set_faults(latency_ms=args.latency_ms)
    started = time.perf_counter()
    process = subprocess.Popen(
        project.command(*extra),
        cwd=project.directory,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with Watch(process.pid) as watch:
        stdout, stderr = process.communicate()
        wall = time.perf_counter() - started
    run = project.check_output(Run(tuple(extra), process.returncode, stdout, stderr), ok=False)
    roles = ("program", "engine", "provider")
    result = Result(
        kind,
        n,
        run.returncode == 0,
        wall,
        {role: watch.peak_mib(role) for role in roles},
        {role: watch.cpu(role) for role in roles},
    )
    created = sandbox.stats().get("created", 0)
    if not result.ok or (type_ == ROLE_TYPE and created != n):
        result.ok = False
        lines = [line.strip() for line in run.output.splitlines() if line.strip()]
        errors = [line for line in lines if "Error" in line or "error:" in line]
        recursion = [line for line in errors if "RecursionError" in line]
        detail = (recursion or errors or lines or ["no output"])[-1][:300]
        result.failure = f"exit {run.returncode}, {created} created: {detail}"
        return result
    result.state_bytes = len(project.pulumi("stack", "export").stdout.encode())
    # The plaintext of the secret ``__provider``; the export holds the token too, so it is
    # read here and never printed (``Project.pulumi`` would refuse it).
    shown = subprocess.run(
        project.command("stack", "export", "--show-secrets"),
        cwd=project.directory,
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )
    plain = json.loads(shown.stdout)
    result.provider_chars = max(
        len(_plaintext(r["inputs"]["__provider"]))
        for r in plain["deployment"]["resources"]
        if r["type"] == type_
    )
    return result


def _plaintext(value: Any) -> str:
    # A secret in an export shown with --show-secrets: {SIG: ..., "plaintext": JSON}.
    if isinstance(value, dict):
        return str(json.loads(value["plaintext"]))
    return str(value)


def _median(results: list[Result], attribute: str, key: str | None = None) -> float:
    values: list[float] = []
    for result in results:
        value: Any = getattr(result, attribute)
        values.append(value[key] if key is not None else value)
    return statistics.median(values)


def _done(results: list[Result], kind: str, n: int) -> list[Result]:
    return [r for r in results if r.kind == kind and r.n == n and r.ok]


def _cost_table(results: list[Result], args: argparse.Namespace) -> dict[tuple[str, int], float]:
    """Print wall, memory and state per N and program; return the median walls."""
    print(
        "| N | program | `pulumi up` wall | per resource | / do-nothing "
        "| peak RSS program | peak RSS provider | peak RSS engine | state | state per resource |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    walls: dict[tuple[str, int], float] = {}
    for n in args.n:
        for kind in args.programs:
            done, label = _done(results, kind, n), PROGRAMS[kind][0]
            if not done:
                print(f"| {n} | {label} | failed | | | | | | | |")
                continue
            wall = walls[kind, n] = _median(done, "wall")
            share = f"{wall / walls['noop', n]:.2f}" if ("noop", n) in walls else ""
            state = _median(done, "state_bytes")
            print(
                f"| {n} | {label} | {wall:.2f} s | {wall / n * 1000:.1f} ms | {share} "
                f"| {_median(done, 'peak', 'program'):.0f} MiB "
                f"| {_median(done, 'peak', 'provider'):.0f} MiB "
                f"| {_median(done, 'peak', 'engine'):.0f} MiB "
                f"| {state / 1e6:.2f} MB | {state / n:,.0f} B |"
            )
    return walls


def _cpu_table(results: list[Result], args: argparse.Namespace) -> None:
    print("| N | program | CPU engine | CPU program | CPU provider | serialized provider |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for n in args.n:
        for kind in args.programs:
            done = _done(results, kind, n)
            if done:
                print(
                    f"| {n} | {PROGRAMS[kind][0]} "
                    f"| {_median(done, 'cpu', 'engine'):.1f} s "
                    f"| {_median(done, 'cpu', 'program'):.1f} s "
                    f"| {_median(done, 'cpu', 'provider'):.1f} s "
                    f"| {max(r.provider_chars for r in done)} chars |"
                )


def _growth(walls: dict[tuple[str, int], float], args: argparse.Namespace) -> None:
    for kind in args.programs:
        sizes = [n for n in args.n if (kind, n) in walls]
        if len(sizes) > 1:
            first, last = sizes[0], sizes[-1]
            growth = (walls[kind, last] / last) / (walls[kind, first] / first)
            print(
                f"per-resource time of {PROGRAMS[kind][0]}, N={first} to N={last} "
                f"(x{last / first:g} resources): x{growth:.2f}"
            )
    extra = [
        f"N={n}: {(walls['roles', n] - walls['noop', n]) / n * 1000:+.2f} ms"
        for n in args.n
        if ("roles", n) in walls and ("noop", n) in walls
    ]
    if extra:
        print("ours minus do-nothing, per resource: " + ", ".join(extra))


def _targets(
    results: list[Result], walls: dict[tuple[str, int], float], args: argparse.Namespace
) -> None:
    print("Targets:")
    if "roles" in args.programs and "noop" in args.programs:
        for n in TARGET_RATIO_AT:
            target = f"- ours <= {TARGET_RATIO:.2f} x do-nothing at N={n}:"
            if n not in args.n:
                print(f"{target} not run")
            elif ("roles", n) in walls and ("noop", n) in walls:
                ratio = walls["roles", n] / walls["noop", n]
                print(f"{target} {ratio:.2f}, {'met' if ratio <= TARGET_RATIO else 'MISSED'}")
            else:
                print(f"{target} FAILED (an up failed)")
    chars = [r.provider_chars for r in results if PROGRAMS[r.kind][2] == ROLE_TYPE and r.ok]
    if chars:
        verdict = "met" if max(chars) <= TARGET_PROVIDER_CHARS else "MISSED"
        print(
            f"- serialized provider <= {TARGET_PROVIDER_CHARS} characters per resource: "
            f"{max(chars)}, {verdict}"
        )
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"- every up succeeded, no RecursionError: FAILED ({len(failed)} failed)")
        for result in failed:
            print(f"  - {PROGRAMS[result.kind][0]}, N={result.n}: {result.failure}")
    else:
        print(f"- every up succeeded, no RecursionError: met ({len(results)} ups)")


def report(results: list[Result], args: argparse.Namespace, header: str) -> bool:
    """Print the tables and the targets (Markdown); True if every up succeeded."""
    print(header)
    print()
    walls = _cost_table(results, args)
    print()
    _cpu_table(results, args)
    print()
    _growth(walls, args)
    print()
    _targets(results, walls, args)
    return all(r.ok for r in results)


@dataclass
class ShardRun:
    """One N split over K shards, with the engine settings of one variant."""

    n: int
    shards: int
    checkpoints: str
    one_stack: float = 0.0
    at_once: float = 0.0
    largest_alone: float = 0.0
    largest: int = 0
    failure: str = ""


def _ups_at_once(projects: list[Project], args: argparse.Namespace) -> tuple[float, str]:
    """Start ``pulumi up`` of every project at once; the wall until the last ends, and the
    first failure's last line ("" if none)."""
    extra = up_args(args)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            p.command(*extra),
            cwd=p.directory,
            env=p.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for p in projects
    ]
    outputs = [process.communicate()[0] for process in processes]
    wall = time.perf_counter() - started
    for project, process, output in zip(projects, processes, outputs, strict=True):
        project.check_output(Run(tuple(extra), process.returncode, output, ""), ok=False)
        if process.returncode != 0:
            lines = [line.strip() for line in output.splitlines() if "error" in line.lower()]
            return wall, (lines or [f"exit {process.returncode}"])[-1][:300]
    return wall, ""


def _stage(
    label: str,
    parts: list[tuple[int, int]],
    expected: int,
    run: ShardRun,
    work: Path,
    bin_dir: Path,
    sandbox: SandboxServer,
    args: argparse.Namespace,
) -> tuple[float, str]:
    """``pulumi up`` of each (shards, shard) of ``parts`` at once, on fresh stacks."""
    engine_env = {"PULUMI_SKIP_CHECKPOINTS": "true"} if run.checkpoints == "skip" else {}
    projects = [
        new_stack(
            work,
            f"{label}-{run.n}-{run.checkpoints}-{shard}",
            SHARDED.format(n=run.n, shards=shards, shard=shard),
            bin_dir,
            sandbox,
            args,
            engine_env,
        )
        for shards, shard in parts
    ]
    sandbox.reset()
    sandbox.set_faults(latency_ms=args.latency_ms)
    wall, failure = _ups_at_once(projects, args)
    created = sandbox.stats().get("created", 0)
    if not failure and created != expected:
        failure = f"{created} roles created of {expected}"
    print(
        f"{label} N={run.n} K={run.shards} checkpoints {run.checkpoints}: {wall:.2f} s"
        f"{' FAILED ' + failure if failure else ''}",
        file=sys.stderr,
        flush=True,
    )
    return wall, failure


def shard_comparison(
    work: Path, bin_dir: Path, sandbox: SandboxServer, args: argparse.Namespace
) -> list[ShardRun]:
    """For each N and checkpoint variant: one stack, K at once, the largest shard alone."""
    from pulumi_karmo_roles import shard_of

    chosen = ["on", "skip"] if args.checkpoints == "both" else [args.checkpoints]
    runs: list[ShardRun] = []
    k = args.shards
    for n in args.n:
        sizes = [0] * k
        for i in range(n):
            sizes[shard_of(f"org_{i // 10}", k)] += 1
        largest = max(range(k), key=lambda shard: sizes[shard])
        for variant in chosen:
            run = ShardRun(n, k, variant, largest=sizes[largest])
            runs.append(run)
            common = (run, work, bin_dir, sandbox, args)
            run.one_stack, one = _stage("one", [(1, 0)], n, *common)
            run.at_once, many = _stage("at-once", [(k, s) for s in range(k)], n, *common)
            run.largest_alone, alone = _stage("alone", [(k, largest)], sizes[largest], *common)
            run.failure = one or many or alone
    return runs


def shard_report(runs: list[ShardRun], header: str) -> bool:
    """Print the shard table (Markdown) and the target; True if every up succeeded."""
    print(header)
    print()
    print(
        "| N | K | checkpoints | one stack | K at once | largest shard alone (roles) "
        "| one stack / largest alone |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in runs:
        if r.failure:
            print(f"| {r.n} | {r.shards} | {r.checkpoints} | FAILED: {r.failure} | | | |")
            continue
        print(
            f"| {r.n} | {r.shards} | {r.checkpoints} | {r.one_stack:.2f} s | {r.at_once:.2f} s "
            f"| {r.largest_alone:.2f} s ({r.largest}) | {r.one_stack / r.largest_alone:.2f} |"
        )
    print()
    print("Targets:")
    for r in runs:
        if not r.failure:
            share = r.largest_alone / r.one_stack
            verdict = "met" if share <= 1 / r.shards else "MISSED"
            print(
                f"- N={r.n}, K={r.shards}, checkpoints {r.checkpoints}: largest shard alone "
                f"<= 1/{r.shards} of one stack: {share:.3f}, {verdict}"
            )
    failed = [r for r in runs if r.failure]
    print(f"- every up succeeded: {'FAILED' if failed else 'met'} ({len(runs)} comparisons)")
    return not failed


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main() -> int:
    """Run the comparison and print the tables (Markdown)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--n", type=int, nargs="+", default=[200, 1000, 2000], help="sizes (200 1000 2000)"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0, help="sandbox latency L (50)")
    parser.add_argument("--runs", type=int, default=1, help="runs per program and N (1)")
    parser.add_argument(
        "--programs", nargs="+", choices=sorted(PROGRAMS), default=["noop", "roles"]
    )
    parser.add_argument("--parallel", type=int, help="pulumi up --parallel (default: the CLI's)")
    parser.add_argument(
        "--engine-env",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment setting of the CLI, e.g. PULUMI_SKIP_CHECKPOINTS=true",
    )
    parser.add_argument(
        "--up-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="another argument of pulumi up, e.g. --up-arg=--disable-integrity-checking",
    )
    parser.add_argument(
        "--profile", type=Path, help="write the engine's Go CPU/memory profiles here"
    )
    parser.add_argument(
        "--backend", choices=["file", "s3"], default="file", help="state backend (file)"
    )
    parser.add_argument("--shards", type=int, help="compare one stack with K shards")
    parser.add_argument(
        "--checkpoints",
        choices=["on", "skip", "both"],
        default="on",
        help="with --shards: the engine's checkpoints on, skipped, or both (on)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run (N=60, L=10 ms) that only shows it works"
    )
    args = parser.parse_args()
    if args.shards is not None and args.shards < 1:
        parser.error("--shards must be at least 1")
    if args.quick:
        args.n, args.latency_ms = [60], 10.0
    args.engine_env = dict(args.engine_env)
    args.programs = [kind for kind in PROGRAMS if kind in args.programs]

    bin_dir = pulumi_bin()
    version = subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    settings = [f"{k}={v}" for k, v in args.engine_env.items()]
    if args.parallel is not None:
        settings.append(f"--parallel {args.parallel}")
    settings += args.up_arg
    header = (
        f"pulumi {version}, {args.backend} backend, "
        f"N={', '.join(map(str, args.n))}, L={args.latency_ms:g} ms, "
        f"median of {args.runs} run{'s' if args.runs > 1 else ''}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at start, engine settings: "
        f"{', '.join(settings) or 'defaults'}"
    )
    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="karmo-engine-bench-") as tmp,
        SandboxServer(TOKEN, faults=Faults(latency_ms=args.latency_ms)) as sandbox,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        (work / "home").mkdir()
        args.s3 = None
        if args.backend == "s3":
            from tests.support.s3 import S3Server

            args.s3 = stack.enter_context(S3Server(work / "moto.log"))
        if args.shards is not None:
            runs = shard_comparison(work, bin_dir, sandbox, args)
            return 0 if shard_report(runs, header) else 1
        for run in range(args.runs):
            for n in args.n:
                for kind in args.programs:  # alternate, so drift hits both alike
                    tag = f"{kind}-{n}-{run}"
                    result = timed_up(work, tag, kind, n, bin_dir, sandbox, args)
                    results.append(result)
                    print(
                        f"run {run + 1}/{args.runs} N={n} {kind:5} {result.wall:7.2f} s"
                        f" program {result.peak['program']:.0f} MiB"
                        f" provider {result.peak['provider']:.0f} MiB"
                        f" engine {result.peak['engine']:.0f} MiB"
                        f"{'' if result.ok else ' FAILED ' + result.failure}",
                        file=sys.stderr,
                        flush=True,
                    )
    return 0 if report(results, args, header) else 1


if __name__ == "__main__":
    sys.exit(main())
