"""Several API processes on one PostgreSQL store, as one service: members' gifts and reads through
one process, then through two; then the process following the chain into the event index is
killed, and the other takes over.

    .venv/bin/python scripts/processes_run.py [--seconds 20] [--clients 20] [--json FILE]

Setup: a fresh anvil chain, a PostgreSQL server of its own holding the store, the spending
benchmark's schemes, members with keys of their own holding VOL points. The API processes run
under uvicorn (one worker each) with ``VPL_API_PROCESSES=2`` and ``VPL_RELAYER=relayer,relayer-2``:
each relays with the first of those no other process holds.

Workload, for ``--seconds`` with one process and again with two (clients spread over them): each
client is a member giving one point to another member, again and again (signed on the client's
side: the 428 round trip, with an Idempotency-Key), and reading their balances after each gift.
Then the process holding the index follower's lease is killed (-9), and gifts go on through the
other for a few seconds.

Checks: exactly one process follows the chain at a time (``vpl_index_follower`` summed over the
processes), and after the kill the survivor takes over; a third process, finding both relayers
held, refuses to start, saying why; every acknowledged gift is on chain exactly once (the
``PointsGiven`` events of each member) and in the event index, which catches up with the chain.
Prints writes/s, reads/s and write latency for one process and for two, and the ratio; exits 1
if a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from ledger.audit.index.follow import Indexer
from ledger.chain.node.host import free_port
from ledger.config import Settings
from ledger.ledger import Ledger
from scripts.bench_api import (
    REPO,
    api_command,
    api_env,
    authorization,
    percentile,
    sign_in,
    start_api,
)
from scripts.bench_earning import bench_chain, cst_midnight
from scripts.bench_spending import issue, setup
from scripts.pg_server import postgres_server

RELAYERS = ("relayer", "relayer-2")
GIVEN = "0x" + keccak(text="PointsGiven(uint256,address,address,uint256,bytes32,address)").hex()


@dataclass
class Phase:
    """One stretch of the workload: what was sent and answered."""

    name: str
    seconds: float = 0.0
    gifts: int = 0
    reads: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies] or [0.0]
        return {
            "phase": self.name,
            "gifts_per_second": round(self.gifts / self.seconds, 1) if self.seconds else 0,
            "reads_per_second": round(self.reads / self.seconds, 1) if self.seconds else 0,
            "gift_p50_ms": round(percentile(ms, 0.5)),
            "gift_p99_ms": round(percentile(ms, 0.99)),
            "failures": len(self.failures),
        }


class Api:
    """One API process of the service."""

    def __init__(self, settings: Settings, relayer: str, log: Path) -> None:
        self.relayer = relayer
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        extra = {"VPL_RELAYER": ",".join(RELAYERS), "VPL_API_PROCESSES": str(len(RELAYERS))}
        self.process = start_api(settings, self.port, extra, stderr=self.log)

    def metric(self, name: str) -> float | None:
        try:
            text = httpx.get(f"{self.base}/metrics", timeout=10).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


def give(http: httpx.Client, token: str, me: LocalAccount, to: str) -> dict[str, Any]:
    """One gift of a point, signed after its 428, sent again with its key until answered."""
    url, key = f"/v1/members/{me.address}/gifts", uuid.uuid4().hex
    body: dict[str, Any] = {"scheme": "VOL", "recipient": to, "amount": 1}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    for _ in range(100):
        try:
            answer = http.post(url, json=body, headers=headers)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if answer.status_code == 428 and "authorization" not in body:
            body["authorization"] = authorization(me, answer.json())
            continue
        if answer.status_code >= 500 or answer.status_code == 409:
            time.sleep(float(answer.headers.get("Retry-After", "0.2")))
            continue
        if answer.status_code != 201:
            raise RuntimeError(f"gift refused: {answer.status_code} {answer.text[:300]}")
        data: dict[str, Any] = answer.json()
        return data
    raise RuntimeError("gift without an answer after 100 tries")


def work(
    apis: list[Api], accounts: list[LocalAccount], seconds: float, phase: Phase,
    acknowledged: dict[str, int], lock: threading.Lock,
) -> None:  # fmt: skip
    """Each member, on the process of their turn, gives and reads for `seconds`."""
    members = [a.address for a in accounts]
    end = time.monotonic() + seconds

    def client(i: int, me: LocalAccount) -> None:
        api = apis[i % len(apis)]
        rng = random.Random(i)
        with httpx.Client(base_url=api.base, timeout=60) as http:
            token = sign_in(http, me)
            while time.monotonic() < end:
                to = rng.choice([m for m in members if m != me.address])
                started = time.monotonic()
                try:
                    give(http, token, me, to)
                except RuntimeError as exc:
                    with lock:
                        phase.failures.append(str(exc))
                    return
                took = time.monotonic() - started
                read = http.get(
                    f"/v1/members/{me.address}/balances",
                    headers={"Authorization": f"Bearer {token}"},
                )
                with lock:
                    acknowledged[me.address] += 1
                    phase.gifts += 1
                    phase.latencies.append(took)
                    phase.reads += int(read.status_code == 200)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i, a)) for i, a in enumerate(accounts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.seconds = time.monotonic() - started


def followers(apis: list[Api]) -> list[str]:
    """The relayers of the processes reporting that they follow the chain."""
    return [a.relayer for a in apis if a.process.poll() is None and a.metric("vpl_index_follower")]


def wait_for(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return bool(check())


def given_on_chain(ledger: Ledger, member: str) -> int:
    topic = "0x" + "00" * 12 + member[2:].lower()
    logs = ledger.w3.eth.get_logs(
        {
            "fromBlock": ledger.manifest.deploy_block,
            "toBlock": "latest",
            "address": Web3.to_checksum_address(ledger.manifest.address("Gifts")),
            "topics": [GIVEN, None, topic],
        }
    )
    return len(logs)


def given_in_index(indexer: Indexer[Ledger], member: str) -> int:
    count, cursor = 0, None
    while True:
        page = indexer.events(event="PointsGiven", address=member, cursor=cursor, limit=200)
        count += sum(
            1 for e in page.entries if str(e.args.get("from", "")).lower() == member.lower()
        )
        cursor = page.next_cursor
        if cursor is None:
            return count


@contextmanager
def service() -> Iterator[list[Api]]:
    """The service's processes, stopped at the end."""
    apis: list[Api] = []
    try:
        yield apis
    finally:
        for api in apis:
            api.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    problems: list[str] = []
    phases: list[Phase] = []
    took_over: float | None = None
    with postgres_server() as server:
        os.environ["VPL_DATABASE_URL"] = server.url
        try:
            with bench_chain() as (root, settings, ledger):
                accounts = [Account.create() for _ in range(args.clients)]
                members = [a.address for a in accounts]
                keys = setup(ledger, members)
                issue(ledger, keys, members, "VOL", cst_midnight(ledger) - 2 * 86400, root)
                acknowledged = dict.fromkeys(members, 0)
                lock = threading.Lock()
                log = Path(root) / "api.log"
                with service() as apis:
                    apis.append(Api(settings, RELAYERS[0], log))
                    one = Phase("one process")
                    work(apis, accounts, args.seconds, one, acknowledged, lock)
                    phases.append(one)
                    apis.append(Api(settings, RELAYERS[1], log))
                    two = Phase("two processes")
                    work(apis, accounts, args.seconds, two, acknowledged, lock)
                    phases.append(two)
                    leading = followers(apis)
                    if len(leading) != 1:
                        problems.append(f"processes following the chain: {leading} (one expected)")
                    refused = refused_duplicate(settings)
                    if refused:
                        problems.append(refused)
                    leader = next((a for a in apis if a.relayer in leading), None)
                    survivor = next(a for a in apis if a is not leader)
                    if leader is not None:
                        leader.kill()
                        started = time.monotonic()
                        if wait_for(lambda: followers([survivor]) == [survivor.relayer], 20):
                            took_over = time.monotonic() - started
                        else:
                            problems.append("nobody followed the chain after the follower died")
                    after = Phase("after the kill")
                    work([survivor], accounts, min(args.seconds, 5.0), after, acknowledged, lock)
                    phases.append(after)
                    caught_up = wait_for(
                        lambda: httpx.get(f"{survivor.base}/ready", timeout=10).json().get(
                            "index_lag"
                        ) == 0,
                        30,
                    )  # fmt: skip
                    if not caught_up:
                        problems.append("the event index did not catch up with the chain")
                indexer: Indexer[Ledger] = Indexer(ledger)
                for member in members:
                    chain = given_on_chain(ledger, member)
                    indexed = given_in_index(indexer, member)
                    if not chain == indexed == acknowledged[member]:
                        problems.append(
                            f"{member}: acknowledged {acknowledged[member]}, on chain {chain}, "
                            f"in the index {indexed}"
                        )
                for phase in phases:
                    problems += [f"{phase.name}: {f}" for f in phase.failures[:5]]
        finally:
            del os.environ["VPL_DATABASE_URL"]
    rows = [p.row() for p in phases]
    ratio = (
        rows[1]["gifts_per_second"] / rows[0]["gifts_per_second"]
        if rows[0]["gifts_per_second"]
        else 0
    )
    return {
        "clients": args.clients,
        "seconds": args.seconds,
        "phases": rows,
        "two_to_one": round(ratio, 2),
        "takeover_seconds": None if took_over is None else round(took_over, 1),
        "acknowledged": sum(acknowledged.values()),
        "problems": problems,
    }


def refused_duplicate(settings: Settings) -> str | None:
    """A third process, finding both relayers held, must refuse to start, saying why; what went
    wrong if it did not."""
    port = free_port()
    env = api_env(settings, port, {"VPL_RELAYER": ",".join(RELAYERS)})
    done = subprocess.run(
        api_command(port), cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    if done.returncode == 0 or "is in use by another API process" not in done.stderr:
        return f"a process with a relayer in use started or said otherwise: {done.stderr[-500:]}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the outcome to this file")
    args = parser.parse_args(argv)
    outcome = run(args)
    print(f"{outcome['clients']} clients, {outcome['seconds']:g} s a phase, PostgreSQL store")
    for row in outcome["phases"]:
        print(
            f"{row['phase']:<16} gifts {row['gifts_per_second']:7.1f}/s  "
            f"reads {row['reads_per_second']:7.1f}/s  gift p50 {row['gift_p50_ms']:5d} ms  "
            f"p99 {row['gift_p99_ms']:5d} ms  failures {row['failures']}"
        )
    print(f"two processes / one: {outcome['two_to_one']:.2f}")
    print(f"the survivor followed the chain {outcome['takeover_seconds']} s after the kill")
    print(f"acknowledged gifts: {outcome['acknowledged']}, each on chain and in the index once")
    for problem in outcome["problems"]:
        print(f"PROBLEM: {problem}")
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2), encoding="utf-8")
    return 1 if outcome["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
