"""Benchmark of relayed spending through the HTTP API: many members redeeming at once, each signing
their own request, relayed one transaction per request or together (group commit).

    .venv/bin/python scripts/bench_relay.py [--clients 100] [--seconds 10]
                                            [--chain anvil|clique] [--validators 3] [--period 1]

Setup (not timed): a fresh anvil chain (automine), or with ``--chain clique`` a validator network
of its own (go-ethereum clique, as ``scripts/bench_network.py``), the contracts deployed, the spending
benchmark's schemes and catalogue (scripts/bench_spending.py), ``--clients`` members with keys of
their own holding VOL points from CSV batch issuance, each signed in. The API runs under uvicorn
in a process of its own (one worker) on loopback.

Each client redeems one unit after another for ``--seconds`` (one member each; the lone client
takes every member in turn): the 428 round trip
(the request to sign), signed on the client's side, then the signed request, which answers when
the chain has confirmed the order. Four runs: one client (sequential); all clients with every
request in its own transaction, one transaction on its way at a time (``VPL_RELAY_BATCH_MOST=1``,
``VPL_RELAY_LANES=1``: the relay before group commit); all clients with the requests that arrive
while a transaction is on its way sent together in the next, one lane and four (the default).
Requests still unanswered a minute after a run's end count as refused ("unanswered"). Printed per
run: redeems/s, the signed request's p50 and p99 latency (its confirmation), refusals, the
relayer's transactions per redeem, the gas per redeem, and how full the blocks that carried them
were (of the block gas limit); on the validator network, how many batched redeems a second its
block gas limit allows, and the share of that the batched run reached. The clients (signing
included; each on a connection of its own) share the machine's cores with the API and the node.
Target (issue 15): >= 300 relayed spending operations/s from 100 clients, p99 <= 1 s. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.node.host import free_port
from ledger.config import Settings
from ledger.ledger import Ledger
from scripts.bench_api import authorization, percentile, sign_in, start_api
from scripts.bench_earning import bench_chain, cst_midnight
from scripts.bench_network import network_chain
from scripts.bench_spending import issue, setup


async def member_loop(
    http: httpx.AsyncClient,
    accounts: Sequence[LocalAccount],
    tokens: dict[str, str],
    item: int,
    price: int,
    end: float,
    latencies: list[float],
    refused: Counter[str],
) -> None:
    """One client redeeming until `end`, one request at a time, for each of `accounts` in turn:
    the signed requests' latencies, and the refusals by error code, added to those given."""
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


#: Seconds the requests still on their way when a run ends may take to be answered; those that
#: are not by then are counted as unanswered (and the API process is stopped with them).
GRACE_SECONDS = 60.0


async def run(
    base: str, clients: Sequence[Sequence[LocalAccount]], tokens: dict[str, str], item: int,
    price: int, seconds: float,
) -> tuple[list[float], Counter[str], float, int]:  # fmt: skip
    """The signed requests' latencies, the refusals, the seconds until the last answer came, and
    how many requests were still unanswered `GRACE_SECONDS` after the run's end."""
    latencies: list[float] = []
    refused: Counter[str] = Counter()
    # A connection of its own for each client, as on devices of their own (one pool shared by a
    # hundred tasks spends most of the clients' time scanning the pool: httpcore, measured).
    https = [httpx.AsyncClient(base_url=base, timeout=seconds + GRACE_SECONDS) for _ in clients]
    try:
        start = time.perf_counter()
        end = start + seconds
        tasks = [
            asyncio.create_task(
                member_loop(http, mine, tokens, item, price, end, latencies, refused)
            )
            for http, mine in zip(https, clients, strict=True)
        ]
        _, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_SECONDS)
        elapsed = time.perf_counter() - start
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for http in https:
            await http.aclose()
    return latencies, refused, elapsed, len(pending)


def relayed_blocks(w3: Any, relayer: str, first: int, last: int) -> tuple[int, int, int, int]:
    """Of blocks first..last: the transactions `relayer` sent, the gas they used, the blocks that
    held any, and the block gas limit."""
    sent = gas = busy = 0
    limit = 0
    for n in range(first, last + 1):
        block = w3.eth.get_block(n, full_transactions=True)
        limit = int(block["gasLimit"])
        mine = [tx for tx in block["transactions"] if tx["from"] == relayer]
        if mine:
            busy += 1
            sent += len(mine)
            gas += sum(int(w3.eth.get_transaction_receipt(tx["hash"])["gasUsed"]) for tx in mine)
    return sent, gas, busy, limit


@contextlib.contextmanager
def chain(kind: str, validators: int, period: int) -> Iterator[tuple[Path, Settings, Ledger]]:
    """The chain to measure on: a fresh anvil, or a validator network of its own."""
    if kind == "anvil":
        with bench_chain() as ready:
            yield ready
        return
    with network_chain(validators, period, None) as (root, _, ledger):
        yield root, ledger.settings, ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--chain", choices=("anvil", "clique"), default="anvil")
    parser.add_argument("--validators", type=int, default=3, help="clique: validators")
    parser.add_argument("--period", type=int, default=1, help="clique: block period in seconds")
    args = parser.parse_args()
    with chain(args.chain, args.validators, args.period) as (root, settings, ledger):
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
        where = (
            "anvil (a block per transaction)"
            if args.chain == "anvil"
            else f"{args.validators} clique validators ({args.period} s blocks)"
        )
        print(
            f"relayed redeems through the API on {where}: one uvicorn worker, {args.clients} "
            f"members, {args.seconds:.0f} s a run"
        )
        print(f"  {'run':38} {'redeems':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'refused':>7} {'tx/redeem':>9} {'gas/redeem':>10} {'block gas':>9}")  # fmt: skip
        n = args.clients
        runs = (("1 client", 1, "100", "4"),
                (f"{n} clients, a transaction each, 1 lane", n, "1", "1"),
                (f"{n} clients, together, 1 lane", n, "100", "1"),
                (f"{n} clients, together, 4 lanes", n, "100", "4"))  # fmt: skip
        together = 0.0
        gas_each = limit = 0
        for name, clients, most, lanes in runs:
            os.environ["VPL_RELAY_BATCH_MOST"] = most
            os.environ["VPL_RELAY_LANES"] = lanes
            port = free_port()
            server = start_api(settings, port)
            base = f"http://127.0.0.1:{port}"
            try:
                with httpx.Client(base_url=base, timeout=60) as http:
                    tokens = {str(a.address): sign_in(http, a) for a in accounts}
                # one client takes every member in turn; many clients, a member each
                mine = [accounts] if clients == 1 else [[a] for a in accounts[:clients]]
                first = w3.eth.block_number + 1
                latencies, refused, elapsed, unanswered = asyncio.run(
                    run(base, mine, tokens, item, price, args.seconds)
                )
                if unanswered:
                    refused["unanswered"] += unanswered
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:  # requests still waiting in it
                    server.kill()
                    server.wait(timeout=30)
            sent, gas, busy, limit = relayed_blocks(w3, relayer, first, w3.eth.block_number)
            ms = [x * 1000 for x in latencies] or [0.0]
            done = len(latencies)
            gas_each = gas // max(done, 1)
            # how full the blocks that carried the run's transactions were
            fill = gas / max(busy * limit, 1)
            print(
                f"  {name:38} {done:7d} {done / elapsed:7.1f} {percentile(ms, 0.5):8.1f} "
                f"{percentile(ms, 0.99):8.1f} {sum(refused.values()):7d} "
                f"{sent / max(done, 1):9.2f} {gas_each:10,d} {fill:9.1%}"
            )
            if refused:
                print("    refused:", ", ".join(f"{c} x{n}" for c, n in refused.most_common()))
            together = done / elapsed
        if args.chain == "clique":
            # the most the network's blocks hold: its gas limit over the gas of a batched redeem
            ceiling = limit / max(gas_each, 1) / args.period
            print(
                f"block gas limit {limit:,} every {args.period} s holds {ceiling:,.0f} batched "
                f"redeems/s; sent together reached {together:.1f}/s, {together / ceiling:.1%} of it"
            )


if __name__ == "__main__":
    main()
