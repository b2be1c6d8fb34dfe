"""What one role costs, against the network floor.

    python benchmarks/apply.py            # N=300, L=20 ms, P=4 and 8, R=50
    python benchmarks/apply.py --quick    # a smaller, faster run

Everything runs on 127.0.0.1 in three processes, as in a real `pulumi up`: this harness
plays the engine, `python -m pulumi.dynamic` runs the provider, and the sandbox plays
Karmo over HTTPS (a local CA from trustme) with an injected latency L per request.
Each figure is printed beside its target, and beside the same workload through a naive
provider (a new HTTP client per operation) measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import trustme

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from providers import NaiveProvider, NoopProvider, SleepProvider  # noqa: E402
from pulumi.dynamic import ResourceProvider  # noqa: E402

from pulumi_karmo_roles.provider import OrganizationRoleProvider  # noqa: E402
from tests.support.harness import ProviderProcess  # noqa: E402

TOKEN = "bench-token"
TICK = os.sysconf("SC_CLK_TCK")


class Certificates:
    """A throwaway CA and a certificate for 127.0.0.1. The CA is appended to certifi's
    bundle, so every client loads a realistic bundle (what users have) that also trusts
    the sandbox."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        self.cert = directory / "server.pem"
        self.key = directory / "server.key"
        self.bundle = directory / "bundle.pem"
        cert.cert_chain_pems[0].write_to_path(str(self.cert))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(self.cert), append=True)
        cert.private_key_pem.write_to_path(str(self.key))
        self.bundle.write_bytes(Path(certifi.where()).read_bytes() + ca.cert_pem.bytes())


class Sandbox:
    """The sandbox in its own process (so its work never competes with the harness)."""

    def __init__(self, certs: Certificates, *, latency_ms: float, rate_rps: float = 0) -> None:
        command = [
            sys.executable, "-m", "pulumi_karmo_roles.sandbox", "--port", "0",
            "--token", TOKEN, "--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
            "--latency-ms", str(latency_ms), "--rate-limit-rps", str(rate_rps),
        ]  # fmt: skip
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().split()[-1]
        self._tls = ssl.create_default_context(cafile=str(certs.bundle))

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/_sandbox/stats", context=self._tls) as answer:
            return dict(json.load(answer))

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), read from the OS."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Run:
    n: int
    callers: int
    latency: float
    wall: float
    latencies: list[float]
    cpu: float
    requests: int
    connections: int
    failures: int

    @property
    def floor(self) -> float:
        return math.ceil(self.n / self.callers) * self.latency

    def overhead_ms(self, q: float) -> float:
        beyond = sorted(x - self.latency for x in self.latencies)
        return 1000 * beyond[min(len(beyond) - 1, int(q * len(beyond)))]


def start_provider(
    provider: ResourceProvider, certs: Certificates, url: str, extra: dict[str, str] | None = None
) -> ProviderProcess:
    env = {
        "SSL_CERT_FILE": str(certs.bundle),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]),
    }
    process = ProviderProcess(env=env, provider=provider)
    process.configure({"karmo:apiUrl": url, "karmo:token": TOKEN, **(extra or {})})
    return process


def apply(
    provider: ResourceProvider,
    certs: Certificates,
    *,
    n: int,
    callers: int,
    latency_ms: float,
    rate_rps: float = 0,
    config: dict[str, str] | None = None,
) -> Run:
    """Create n roles from `callers` concurrent engine threads; measure everything."""
    sandbox = Sandbox(certs, latency_ms=latency_ms, rate_rps=rate_rps)
    process = start_provider(provider, certs, sandbox.url, config)
    try:
        # The engine's first call is a Check: it loads the provider (as in `pulumi up`).
        process.check({"organization_id": "org_bench", "slug": "org-warmup", "name": "W"})
        requests = [
            process.create_request(
                {"organization_id": "org_bench", "slug": f"org-r{i}", "name": f"Role {i}"},
                name=f"r{i}",
            )
            for i in range(n)
        ]
        latencies: list[float] = []
        failures = 0
        lock = threading.Lock()

        def create(request: Any) -> None:
            nonlocal failures
            started = time.perf_counter()
            try:
                process.stub.Create(request, timeout=300)
            except Exception:
                with lock:
                    failures += 1
                return
            with lock:
                latencies.append(time.perf_counter() - started)

        before = sandbox.stats()
        cpu0 = cpu_seconds(process.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(callers) as pool:
            list(pool.map(create, requests))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(process.pid) - cpu0
        after = sandbox.stats()
        return Run(
            n=n,
            callers=callers,
            latency=latency_ms / 1000,
            wall=wall,
            latencies=latencies,
            cpu=cpu,
            requests=after.get("requests", 0) - before.get("requests", 0),
            # The second stats() call's own connection is counted in `after`: leave it out.
            connections=after.get("connections", 0) - before.get("connections", 0) - 1,
            failures=failures,
        )
    finally:
        process.close()
        sandbox.close()


def cold_start(provider: ResourceProvider, certs: Certificates, url: str) -> float:
    """Seconds from starting the provider process to its first completed create."""
    started = time.perf_counter()
    process = start_provider(provider, certs, url)
    try:
        process.stub.Create(
            process.create_request(
                {"organization_id": "org_cold", "slug": "org-cold", "name": "Cold"}
            ),
            timeout=60,
        )
        return time.perf_counter() - started
    finally:
        process.close()


def row(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {label:<44} {value:>16}   {target}{mark}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="roles per run")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="sandbox latency L")
    parser.add_argument("--rate", type=float, default=50.0, help="rate limit R (requests/s)")
    parser.add_argument("--cold-runs", type=int, default=7, help="cold-start repetitions")
    parser.add_argument("--quick", action="store_true", help="N=60, 3 cold runs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.cold_runs = 60, 3
    n, latency = args.n, args.latency_ms

    with tempfile.TemporaryDirectory() as tmp:
        certs = Certificates(Path(tmp))
        print(f"pulumi-karmo-roles benchmark: N={n}, L={latency:g} ms, HTTPS, 127.0.0.1\n")

        ours = {p: apply(OrganizationRoleProvider(), certs, n=n, callers=p, latency_ms=latency)
                for p in (4, 8)}  # fmt: skip
        naive = apply(NaiveProvider(), certs, n=n, callers=4, latency_ms=latency)
        noop = apply(NoopProvider(), certs, n=n, callers=4, latency_ms=0)
        ideal = apply(SleepProvider(), certs, n=n, callers=4, latency_ms=latency,
                      config={"bench:latencyMs": str(latency)})  # fmt: skip

        print("1. Apply throughput (P = concurrent engine calls)")
        for p, run in ours.items():
            ratio = run.wall / run.floor
            target = "<= 1.10" if p == 4 else "(server runs 4 at once)"
            row(f"wall / floor, P={p}", f"{run.wall:.2f}/{run.floor:.2f} s = {ratio:.2f}",
                target, ratio <= 1.10 if p == 4 else None)  # fmt: skip
        run4 = ours[4]
        row("ideal provider (sleeps L, no HTTP), P=4",
            f"{ideal.wall:.2f}/{ideal.floor:.2f} s = {ideal.wall / ideal.floor:.2f}")  # fmt: skip
        row("ours / ideal", f"{run4.wall / ideal.wall:.2f}")
        row("overhead beyond L per op, median / p99",
            f"{run4.overhead_ms(0.5):.2f} / {run4.overhead_ms(0.99):.2f} ms")  # fmt: skip
        row("HTTP requests per role", f"{run4.requests / n:.2f}", "= 1", run4.requests == n)
        row("new TCP+TLS connections in all", f"{run4.connections}", "<= 4",
            run4.connections <= 4)  # fmt: skip
        row("failed operations", f"{run4.failures}", "= 0", run4.failures == 0)

        row("ideal overhead beyond L, median / p99",
            f"{ideal.overhead_ms(0.5):.2f} / {ideal.overhead_ms(0.99):.2f} ms")  # fmt: skip

        print("\n2. Provider process CPU per create (read from /proc for that process)")
        ours_cpu = 1000 * run4.cpu / n
        naive_cpu = 1000 * naive.cpu / n
        server_cpu = 1000 * noop.cpu / n
        row("pulumi-karmo-roles", f"{ours_cpu:.2f} ms", "<= 1.0 ms", ours_cpu <= 1.0)
        row("  the pulumi.dynamic server alone (noop)", f"{server_cpu:.2f} ms")
        row("  the server with a blocking handler (ideal)", f"{1000 * ideal.cpu / n:.2f} ms")
        row("naive provider (new client per op)", f"{naive_cpu:.2f} ms")
        row("naive / ours", f"{naive_cpu / ours_cpu:.1f}x", ">= 20x",
            naive_cpu / ours_cpu >= 20)  # fmt: skip
        row("naive wall / floor, P=4", f"{naive.wall / naive.floor:.2f}")
        row("naive overhead beyond L, median / p99",
            f"{naive.overhead_ms(0.5):.2f} / {naive.overhead_ms(0.99):.2f} ms")  # fmt: skip
        row("naive new connections in all", f"{naive.connections}")

        print(f"\n3. Cold start, median of {args.cold_runs} (start process -> first create done)")
        sandbox = Sandbox(certs, latency_ms=0)
        try:
            ours_cold = [cold_start(OrganizationRoleProvider(), certs, sandbox.url)
                         for _ in range(args.cold_runs)]  # fmt: skip
            noop_cold = [cold_start(NoopProvider(), certs, sandbox.url)
                         for _ in range(args.cold_runs)]  # fmt: skip
        finally:
            sandbox.close()
        ours_ms = 1000 * statistics.median(ours_cold)
        noop_ms = 1000 * statistics.median(noop_cold)
        row("pulumi-karmo-roles", f"{ours_ms:.0f} ms")
        row("do-nothing provider", f"{noop_ms:.0f} ms")
        row("overhead", f"{ours_ms - noop_ms:.0f} ms", "<= 150 ms", ours_ms - noop_ms <= 150)

        print(f"\n4. Under a rate limit of R={args.rate:g} requests/s (429 + Retry-After beyond)")
        limited = apply(OrganizationRoleProvider(), certs, n=n, callers=4, latency_ms=latency,
                        rate_rps=args.rate)  # fmt: skip
        ideal = n / args.rate
        row("time / ideal N/R", f"{limited.wall:.2f}/{ideal:.2f} s = {limited.wall / ideal:.2f}",
            "<= 1.25", limited.wall / ideal <= 1.25)  # fmt: skip
        row("failed operations", f"{limited.failures}", "= 0", limited.failures == 0)
        row("HTTP requests per role (429s included)", f"{limited.requests / n:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
