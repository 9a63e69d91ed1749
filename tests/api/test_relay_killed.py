"""The API process killed (kill -9) while relayed requests wait to be mined, in one batch or in
several lanes at once: what it sent still runs once, and each member sending their signed request
again to a new process gets their own order back, marked replayed; nothing runs twice."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_utils import keccak

from ledger.chain.node.host import free_port
from ledger.ledger import Ledger
from scripts.bench_api import authorization, sign_in, start_api
from tests.catalogue_helpers import list_item, new_shop
from tests.factories import Member, new_holder

MEMBERS = 3
EXECUTE_BATCH = keccak(
    text="executeBatch((address,address,uint256,uint256,uint48,bytes,bytes)[],address)"
)[:4]


def pending(ledger: Ledger) -> int:
    answer = ledger.w3.provider.make_request("txpool_status", [])  # type: ignore[arg-type]
    return int(answer["result"]["pending"], 16)


def wait_until(condition: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def orders(ledger: Ledger, member: str) -> dict[int, int]:
    return {o.order.id: o.order.quantity for o in ledger.catalogue.orders(member=member)}


Signed = list[tuple[str, dict[str, str], dict[str, Any]]]


def signed_orders(base: str, members: list[Member], item_id: int) -> Signed:
    """Each member's signed request for one unit of the item: the 428 round trip, then signed."""
    signed: Signed = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for m in members:
            token = sign_in(http, m.account)
            url = f"/v1/members/{m.address}/orders"
            headers = {"Authorization": f"Bearer {token}"}
            body: dict[str, Any] = {"item_id": item_id, "quantity": 1, "unit_price": 10}
            first = http.post(url, json=body, headers=headers)
            assert first.status_code == 428, first.text
            signed.append(
                (url, headers, {**body, "authorization": authorization(m.account, first.json())})
            )
    return signed


def sender(base: str, signed: Signed, i: int) -> threading.Thread:
    def send() -> None:
        url, headers, body = signed[i]
        with contextlib.suppress(httpx.HTTPError):  # the process is killed under it
            httpx.post(base + url, json=body, headers=headers, timeout=60)

    return threading.Thread(target=send, daemon=True)


@contextlib.contextmanager
def member_orders(ledger: Ledger) -> Iterator[tuple[str, list[Member], Signed, Any]]:
    """An API process, members holding 50 points each and their signed orders for one unit of
    an item; the chain then mines only when told (`evm_mine`). Yields the API's address, the
    members, their signed requests and the process; mining on its own again afterwards, the
    process stopped if still running, each member's points checked (one order of 10 each)."""
    shop = new_shop(ledger)
    item = list_item(ledger, shop, price=10, stock=100, per_member=5).item
    members: list[Member] = [new_holder(ledger, shop.id, 50) for _ in range(MEMBERS)]
    port = free_port()
    server = start_api(ledger.settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        signed = signed_orders(base, members, item.id)
        ledger.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        yield base, members, signed, server
    finally:
        ledger.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    each_sends_again_and_gets_its_own_order(ledger, members, signed)
    for m in members:
        assert ledger.points.available_of(m.address, shop.id) == 40


def each_sends_again_and_gets_its_own_order(
    ledger: Ledger, members: list[Member], signed: Signed
) -> None:
    """After the kill: each member holds one order; sending the signed request again to a new
    process answers that order, marked replayed, and nothing runs twice."""
    placed = {m.address: orders(ledger, m.address) for m in members}
    assert all(list(o.values()) == [1] for o in placed.values()), placed
    port = free_port()
    server = start_api(ledger.settings, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for m, (url, _, body) in zip(members, signed, strict=True):
                headers = {"Authorization": f"Bearer {sign_in(http, m.account)}"}
                again = http.post(url, json=body, headers=headers)
                assert again.status_code == 200, again.text
                assert again.headers["Relay-Replayed"] == "true"
                assert again.json()["member"] == m.address
                assert again.json()["id"] in placed[m.address]  # its own order, not another's
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert {m.address: orders(ledger, m.address) for m in members} == placed  # nothing twice


def test_a_batch_in_flight_when_the_api_is_killed_runs_once_and_each_gets_its_own_order(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one relayed transaction on its way at a time: the later requests wait for the first and go
    # out together (with more lanes each would leave at once, in a transaction of its own)
    monkeypatch.setenv("VPL_RELAY_LANES", "1")
    rpc = ledger.w3.provider.make_request
    with member_orders(ledger) as (base, _, signed, server):
        threads = [sender(base, signed, i) for i in range(MEMBERS)]
        threads[0].start()
        wait_until(lambda: pending(ledger) == 1, "the first request never reached the pool")
        for thread in threads[1:]:
            thread.start()
        time.sleep(2)  # the others pass their checks and wait for the first transaction
        rpc("evm_mine", [])  # type: ignore[arg-type]  # the first runs; the others go out together
        wait_until(lambda: pending(ledger) == 1, "the other requests never reached the pool")
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        rpc("evm_mine", [])  # type: ignore[arg-type]  # what the killed process sent runs once
        [batch] = ledger.w3.eth.get_block("latest", full_transactions=True)["transactions"]
        assert bytes(batch["input"])[:4] == EXECUTE_BATCH  # type: ignore[call-overload]  # the two, together


def test_several_lanes_in_flight_when_the_api_is_killed_each_run_once(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With lanes, each request leaves in a transaction of its own, with the relayer's next
    nonces, without waiting for the others: killed with all of them in the pool, each runs once,
    in nonce order, and each member sending again gets their own order back."""
    monkeypatch.setenv("VPL_RELAY_LANES", str(MEMBERS))
    with member_orders(ledger) as (base, _, signed, server):
        for thread in [sender(base, signed, i) for i in range(MEMBERS)]:
            thread.start()
        wait_until(lambda: pending(ledger) == MEMBERS, "the requests never all reached the pool")
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        sent = ledger.w3.eth.get_block("latest", full_transactions=True)["transactions"]
        assert len(sent) == MEMBERS  # what the killed process sent runs once
        assert len({tx["from"] for tx in sent}) == 1  # type: ignore[index]  # the relayer's
        nonces = [int(tx["nonce"]) for tx in sent]  # type: ignore[index]
        assert nonces == list(range(nonces[0], nonces[0] + MEMBERS))  # none reused or skipped
        for tx in sent:
            receipt = ledger.w3.eth.get_transaction_receipt(tx["hash"])  # type: ignore[index]
            assert receipt["status"] == 1
