"""What the real Pulumi engine costs: ``pulumi up`` of N roles against the sandbox with
latency L per request, beside the same program over a do-nothing dynamic resource, in
the same run.

    python benchmarks/engine.py                 # N=200, L=50 ms, 3 runs each
    python benchmarks/engine.py --n 50 --runs 1 # quicker

Needs ``pulumi`` on PATH or Go to build it (scripts/pulumi-cli.sh). Each run is a new
stack on a local file backend: ``pulumi up --yes --skip-preview`` timed from the start of
the command to its exit (engine start, program, N creates, state writes). The floor is
what the network alone costs when the dynamic-provider server runs its 4 threads:
ceil(N/4) * L.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pulumi_karmo_roles.sandbox import Faults, SandboxServer  # noqa: E402
from tests.support.cli import Project, cli_environment, pulumi_bin  # noqa: E402

TOKEN = "bench-token"

ROLES = """
from pulumi_karmo_roles import OrganizationRole
for i in range({n}):
    OrganizationRole(f"role-{{i}}", organization_id=f"org_{{i % 10}}", slug=f"org-role-{{i}}",
                     name=f"Role {{i}}")
"""

NOOP = """
import pulumi.dynamic
from providers import NoopProvider

class Noop(pulumi.dynamic.Resource, module="bench", name="Noop"):
    def __init__(self, name: str, props: dict) -> None:
        super().__init__(NoopProvider(), name, {{**props, "role_id": None}})

for i in range({n}):
    Noop(f"role-{{i}}", {{"organization_id": f"org_{{i % 10}}", "slug": f"org-role-{{i}}",
                        "name": f"Role {{i}}"}})
"""


def timed_up(work: Path, tag: str, program: str, bin_dir: Path, sandbox: SandboxServer) -> float:
    """Seconds for one ``pulumi up`` of ``program`` on a new stack."""
    state = work / f"state-{tag}"
    state.mkdir()
    env = cli_environment(bin_dir, state, work / "home")
    # The do-nothing provider is imported by the provider process from benchmarks/.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "benchmarks"), env.get("PYTHONPATH")])
    )
    project = Project(work / f"project-{tag}", env, secret=TOKEN)
    project.write_program(program)
    project.pulumi("stack", "init", "dev", "--non-interactive")
    project.pulumi("config", "set", "karmo:apiUrl", sandbox.url)
    project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
    sandbox.reset_requests()
    started = time.perf_counter()
    project.up()
    return time.perf_counter() - started


def main() -> None:
    """Run the comparison and print the table (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="resources per up (200)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="sandbox latency L (50)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each program (3)")
    args = parser.parse_args()

    bin_dir = pulumi_bin()
    version = subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    walls: dict[str, list[float]] = {"roles": [], "noop": []}
    with (
        tempfile.TemporaryDirectory(prefix="karmo-engine-bench-") as tmp,
        SandboxServer(TOKEN, faults=Faults(latency_ms=args.latency_ms)) as sandbox,
    ):
        work = Path(tmp)
        (work / "home").mkdir()
        for run in range(args.runs):  # alternate, so drift hits both alike
            for kind, source in (("noop", NOOP), ("roles", ROLES)):
                sandbox.reset()
                sandbox.set_faults(latency_ms=args.latency_ms)
                wall = timed_up(work, f"{kind}{run}", source.format(n=args.n), bin_dir, sandbox)
                if kind == "roles":
                    assert sandbox.stats().get("created") == args.n, sandbox.stats()
                walls[kind].append(wall)
                print(f"run {run + 1}/{args.runs} {kind:5} {wall:6.2f} s", file=sys.stderr)

    floor = math.ceil(args.n / 4) * args.latency_ms / 1000
    noop = statistics.median(walls["noop"])
    roles = statistics.median(walls["roles"])
    print(
        f"pulumi {version}, N={args.n}, L={args.latency_ms:g} ms, median of {args.runs} runs,"
        f" {os.cpu_count()} cores"
    )
    print()
    print("| program | `pulumi up` wall | ratio to do-nothing | ratio to floor |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| do-nothing dynamic resource | {noop:.2f} s | 1.00 | {noop / floor:.2f} |")
    print(f"| OrganizationRole | {roles:.2f} s | {roles / noop:.2f} | {roles / floor:.2f} |")
    print(f"| floor ceil(N/4)*L | {floor:.2f} s | | 1.00 |")


if __name__ == "__main__":
    main()
