"""What read-back costs: ``pulumi refresh`` of N roles in a few organizations with
``karmo:workosApiKey`` (every role read from the sandbox's WorkOS face, with latency L per
request), beside the same refresh of a do-nothing dynamic resource, in the same run, and
the number of WorkOS requests it made.

    python benchmarks/refresh.py                   # N=200 in 2 organizations, L=50 ms, 3 runs
    python benchmarks/refresh.py --n 40 --runs 1   # quicker

Needs ``pulumi`` on PATH or Go to build it (scripts/pulumi-cli.sh). Each program is
applied once on a new stack (not timed); then ``pulumi refresh --yes --skip-preview`` is
timed from the start of the command to its exit, alternating between the two programs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from engine import NOOP, ROLES  # noqa: E402

from pulumi_karmo_roles.sandbox import SandboxServer  # noqa: E402
from tests.support.cli import Project, cli_environment, pulumi_bin  # noqa: E402

TOKEN = "bench-token"
WORKOS_KEY = "sk_test_bench_key"


def stack(work: Path, tag: str, program: str, bin_dir: Path, sandbox: SandboxServer) -> Project:
    """A new stack with ``program`` applied, configured for read-back."""
    state = work / f"state-{tag}"
    state.mkdir()
    env = cli_environment(bin_dir, state, work / "home")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "benchmarks"), env.get("PYTHONPATH")])
    )
    project = Project(work / f"project-{tag}", env, secret=TOKEN, also_secret=(WORKOS_KEY,))
    project.write_program(program)
    project.pulumi("stack", "init", "dev", "--non-interactive")
    project.pulumi("config", "set", "karmo:apiUrl", sandbox.url)
    project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
    project.pulumi("config", "set", "--secret", "karmo:workosApiKey", WORKOS_KEY)
    project.pulumi("config", "set", "karmo:workosApiUrl", sandbox.workos_url)
    project.up()
    return project


def timed_refresh(project: Project) -> float:
    started = time.perf_counter()
    project.pulumi("refresh", "--yes", "--skip-preview", "--non-interactive", "--color=never")
    return time.perf_counter() - started


def main() -> None:
    """Run the comparison and print the table (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="roles (200)")
    parser.add_argument("--organizations", type=int, default=2, help="organizations (2)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency L (50)")
    parser.add_argument("--runs", type=int, default=3, help="timed refreshes of each (3)")
    args = parser.parse_args()

    bin_dir = pulumi_bin()
    version = subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    walls: dict[str, list[float]] = {"roles": [], "noop": []}
    requests: list[int] = []
    with (
        tempfile.TemporaryDirectory(prefix="karmo-refresh-bench-") as tmp,
        SandboxServer(TOKEN, workos_api_key=WORKOS_KEY) as sandbox,
    ):
        work = Path(tmp)
        (work / "home").mkdir()
        source = {"n": args.n, "orgs": args.organizations}
        projects = {
            "roles": stack(work, "roles", ROLES.format(**source), bin_dir, sandbox),
            "noop": stack(work, "noop", NOOP.format(**source), bin_dir, sandbox),
        }
        sandbox.set_faults(latency_ms=args.latency_ms)
        for run in range(args.runs):  # alternate, so drift hits both alike
            for kind in ("noop", "roles"):
                before = sandbox.stats().get("workos_requests", 0)
                wall = timed_refresh(projects[kind])
                if kind == "roles":
                    requests.append(sandbox.stats().get("workos_requests", 0) - before)
                walls[kind].append(wall)
                print(f"run {run + 1}/{args.runs} {kind:5} {wall:6.2f} s", file=sys.stderr)
        sandbox.set_faults(latency_ms=0)

    noop, roles = statistics.median(walls["noop"]), statistics.median(walls["roles"])
    print(
        f"pulumi {version}, N={args.n} roles in {args.organizations} organizations, "
        f"L={args.latency_ms:g} ms, median of {args.runs} runs, {os.cpu_count()} cores"
    )
    print()
    print("| program | `pulumi refresh` wall | ratio to do-nothing | WorkOS requests |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| do-nothing dynamic resource | {noop:.2f} s | 1.00 | 0 |")
    print(
        f"| OrganizationRole, read back | {roles:.2f} s | {roles / noop:.2f} | "
        f"{statistics.median(requests):g} |"
    )


if __name__ == "__main__":
    main()
