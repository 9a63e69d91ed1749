"""What watching the API costs: request latency with metrics off, on, and on with a JSON line a
request, measured in the same run.

    .venv/bin/python scripts/bench_metrics.py [--members 50] [--rounds 5] [--seconds 3]

Setup (not timed): a fresh anvil chain, the spending benchmark's schemes, members with keys of
their own holding points. Three API processes under uvicorn (one worker each) on the same store:
``VPL_API_METRICS=false``; the default (metrics on, text logs); metrics on with
``VPL_LOG_FORMAT=json`` (the lines go to a file). In each of ``--rounds`` rounds, in turn, one
client reads members' balances from each process for ``--seconds`` (the service time, one request
at a time), then 20 clients flat out (the throughput); rounds interleave the three so that the
machine's drift falls on all alike. Printed per process: p50 and p99 of the single client,
requests/s flat out, and each one's difference from metrics off. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.node.host import free_port
from scripts.bench_api import load, percentile, sign_in, start_api
from scripts.bench_earning import bench_chain, cst_midnight
from scripts.bench_spending import issue, setup

#: The processes compared: (name, environment).
KINDS: tuple[tuple[str, dict[str, str]], ...] = (
    ("metrics off", {"VPL_API_METRICS": "false"}),
    ("metrics on", {}),
    ("metrics + JSON log", {"VPL_LOG_FORMAT": "json"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with bench_chain() as (root, settings, ledger):
        servers: list[subprocess.Popen[bytes]] = []
        try:
            accounts: list[LocalAccount] = [Account.create() for _ in range(args.members)]
            members = [a.address for a in accounts]
            keys = setup(ledger, members)
            issue(ledger, keys, members, "VOL", cst_midnight(ledger) - 2 * 86400, root)
            ledger.close()
            bases: dict[str, str] = {}
            logs = Path(root) / "json-requests.log"
            with logs.open("wb") as sink:
                for name, extra in KINDS:
                    port = free_port()
                    quiet = {"stderr": sink} if "VPL_LOG_FORMAT" in extra else {}
                    relayers = {"VPL_RELAYER": "relayer,relayer-2,relayer-3"}  # one each
                    servers.append(start_api(settings, port, {**extra, **relayers}, **quiet))
                    bases[name] = f"http://127.0.0.1:{port}"
                paths: dict[str, list[tuple[str, str]]] = {}
                for name, base in bases.items():
                    with httpx.Client(base_url=base, timeout=60) as http:
                        tokens = {a.address: sign_in(http, a) for a in accounts}
                        paths[name] = [(f"/v1/members/{m}/balances", t) for m, t in tokens.items()]
                        for path, token in paths[name]:  # warm-up
                            http.get(path, headers={"Authorization": f"Bearer {token}"})
                single: dict[str, list[float]] = {name: [] for name in bases}
                served: dict[str, list[int]] = {name: [] for name in bases}
                for _ in range(args.rounds):
                    for name, base in bases.items():
                        latencies, errors = asyncio.run(load(base, paths[name], 1, args.seconds))
                        assert errors == 0, (name, errors)
                        single[name] += latencies
                        flat, errors = asyncio.run(load(base, paths[name], 20, args.seconds))
                        assert errors == 0, (name, errors)
                        served[name].append(len(flat))
            lines = sum(1 for _ in logs.open("rb"))
            print(
                f"GET balances; {args.rounds} rounds of {args.seconds:g} s per process, "
                f"interleaved; {lines:,} JSON lines written by the third"
            )
            base_p50 = percentile(single["metrics off"], 0.5) * 1000
            base_rate = sum(served["metrics off"]) / (args.rounds * args.seconds)
            for name in bases:
                p50 = percentile(single[name], 0.5) * 1000
                p99 = percentile(single[name], 0.99) * 1000
                rate = sum(served[name]) / (args.rounds * args.seconds)
                print(
                    f"{name:<20} 1 client p50 {p50:6.2f} ms ({p50 - base_p50:+5.2f} ms)  "
                    f"p99 {p99:6.2f} ms   20 clients {rate:7.0f} req/s "
                    f"({rate / base_rate:5.1%} of metrics off)"
                )
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
