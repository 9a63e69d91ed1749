"""Relayed requests that arrive together go out in one forwarder transaction (``executeBatch``),
each standing on its own: every caller gets its own result (its own events only) or its own
refusal, and a refused or skipped request undoes nothing of the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import eth_abi
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain.contracts.catalogue import Item
from ledger.chain.contracts.service_records import forwarded_calls
from ledger.chain.relay import ForwardRequest, Relay
from ledger.chain.relay.batch import Batcher, Waiting
from ledger.chain.tx import TxResult
from ledger.errors import InsufficientBalance, StaleAuthorization
from ledger.ledger import Ledger
from tests.catalogue_helpers import Shop, grant_proxy, list_item, new_shop
from tests.contracts.helpers import events, spare
from tests.factories import Member, new_holder

Outcome = TxResult | Exception


def together(relay: Relay, sends: Sequence[Callable[[], TxResult]]) -> list[Outcome]:
    """Runs every send in its own thread while the relay sends nothing, until all of them wait
    for a transaction: then they go out together. The outcomes, in order."""
    outcomes: list[Outcome | None] = [None] * len(sends)

    def run(i: int) -> None:
        try:
            outcomes[i] = sends[i]()
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sends))]
    with relay.batcher.held():
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while relay.batcher.waiting() < len(sends):
            assert time.monotonic() < deadline, "the requests never all arrived"
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=120)
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def signed(relay: Relay, account: LocalAccount, to: str, data: str) -> tuple[ForwardRequest, bytes]:
    request = relay.prepare(account.address, to, data)
    return request, relay.sign(account, request)


def redeem(
    ledger: Ledger, relay: Relay, signer: LocalAccount, member: str, item: int, n: int, price: int
) -> Callable[[], TxResult]:
    c = ledger.catalogue_contract
    request, signature = signed(
        relay, signer, c.address, c._encode("redeem", member, item, n, price)
    )
    return lambda: relay.submit(request, signature)


def shop_and_relay(ledger: Ledger, *, price: int) -> tuple[Shop, Item, Relay]:
    """A new shop with an item at `price` (100 in stock, 5 a member), and a relay of its own."""
    shop = new_shop(ledger)
    return shop, list_item(ledger, shop, price=price, stock=100, per_member=5).item, Relay(ledger)


def test_requests_arriving_together_run_in_one_transaction_each_with_its_own_result(
    ledger: Ledger,
) -> None:
    shop, item, relay = shop_and_relay(ledger, price=10)
    members = [new_holder(ledger, shop.id, 50) for _ in range(5)]
    sends = [
        redeem(ledger, relay, m.account, m.address, item.id, k + 1, 10)
        for k, m in enumerate(members)
    ]
    before = relay.batcher.transactions

    results = together(relay, sends)

    assert all(isinstance(r, TxResult) for r in results), results
    assert len({r.tx_hash for r in results if isinstance(r, TxResult)}) == 1
    assert relay.batcher.transactions == before + 1
    c, p = ledger.catalogue_contract, ledger.points
    for k, (member, result) in enumerate(zip(members, results, strict=True)):
        assert isinstance(result, TxResult)
        [placed] = events(c, result, "OrderPlaced")  # its own order, no other member's
        assert (placed["member"], placed["quantity"], placed["points"]) == (
            member.address,
            k + 1,
            10 * (k + 1),
        )
        assert c.order(placed["orderId"]).member == member.address
        assert p.available_of(member.address, shop.id) == 50 - 10 * (k + 1)
    # a request sent again is answered with its own part of the batch, marked replayed
    again = sends[2]()
    assert (again.tx_hash, again.replayed) == (results[2].tx_hash, True)  # type: ignore[union-attr]
    [placed] = events(c, again, "OrderPlaced")
    assert (placed["member"], placed["quantity"]) == (members[2].address, 3)


def test_of_two_requests_spending_the_same_points_at_once_one_runs_and_the_other_says_why(
    ledger: Ledger,
) -> None:
    shop, item, relay = shop_and_relay(ledger, price=80)
    me, other = new_holder(ledger, shop.id, 100), new_holder(ledger, shop.id, 100)
    proxy = spare(2)
    grant_proxy(ledger, me.address, proxy.address)
    held = ledger.points.held_by(shop.id, ledger.catalogue_contract.address)
    sends = [
        redeem(ledger, relay, me.account, me.address, item.id, 1, 80),  # the member
        redeem(ledger, relay, proxy, me.address, item.id, 1, 80),  # their proxy, the same points
        redeem(ledger, relay, other.account, other.address, item.id, 1, 80),
    ]

    mine, proxied, others = together(relay, sends)

    won = [r for r in (mine, proxied) if isinstance(r, TxResult)]
    lost = [r for r in (mine, proxied) if not isinstance(r, TxResult)]
    assert len(won) == 1 and len(lost) == 1, (mine, proxied)
    assert isinstance(lost[0], InsufficientBalance)
    assert lost[0].error == "PointsInsufficientBalance"
    assert lost[0].args_by_name["balance"] == 20 and lost[0].details["tx_hash"] == won[0].tx_hash
    assert isinstance(others, TxResult) and others.tx_hash == won[0].tx_hash
    p = ledger.points
    assert (p.available_of(me.address, shop.id), p.available_of(other.address, shop.id)) == (20, 20)
    assert p.held_by(shop.id, ledger.catalogue_contract.address) == held + 160  # nothing twice


def test_a_request_whose_nonce_another_took_in_the_same_batch_is_refused_as_stale(
    ledger: Ledger,
) -> None:
    shop, item, relay = shop_and_relay(ledger, price=5)
    member: Member = new_holder(ledger, shop.id, 50)
    c = ledger.catalogue_contract
    # two requests signed with the same nonce, given to the batcher directly (past the relay's
    # own one-at-a-time check of a signer), as two processes would
    first, second = (
        signed(relay, member.account, c.address, c._encode("redeem", member.address, item.id, n, 5))
        for n in (1, 2)
    )
    assert first[0].nonce == second[0].nonce

    ran, stale = together(
        relay,
        [
            lambda: relay.batcher.run(*first, "first"),
            lambda: relay.batcher.run(*second, "second"),
        ],
    )

    assert isinstance(ran, TxResult)
    assert isinstance(stale, StaleAuthorization), stale
    assert [o.order.quantity for o in ledger.catalogue.orders(member=member.address)] == [1]
    # sent again: the one that ran is answered with its batch, the other is still stale
    again = relay.submit(*first)
    assert (again.tx_hash, again.replayed) == (ran.tx_hash, True)
    with pytest.raises(StaleAuthorization):
        relay.submit(*second)


def test_a_relayed_call_is_read_back_from_an_execute_or_a_batch_transactions_input() -> None:
    target, other = "0x" + "11" * 20, "0x" + "22" * 20
    request = "(address,address,uint256,uint256,uint48,bytes,bytes)"

    def forwarded(to: str, data: bytes) -> tuple[Any, ...]:
        return ("0x" + "33" * 20, to, 0, 100_000, 2**40, data, b"\x01" * 65)

    direct = b"\xaa\xbb\xcc\xdd" + b"\x00" * 32
    single = keccak(text=f"execute({request})")[:4] + eth_abi.encode(
        [request], [forwarded(target, b"one")]
    )
    batch = keccak(text=f"executeBatch({request}[],address)")[:4] + eth_abi.encode(
        [f"{request}[]", "address"],
        [[forwarded(target, b"one"), forwarded(other, b"two"), forwarded(target, b"three")], other],
    )
    assert forwarded_calls(direct, target) == [direct]
    assert forwarded_calls(single, target) == [b"one"]
    assert forwarded_calls(batch, target) == [b"one", b"three"]
    assert forwarded_calls(batch, other) == [b"two"]


def test_several_lanes_send_the_next_transaction_while_the_last_is_on_its_way() -> None:
    """With two lanes, two transactions are on their way at once and never more; a caller whose
    request is on its way only waits for it; each request is sent once and each caller gets its
    own outcome. (The lanes alone, with sends that wait to be released: what goes on chain in a
    batch is the tests above.)"""
    release = threading.Event()
    sent: list[int] = []
    guard = threading.Lock()

    def send_one(item: Waiting) -> Any:
        with guard:
            sent.append(item.request.nonce)
        release.wait(timeout=30)
        return ("ran", item.request.nonce)

    batcher = Batcher(
        send_one=send_one,
        send_batch=lambda items, gas: pytest.fail("one request a transaction here"),
        why_not=lambda item, result, skipped: pytest.fail("nothing is refused here"),
        block_gas=lambda: 30_000_000,
        block_time=lambda number: 0,
        most=1,
        lanes=2,
    )
    outcomes: dict[int, Any] = {}

    def caller(nonce: int) -> None:
        request = ForwardRequest(
            sender=Account.create().address, to=Account.create().address, data=b"", nonce=nonce,
            deadline=2**40, gas=100_000,
        )  # fmt: skip
        outcomes[nonce] = batcher.run(request, b"\0" * 65, "test")

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(1, 6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(sent) < 2 or batcher.waiting() < 3:
        assert time.monotonic() < deadline, (sent, batcher.waiting())
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(sent) == 2  # the other three wait for a lane
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(sent) == [1, 2, 3, 4, 5]
    assert outcomes == {n: ("ran", n) for n in range(1, 6)}
    assert batcher.most_in_flight == 2 and batcher.transactions == 5


def test_with_two_lanes_a_second_transaction_leaves_while_the_first_waits_to_be_mined(
    ledger: Ledger,
) -> None:
    """On a chain that has not mined the first relayed transaction yet, a second request goes
    out at once in a transaction of its own (the relayer's next nonce), and both run in the next
    block, each caller with its own order."""
    shop, item, _ = shop_and_relay(ledger, price=10)
    relay = Relay(ledger, lanes=2)
    members = [new_holder(ledger, shop.id, 50) for _ in range(2)]
    sends = [redeem(ledger, relay, m.account, m.address, item.id, 1, 10) for m in members]
    rpc = ledger.w3.provider.make_request
    results: list[Outcome | None] = [None, None]

    def run(i: int) -> None:
        try:
            results[i] = sends[i]()
        except Exception as exc:  # the outcome under test
            results[i] = exc

    def pending() -> int:
        answer = rpc("txpool_status", [])  # type: ignore[arg-type]
        return int(answer["result"]["pending"], 16)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while pending() < 2:
            assert time.monotonic() < deadline, "the second transaction never left"
            time.sleep(0.02)
        assert relay.batcher.most_in_flight == 2
        rpc("evm_mine", [])  # type: ignore[arg-type]
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]
    for thread in threads:
        thread.join(timeout=60)
    first, second = results
    assert isinstance(first, TxResult) and isinstance(second, TxResult), results
    assert first.tx_hash != second.tx_hash and first.block_number == second.block_number
    c = ledger.catalogue_contract
    for member, result in zip(members, (first, second), strict=True):
        [placed] = events(c, result, "OrderPlaced")
        assert placed["member"] == member.address
