"""Benchmark of the HTTP API: reads at 50 concurrent clients, and a redeem including confirmation.

    .venv/bin/python scripts/bench_api.py [--members 100] [--clients 50] [--rate 10] [--seconds 10]

Setup (not timed): a fresh anvil chain, the contracts deployed, the spending benchmark's schemes
and catalogue (scripts/bench_spending.py), members with keys of their own holding points from
CSV batch issuance. The API runs under uvicorn in a process of its own (one worker) on loopback;
every member signs in (EIP-4361) and their balances and history are read once (the warm-up).

Then, for each read endpoint, each request being a random member reading their own wallet with
their own token (keep-alive connections from a minimal asyncio HTTP/1.1 client): one client alone
(the service time); ``--clients`` concurrent clients each sending ``--rate`` requests/s on a
Poisson schedule (open loop: a late answer counts from when it was due, so queueing shows); and
the same clients flat out (closed loop: the throughput; there latency is clients / throughput,
the length of the queue). Printed: requests/s, p50, p90 and p99 latency. Finally ``--redeems``
members each redeem one item, one after another, signing the relayed request on their side (the
428 round trip); the latency of the signed request, which returns when the chain has confirmed
the order, is what the p50 target is about. Targets (issue 5): reads p50 <= 5 ms, p99 <= 25 ms;
redeem p50 <= 150 ms. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from ledger.chain.node.host import free_port
from ledger.config import Settings
from scripts.bench_earning import bench_chain, cst_midnight
from scripts.bench_spending import issue, setup

REPO = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def api_env(settings: Settings, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an API process on `port` for `settings`' chain and store (rate limits
    out of the way), with `extra` added."""
    env = {
        **os.environ,
        "VPL_DATA_DIR": str(settings.data_dir),
        "VPL_DEPLOYMENTS_DIR": str(settings.deployments_dir),
        "VPL_RATE_LIMIT_PER_ACCOUNT": "10000000",
        "VPL_RATE_LIMIT_PER_IP": "10000000",
        "VPL_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    if settings.node is not None:  # a development node (anvil) the benchmark started
        env.update({"VPL_NODE": settings.node, "VPL_NODE_PORT": str(settings.node_port)})
    else:  # a network of its own file (the validator network)
        env.update({"VPL_NETWORK": settings.network, "VPL_CONFIG_DIR": str(settings.config_dir)})
        env.pop("VPL_NODE", None)
    env.update(extra or {})
    return env


def api_command(port: int) -> list[str]:
    """uvicorn serving the API on `port` (settings from the environment)."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip


def start_api(
    settings: Settings, port: int, extra: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[bytes]:
    """The API under uvicorn in a process of its own on `port` (environment `extra` added, and
    `popen` passed on: where its output goes), once it answers /health."""
    env = api_env(settings, port, extra)
    process = subprocess.Popen(api_command(port), cwd=REPO, env=env, **popen)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the API server exited")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the API server did not start")


def sign_in(http: httpx.Client, account: LocalAccount) -> str:
    message = http.post("/v1/auth/challenge", json={"address": account.address}).json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature
    answer = http.post(
        "/v1/auth/sign-in", json={"message": message, "signature": "0x" + bytes(signature).hex()}
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


class Connection:
    """One keep-alive HTTP/1.1 connection, as thin as a client gets in Python, so that the
    figures are the server's and not the load generator's."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, token: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


async def load(
    base: str,
    paths: list[tuple[str, str]],
    clients: int,
    seconds: float,
    *,
    rate: float | None = None,
) -> tuple[list[float], int]:
    """`clients` concurrent clients requesting random (path, token) pairs for `seconds`: as fast
    as they can (closed loop), or each at `rate` requests per second (open loop, on a schedule
    that does not wait for slow answers: a late answer counts from when it was due)."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    end = start + seconds

    async def one(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        connection = Connection(host, int(port))
        due = start + rng.random() / rate if rate else start
        while True:
            if rate:
                due += rng.expovariate(rate)
                if due > end:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0 = due
            else:
                t0 = time.perf_counter()
                if t0 > end:
                    return
            path, token = rng.choice(paths)
            status = await connection.get(path, token)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    return latencies, errors


def report(name: str, latencies: list[float], seconds: float, errors: int) -> None:
    ms = [x * 1000 for x in latencies]
    print(
        f"{name:<32} {len(ms) / seconds:8.0f} req/s   p50 {percentile(ms, 0.5):6.2f} ms   "
        f"p90 {percentile(ms, 0.9):6.2f} ms   p99 {percentile(ms, 0.99):6.2f} ms   "
        f"errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--redeems", type=int, default=50)
    parser.add_argument(
        "--rate", type=float, default=10.0, help="requests/s per client in the open-loop run"
    )
    args = parser.parse_args()
    with bench_chain() as (root, settings, ledger):
        server = None
        try:
            accounts: list[LocalAccount] = [Account.create() for _ in range(args.members)]
            members = [a.address for a in accounts]
            keys = setup(ledger, members)
            today = cst_midnight(ledger)
            for back in (3, 2):
                issue(ledger, keys, members, "VOL", today - back * 86400 + 8 * 3600, root)
            item, price = keys["items"]["VOL"]
            ledger.close()
            port = free_port()
            server = start_api(settings, port)
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as http:
                tokens: dict[str, str] = {a.address: sign_in(http, a) for a in accounts}
                reads: dict[str, list[tuple[str, str]]] = {
                    "GET balances": [(f"/v1/members/{m}/balances", t) for m, t in tokens.items()],
                }
                history = http.get(
                    f"/v1/members/{members[0]}/history",
                    headers={"Authorization": f"Bearer {tokens[members[0]]}"},
                )
                if history.status_code != 404:
                    reads["GET history"] = [
                        (f"/v1/members/{m}/history?limit=20", t) for m, t in tokens.items()
                    ]
                for paths in reads.values():  # warm-up: every member's wallet read once
                    for path, token in paths:
                        http.get(path, headers={"Authorization": f"Bearer {token}"})
            print(
                f"API on loopback, one uvicorn worker; {args.members} members, "
                f"{args.clients} concurrent clients, {args.seconds:.0f} s per endpoint"
            )
            for name, paths in reads.items():
                latencies, errors = asyncio.run(load(base, paths, 1, 3.0))
                report(f"{name}, 1 client", latencies, 3.0, errors)
                latencies, errors = asyncio.run(
                    load(base, paths, args.clients, args.seconds, rate=args.rate)
                )
                report(f"{name}, {args.clients} x {args.rate:g}/s", latencies, args.seconds, errors)
                latencies, errors = asyncio.run(load(base, paths, args.clients, args.seconds))
                report(f"{name}, {args.clients} flat out", latencies, args.seconds, errors)
            redeem_latencies = redeem(base, accounts[: args.redeems], tokens, item, price)
            ms = [x * 1000 for x in redeem_latencies]
            print(
                f"{'POST redeem (signed, mined)':<32} {len(ms):8d} orders   "
                f"p50 {statistics.median(ms):6.1f} ms   p90 {percentile(ms, 0.9):6.1f} ms   "
                f"max {max(ms):6.1f} ms"
            )
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)


def authorization(account: LocalAccount, answer: dict[str, Any]) -> dict[str, Any]:
    """The signed `authorization` for a 428 answer's typed data (what the body is sent again with)."""
    typed = answer["error"]["details"]["typed_data"]
    signature = account.sign_typed_data(full_message=typed).signature
    message = typed["message"]
    return {
        "nonce": message["nonce"],
        "deadline": message["deadline"],
        "gas": message["gas"],
        "signature": "0x" + bytes(signature).hex(),
    }


def redeem(
    base: str, accounts: Sequence[LocalAccount], tokens: dict[str, str], item: int, price: int
) -> list[float]:
    """Each account redeems one unit, one after another; the signed request's latency."""
    latencies = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for account in accounts:
            headers = {"Authorization": f"Bearer {tokens[account.address]}"}
            url = f"/v1/members/{account.address}/orders"
            body: dict[str, Any] = {"item_id": item, "quantity": 1, "unit_price": price}
            first = http.post(url, json=body, headers=headers)
            body["authorization"] = authorization(account, first.json())
            t0 = time.perf_counter()
            answer = http.post(url, json=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if answer.status_code != 201:
                raise RuntimeError(f"redeem failed: {answer.status_code} {answer.text}")
    return latencies


if __name__ == "__main__":
    main()
