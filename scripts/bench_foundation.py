"""Benchmark of the foundation: deploy time, and member registrations per second through the one
transaction path, sequential and from 8 threads, on ganache and anvil side by side.

    .venv/bin/python scripts/bench_foundation.py [--members 200]

Prints figures; asserts nothing (targets are met here, never in timed unit tests).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from eth_account import Account

from ledger.demo import synthetic_person
from scripts.bench_earning import bench_chain


def run(kind: str, members: int) -> dict[str, float]:
    with bench_chain(kind) as (_, _, ledger):  # compiled (or the cache loaded) outside the timing
        started = time.perf_counter()
        ledger.deploy()
        deploy_s = time.perf_counter() - started
        registrar = ledger.operator("registrar")
        ledger.govern(
            [ledger.role_call(role_name="registrar", account=registrar.address, grant=True)]
        )
        people = [(Account.create().address, synthetic_person()) for _ in range(2 * members)]

        def register(item: tuple[str, object]) -> None:
            address, personal = item
            ledger.register_member(registrar=registrar, address=address, personal=personal)  # type: ignore[arg-type]

        started = time.perf_counter()
        for item in people[:members]:
            register(item)
        sequential = members / (time.perf_counter() - started)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(register, people[members:]))
        threaded = members / (time.perf_counter() - started)
        assert ledger.members.member_count() == 2 * members
        return {
            "deploy_s": deploy_s,
            "sequential_per_s": sequential,
            "threads8_per_s": threaded,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()
    results = {kind: run(kind, args.members) for kind in ("ganache", "anvil")}
    print(f"{'node':8} {'deploy s':>9} {'reg/s seq':>10} {'reg/s 8thr':>11}")
    for kind, r in results.items():
        print(
            f"{kind:8} {r['deploy_s']:9.2f} {r['sequential_per_s']:10.1f} {r['threads8_per_s']:11.1f}"
        )
    ratio = results["anvil"]["sequential_per_s"] / results["ganache"]["sequential_per_s"]
    print(f"anvil/ganache sequential registration ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
