"""Benchmark of relayed spending through the HTTP API: many members redeeming at once, each signing
their own request, relayed one transaction per request or together (group commit).

    .venv/bin/python scripts/bench_relay.py [--clients 100] [--seconds 10]

Setup (not timed): a fresh anvil chain (automine), the contracts deployed, the spending
benchmark's schemes and catalogue (scripts/bench_spending.py), ``--clients`` members with keys of
their own holding VOL points from CSV batch issuance, each signed in. The API runs under uvicorn
in a process of its own (one worker) on loopback.

Each client redeems one unit after another for ``--seconds`` (one member each; the lone client
takes every member in turn): the 428 round trip
(the request to sign), signed on the client's side, then the signed request, which answers when
the chain has confirmed the order. Three runs: one client (sequential); all clients with every
request in its own transaction (``VPL_RELAY_BATCH_MOST=1``); all clients with the requests that
arrive while a transaction is on its way sent together in the next (the default). Printed per
run: redeems/s, the signed request's p50 and p99 latency (its confirmation), refusals, and the
relayer's transactions per redeem. The clients (signing included) share the machine's cores with
the API and the node. Target (issue 15): >= 300 relayed spending operations/s from 100 clients,
p99 <= 1 s. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.node.host import free_port
from scripts.bench_api import authorization, percentile, sign_in, start_api
from scripts.bench_earning import bench_chain, cst_midnight
from scripts.bench_spending import issue, setup


async def member_loop(
    http: httpx.AsyncClient,
    accounts: Sequence[LocalAccount],
    tokens: dict[str, str],
    item: int,
    price: int,
    end: float,
) -> tuple[list[float], Counter[str]]:
    """One client redeeming until `end`, one request at a time, for each of `accounts` in turn:
    the signed requests' latencies, and the refusals by error code."""
    latencies: list[float] = []
    refused: Counter[str] = Counter()
    turn = 0
    while time.perf_counter() < end:
        account = accounts[turn % len(accounts)]
        turn += 1
        headers = {"Authorization": f"Bearer {tokens[account.address]}"}
        url = f"/v1/members/{account.address}/orders"
        try:
            await redeem_once(http, account, headers, url, item, price, latencies, refused)
        except httpx.TransportError as exc:  # counted, never fatal: the run goes on
            refused[type(exc).__name__] += 1
    return latencies, refused


async def redeem_once(
    http: httpx.AsyncClient,
    account: LocalAccount,
    headers: dict[str, str],
    url: str,
    item: int,
    price: int,
    latencies: list[float],
    refused: Counter[str],
) -> None:
    """The 428 round trip, signed here, then the signed request; its latency or its refusal."""
    body: dict[str, Any] = {"item_id": item, "quantity": 1, "unit_price": price}
    first = await http.post(url, json=body, headers=headers)
    if first.status_code != 428:
        refused[error_code(first)] += 1
        return
    body["authorization"] = authorization(account, first.json())
    t0 = time.perf_counter()
    answer = await http.post(url, json=body, headers=headers)
    if answer.status_code == 201:
        latencies.append(time.perf_counter() - t0)
    else:
        refused[error_code(answer)] += 1


def error_code(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return str(answer.status_code)


async def run(
    base: str, clients: Sequence[Sequence[LocalAccount]], tokens: dict[str, str], item: int,
    price: int, seconds: float,
) -> tuple[list[float], Counter[str], float]:  # fmt: skip
    # A connection of its own for each client, as on devices of their own (one pool shared by a
    # hundred tasks spends most of the clients' time scanning the pool: httpcore, measured).
    https = [httpx.AsyncClient(base_url=base, timeout=120) for _ in clients]
    try:
        start = time.perf_counter()
        end = start + seconds
        results = await asyncio.gather(
            *(
                member_loop(http, mine, tokens, item, price, end)
                for http, mine in zip(https, clients, strict=True)
            )
        )
        elapsed = time.perf_counter() - start
    finally:
        for http in https:
            await http.aclose()
    latencies = [x for done, _ in results for x in done]
    return latencies, sum((r for _, r in results), Counter()), elapsed


def relayed_transactions(w3: Any, relayer: str, first: int, last: int) -> int:
    """Transactions `relayer` sent in blocks first..last."""
    return sum(
        1
        for n in range(first, last + 1)
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]
        if tx["from"] == relayer
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with bench_chain() as (root, settings, ledger):
        accounts: list[LocalAccount] = [Account.create() for _ in range(args.clients)]
        members = [a.address for a in accounts]
        keys = setup(ledger, members)
        today = cst_midnight(ledger)
        for back in (5, 4, 3, 2):
            issue(ledger, keys, members, "VOL", today - back * 86400 + 8 * 3600, root)
        item, price = keys["items"]["VOL"]
        relayer = ledger.operator("relayer").address
        w3 = ledger.w3
        ledger.close()  # the API process has the store from here on
        print(
            f"relayed redeems through the API on anvil: one uvicorn worker, {args.clients} "
            f"members, {args.seconds:.0f} s a run"
        )
        print(f"  {'run':34} {'redeems':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'refused':>7} {'tx/redeem':>9}")  # fmt: skip
        runs = (("1 client", 1, "100"), (f"{args.clients} clients, a transaction each", args.clients, "1"),
                (f"{args.clients} clients, sent together", args.clients, "100"))  # fmt: skip
        for name, clients, most in runs:
            os.environ["VPL_RELAY_BATCH_MOST"] = most
            port = free_port()
            server = start_api(settings, port)
            base = f"http://127.0.0.1:{port}"
            try:
                with httpx.Client(base_url=base, timeout=60) as http:
                    tokens = {str(a.address): sign_in(http, a) for a in accounts}
                # one client takes every member in turn; many clients, a member each
                mine = [accounts] if clients == 1 else [[a] for a in accounts[:clients]]
                first = w3.eth.block_number + 1
                latencies, refused, elapsed = asyncio.run(
                    run(base, mine, tokens, item, price, args.seconds)
                )
                sent = relayed_transactions(w3, relayer, first, w3.eth.block_number)
            finally:
                server.terminate()
                server.wait(timeout=30)
            ms = [x * 1000 for x in latencies] or [0.0]
            done = len(latencies)
            print(
                f"  {name:34} {done:7d} {done / elapsed:7.1f} {percentile(ms, 0.5):8.1f} "
                f"{percentile(ms, 0.99):8.1f} {sum(refused.values()):7d} {sent / max(done, 1):9.2f}"
            )
            if refused:
                print("    refused:", ", ".join(f"{c} x{n}" for c, n in refused.most_common()))


if __name__ == "__main__":
    main()
