"""What ``karmo-roles review`` costs: the CPU time to read a preview and write its
review, per 1,000 roles, against reading the same document with ``json.loads`` alone
(the floor: every review parses the JSON), in the same run.

    python benchmarks/review.py              # 200, 1,000 and 2,000 roles in 200 organizations
    python benchmarks/review.py --runs 1 --sizes 200   # quicker

The synthetic preview is what ``pulumi preview --json`` writes for a catalog change of a
role set (tests/fixtures/previews/role-set.json): per organization, one role granted a
permission, one renamed, one created, and the rest with a permission granted and one
revoked, so identical changes group across organizations. A second document, where
every role's change is different (nothing groups), shows the Markdown cut to fit
``--max-chars``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pulumi_karmo_roles.review import DEFAULT_MAX_CHARS, load_preview, review  # noqa: E402
from tests.support.previews import SET_TYPE, preview, role_props, step, urn  # noqa: E402


def synthetic(roles: int, organizations: int, distinct: bool = False) -> str:
    """A preview of ``roles`` role changes spread over ``organizations``, as JSON text."""
    steps = []
    for n in range(roles):
        org, slot = f"org_{n % organizations:04d}", n // organizations
        slug = f"org-role-{slot}" + (f"-{n}" if distinct else "")
        u = urn(f"tenants-{org}-{slug}", project="acme-tenants", parent=SET_TYPE)
        base = ["billing:read", f"reports:read-{slot}"]
        old = role_props(org, slug, f"Role {slot}", base)
        if slot == 0:
            steps.append(step("update", u, old, role_props(org, slug, f"Role {slot}",
                                                           [*base, "billing:write"])))  # fmt: skip
        elif slot == 1:
            steps.append(step("update", u, old, role_props(org, slug, f"Role {slot} (new)", base)))
        elif slot == 2:
            steps.append(step("create", u, None, old))
        else:
            steps.append(step("update", u, old, role_props(org, slug, f"Role {slot}",
                                                           [base[1], "audit:read"])))  # fmt: skip
    return json.dumps(preview(*steps), indent=2)


def cpu(work: Callable[[], object], runs: int) -> float:
    """The median CPU seconds of ``runs`` calls of ``work``."""
    times = []
    for _ in range(runs):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return statistics.median(times)


def whole_review(text: str) -> Callable[[], object]:
    """Everything ``karmo-roles review`` does: read, review, each format."""

    def run() -> object:
        result = review([load_preview(text)], deny=["*:delete"], fail_on=["delete"])
        return (result.to_markdown(), result.to_text(), json.dumps(result.to_json()))

    return run


def main() -> None:
    """Run the measurements and print the tables (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1_000, 2_000])
    parser.add_argument("--organizations", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="median of this many (5)")
    args = parser.parse_args()

    print("## 1. CPU time of a review, per 1,000 roles\n")
    print(f"{args.organizations} organizations; median of {args.runs} runs; CPU time "
          "(time.process_time) of this process.\n")  # fmt: skip
    print("| roles | document | json.loads | review (all formats) | per 1,000 roles | "
          "review / json.loads |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|")
    measured: dict[int, float] = {}
    documents: dict[int, str] = {}
    for size in args.sizes:
        text = documents[size] = synthetic(size, min(args.organizations, size))
        floor = cpu(lambda text=text: json.loads(text), args.runs)  # type: ignore[misc]
        spent = cpu(whole_review(text), args.runs)
        measured[size] = spent
        print(f"| {size:,} | {len(text) / 1e6:.1f} MB | {floor * 1000:.0f} ms | "
              f"{spent * 1000:.0f} ms | {spent / size * 1e6:.0f} ms | "
              f"{spent / floor if floor else float('inf'):.1f}x |")  # fmt: skip
    if len(measured) > 1:
        small, large = min(measured), max(measured)
        growth = (measured[large] / large) / (measured[small] / small)
        print(f"\nCost per role at {large:,} roles over the cost per role at {small:,}: "
              f"{growth:.2f} (1.00 is linear).")  # fmt: skip

    print("\n## 2. The Markdown against --max-chars\n")
    print(f"| document | roles | Markdown characters | fits {DEFAULT_MAX_CHARS:,} | cut |")
    print("|---|---:|---:|---|---|")
    largest = max(args.sizes)
    for label, text in (
        ("grouped (a catalog change)", documents[largest]),
        ("every change different", synthetic(largest, min(args.organizations, largest), True)),
    ):
        result = review([load_preview(text)])
        markdown = result.to_markdown()
        fits = len(markdown) <= DEFAULT_MAX_CHARS
        print(f"| {label} | {largest:,} | {len(markdown):,} | {'yes' if fits else 'NO'} | "
              f"{'yes' if 'Cut to fit' in markdown else 'no'} |")  # fmt: skip
        if not fits:
            raise SystemExit("the Markdown does not fit --max-chars")


if __name__ == "__main__":
    main()
