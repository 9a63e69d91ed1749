"""Soak: many clients at once through the HTTP API for a long while, with the API following the
chain into its event index; no answer may be a 5xx, and the API's memory must stay flat.

    .venv/bin/python scripts/soak.py [--seconds 600] [--clients 50] [--json FILE]

Setup as ``scripts/fault_run.py`` (a fresh anvil chain, members holding VOL points, the API under
uvicorn in a process of its own, following the chain). Each client is a member who, in a loop,
writes (redeems one unit, gives one point to another member, or cancels their oldest held order, in
turn; each signed on the client's side, with an Idempotency-Key) and reads (their balances, their
orders, their history, the catalogue). Printed: per route, the requests, the p50 and p99 latency
and the 5xx answers (a write's too when it was then sent again); the API process's resident memory
(RSS) a tenth into the run and at its end; and the checks of ``scripts/fault_run.py`` (each
acknowledged write on chain once, the balances, the index's reconciliation of every scheme, the
store's anchor). Exits 1 on any 5xx, a failed check, or resident memory grown by more than
``--rss-growth`` (default 30%).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.ledger import Ledger
from scripts.bench_api import percentile, sign_in
from scripts.bench_earning import bench_chain, cst_midnight
from scripts.bench_spending import issue, setup
from scripts.fault_run import Api, audit
from scripts.fault_workload import STOPPED, Write, available, check, send

Latencies = dict[str, list[tuple[float, int]]]


def rss_kib(pid: int) -> int:
    """A process's resident memory, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def timed(seen: Latencies, lock: threading.Lock, route: str, call: object) -> httpx.Response:
    started = time.perf_counter()
    answer: httpx.Response = call()  # type: ignore[operator]
    with lock:
        seen[route].append((time.perf_counter() - started, answer.status_code))
    return answer


#: The route of each kind of write.
ROUTES = {
    "order": "POST /v1/members/{a}/orders",
    "cancel": "POST /v1/members/{a}/orders/{id}/cancel",
    "gift": "POST /v1/members/{a}/gifts",
}


def client(
    base: str, account: LocalAccount, members: list[str], item: int, price: int, end: float,
    tokens: dict[str, str], writes: list[Write], seen: Latencies, lock: threading.Lock,
) -> None:  # fmt: skip
    """A member writing and reading until `end`."""
    others = [m for m in members if m != account.address]
    me = account.address
    held: list[int] = []
    with httpx.Client(base_url=base, timeout=120) as http:
        turn = 0
        while time.monotonic() < end:
            turn += 1
            key = str(uuid.uuid4())
            if turn % 3 == 1 or (turn % 3 == 0 and not held):
                w = Write("order", me, None, key, f"/v1/members/{me}/orders")
                w.body = {"item_id": item, "quantity": 1, "unit_price": price}
            elif turn % 3 == 0:
                w = Write("cancel", me, None, key, f"/v1/members/{me}/orders/{held.pop(0)}/cancel")
            else:
                to = random.choice(others)
                w = Write("gift", me, to, key, f"/v1/members/{me}/gifts")
                w.body = {"scheme": "VOL", "recipient": to, "amount": 1}
            with lock:
                writes.append(w)
            started = time.perf_counter()
            send(http, tokens, account, w)  # the 428 round trip included
            with lock:
                seen[ROUTES[w.kind]].append((time.perf_counter() - started, w.status or 0))
            if w.kind == "order" and w.acknowledged:
                held.append(int(w.answer["id"]))
            headers = {"Authorization": f"Bearer {tokens[me]}"}
            reads = (
                ("GET /v1/members/{a}/balances", f"/v1/members/{me}/balances"),
                ("GET /v1/members/{a}/orders", f"/v1/members/{me}/orders"),
                ("GET /v1/members/{a}/history", f"/v1/members/{me}/history"),
                ("GET /v1/catalogue/items", "/v1/catalogue/items"),
            )
            for read_route, url in reads:
                timed(seen, lock, read_route, lambda u=url, h=headers: http.get(u, headers=h))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rss-growth", type=float, default=0.30)
    parser.add_argument("--json", type=Path, help="write the outcome here as JSON")
    args = parser.parse_args(argv)

    seen: Latencies = defaultdict(list)
    writes: list[Write] = []
    lock = threading.Lock()
    rss: list[tuple[float, int]] = []
    with bench_chain() as (root, settings, ledger):
        accounts: list[LocalAccount] = [Account.create() for _ in range(args.clients)]
        members = [a.address for a in accounts]
        keys = setup(ledger, members)
        today = cst_midnight(ledger)
        for back in (5, 4, 3):  # 150 points each
            issue(ledger, keys, members, "VOL", today - back * 86400 + 8 * 3600, root)
        item, price = keys["items"]["VOL"]
        start_points = available(ledger, members, ("VOL",))
        rpc_url = ledger.network.rpc_url
        ledger.close()
        api = Api(settings)
        try:
            with httpx.Client(base_url=api.base, timeout=60) as http:
                tokens: dict[str, str] = {a.address: sign_in(http, a) for a in accounts}
            start = time.monotonic()
            end = start + args.seconds
            shared = (members, item, price, end, tokens, writes, seen, lock)
            threads = [
                threading.Thread(target=client, args=(api.base, a, *shared)) for a in accounts
            ]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                rss.append((time.monotonic() - start, rss_kib(api.process.pid)))
                time.sleep(min(5.0, args.seconds / 20))
            for t in threads:
                t.join()
            ledger = Ledger(settings)
            signers: dict[str, LocalAccount] = {a.address: a for a in accounts}
            counts, problems = check(ledger, api.base, writes, signers, tokens, price, start_points)
            ledger.close()
        finally:
            STOPPED.set()
            api.stop()
        STOPPED.clear()
        problems += audit(settings, rpc_url)

    elapsed = args.seconds
    # a write answered 5xx, then sent again with its key until it had a definite answer: each of
    # those 5xx counts as well
    retried: Counter[str] = Counter(
        ROUTES[w.kind] for w in writes for status in w.transient if status >= 500
    )
    final = sum(1 for route in seen.values() for _, status in route if status >= 500)
    errors = final + retried.total()
    total = sum(len(route) for route in seen.values())
    print(f"soak: {args.clients} clients, {elapsed:.0f} s, the API following the chain")
    print(f"  {'route':42} {'requests':>8} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'5xx':>5}")
    for route in sorted(seen):
        ms = [s * 1000 for s, _ in seen[route]]
        bad = sum(1 for _, status in seen[route] if status >= 500) + retried[route]
        print(f"  {route:42} {len(ms):8d} {len(ms) / elapsed:7.1f} {percentile(ms, 0.5):8.1f} "
              f"{percentile(ms, 0.99):8.1f} {bad:5d}")  # fmt: skip
    early = next((kib for at, kib in rss if at >= elapsed / 10), rss[0][1] if rss else 0)
    last = rss[-1][1] if rss else 0
    growth = (last - early) / early if early else 0.0
    print(f"  requests {total} ({total / elapsed:.1f}/s), 5xx {errors} ({retried.total()} of them "
          "answered to a write that was then sent again)")  # fmt: skip
    print(f"  API resident memory: {early / 1024:.1f} MiB a tenth in, {last / 1024:.1f} MiB at the "
          f"end ({growth:+.1%})")  # fmt: skip
    print(f"  writes acknowledged {sum(w.acknowledged for w in writes)} of {len(writes)}; "
          f"lost {counts['lost']}, doubled {counts['doubled']}")  # fmt: skip
    if growth > args.rss_growth:
        problems.append(f"resident memory grew {growth:.1%}, over {args.rss_growth:.0%}")
    for problem in problems:
        print("  PROBLEM", problem)
    if args.json:
        outcome = {
            "requests": total,
            "errors_5xx": errors,
            "errors_5xx_retried": retried.total(),
            "rss_kib": [early, last],
            "routes": {
                r: {
                    "requests": len(v),
                    "p99_ms": percentile([s * 1000 for s, _ in v], 0.99),
                }
                for r, v in seen.items()
            },
            **counts,
            "problems": problems,
        }
        args.json.write_text(json.dumps(outcome, indent=2), encoding="utf-8")
    return 1 if errors or problems or counts["lost"] or counts["doubled"] else 0


if __name__ == "__main__":
    sys.exit(main())
