"""The ledger's work on the validator network, with a validator stopped in the middle of it.

A batch file of 2,000 records and 20 members writing through the relayer at the same time; the
validator whose RPC the client uses is stopped while both run. Every record is paid exactly once,
every member write lands once, supply reconciles, the event index equals the chain; restarted,
the validator rejoins at the others' head. An exchange and a redemption run on the network too.
"""

from __future__ import annotations

import csv
import os
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from ledger.audit.checks.supply import reconcile
from ledger.audit.index.follow import Indexer
from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.relay import KeySigner, Relay
from ledger.chain.validators import ValidatorNetwork
from ledger.earning.batch.pay import run_batch
from ledger.earning.batch.plan import plan_batch
from ledger.ledger import Ledger
from ledger.values import CST
from tests.catalogue_helpers import Shop, list_item
from tests.earning_helpers import LOOSE
from tests.exchange_helpers import exchange_scheme
from tests.factories import new_scheme
from tests.network.test_validators import heads, wait_until

RECORDS = 2_000
WRITERS = 20
GIFTS_EACH = 3
HEADER = ["record_id", "volunteer", "start", "end", "grade", "activity", "place", "content",
          "organising_unit", "person_in_charge", "evidence_hash"]  # fmt: skip


@dataclass(frozen=True)
class World:
    ledger: Ledger
    scheme: Scheme
    writers: list[LocalAccount]
    members: list[str]
    #: 00:00 China time of the latest block's day.
    today: int


@pytest.fixture(scope="module")
def world(network_ledger: Ledger) -> World:
    """A scheme that pays, gives, exchanges and redeems; 2,000 registered members, the first 20
    with keys here; the scheme's staff."""
    ledger = network_ledger
    issuer = ledger.operator("issuer-vol")
    flags = SchemeFlag.GIFTS | SchemeFlag.EXCHANGE_OUT | SchemeFlag.EXCHANGE_IN
    scheme = new_scheme(
        ledger, issuer=issuer.address, quota=10**12, flags=flags | SchemeFlag.REDEMPTION
    )
    ledger.publish_duration_rule(
        issuer=issuer, scheme=scheme.id, points_per_hour=10, grades={"A": "1.2", "B": "1.0"}
    )
    for name, operator in (("organiser", "issuer-bee"), ("reviewer", "reviewer-1"),
                           ("merchant", "merchant-1")):  # fmt: skip
        ledger.set_scheme_role(
            issuer=issuer,
            scheme=scheme.id,
            role_name=name,
            account=ledger.operator(operator).address,
            grant=True,
        )
    ledger.earning.set_limits(issuer=issuer, scheme=scheme.id, limits=LOOSE)
    ledger.earning.set_reviewer_cap(
        issuer=issuer, scheme=scheme.id, reviewer=ledger.operator("reviewer-1").address,
        per_hour=1_000_000,
    )  # fmt: skip
    writers = [Account.create() for _ in range(WRITERS)]
    members = [w.address for w in writers]
    members += [Account.create().address for _ in range(RECORDS - WRITERS)]
    registrar = ledger.operator("registrar")
    for first in range(0, RECORDS, 200):
        part = members[first : first + 200]
        ledger.members.register_batch(registrar, part, [keccak(text=m) for m in part])
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    today = (now + 8 * 3600) // 86400 * 86400 - 8 * 3600
    return World(ledger, scheme, writers, members, today)


def write_file(path: Path, members: list[str], day_start: int, tag: str) -> Path:
    """One hour of service (10 points at grade B) per member, staggered by the minute."""

    def iso(t: int) -> str:
        return datetime.fromtimestamp(t, CST).isoformat(timespec="minutes")

    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i, member in enumerate(members):
            start = day_start + 8 * 3600 + (i % 300) * 60
            out.writerow([f"{tag}-{i}", member, iso(start), iso(start + 3600), "B", "助老送餐",
                          "百瑞景社区", "为独居老人送午餐", "百瑞景社区居委会", "王主任",
                          "0x" + os.urandom(32).hex()])  # fmt: skip
    return path


def pay(world: World, path: Path, **kwargs: object) -> object:
    ledger = world.ledger
    organiser, reviewer = ledger.operator("issuer-bee"), ledger.operator("reviewer-1")
    plan = plan_batch(ledger, path, scheme=world.scheme.id, organiser=organiser.address,
                      reviewer=reviewer.address)  # fmt: skip
    plan.raise_if_bad()
    return run_batch(ledger, plan, organiser=organiser, reviewer=reviewer, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def stopped_and_restarted(validator_network: ValidatorNetwork) -> Iterator[threading.Event]:
    """Set the event to stop validator 1 (the client's node); it is started again afterwards."""
    stop = threading.Event()
    stopped = threading.Event()

    def stopper() -> None:
        if stop.wait(600):
            validator_network.stop_node(1)
            stopped.set()

    thread = threading.Thread(target=stopper, daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(60)
    assert stopped.is_set()
    validator_network.start_node(1)


def test_a_batch_and_member_writes_run_on_while_a_validator_stops_and_nothing_is_lost(
    world: World,
    validator_network: ValidatorNetwork,
    stopped_and_restarted: threading.Event,
    tmp_path: Path,
) -> None:
    ledger, scheme = world.ledger, world.scheme
    assert ledger.network.rpc_url == validator_network.validator(1).rpc_url
    # the writers earn first, so they have points to give while the big file is paid
    pay(world, write_file(tmp_path / "writers.csv", [w.address for w in world.writers],
                          world.today - 2 * 86400, "W"))  # fmt: skip
    before = {m: ledger.points.balance_of(m, scheme.id) for m in world.members}
    assert all(before[w.address] == 10 for w in world.writers)
    relay = Relay(ledger)
    gifts: list[str] = []

    def writer(index: int) -> None:
        signer = KeySigner(account=world.writers[index], relay=relay)
        recipient = world.writers[(index + 1) % WRITERS].address
        for _ in range(GIFTS_EACH):
            receipt = ledger.gifts.give(operator=signer, scheme=scheme.id, giver=signer.address,
                                        recipient=recipient, amount=1)  # fmt: skip
            assert receipt.tx_hash is not None
            gifts.append(receipt.tx_hash)

    def stop_after_first_chunk(done: int, total: int) -> None:
        if done:
            stopped_and_restarted.set()

    path = write_file(tmp_path / "day.csv", world.members, world.today - 86400, "D")
    with ThreadPoolExecutor(WRITERS + 1) as pool:
        batch = pool.submit(pay, world, path, progress=stop_after_first_chunk)
        writes = [pool.submit(writer, i) for i in range(WRITERS)]
        failed = [str(w.exception()) for w in writes if w.exception() is not None]
        report = batch.result()
    assert failed == [], failed

    assert report.paid_records == RECORDS  # type: ignore[attr-defined]
    after = {m: ledger.points.balance_of(m, scheme.id) for m in world.members}
    # each record paid once (10 points); the gifts go round the writers' ring: no balance changes
    assert {m: after[m] - before[m] for m in world.members} == dict.fromkeys(world.members, 10)
    # every gift ran once: relayed together, several may share a transaction
    receipts = [ledger.w3.eth.get_transaction_receipt(h) for h in set(gifts)]  # type: ignore[arg-type]
    assert [r["status"] for r in receipts] == [1] * len(receipts)
    given = ledger.gifts_contract.contract.events.PointsGiven()
    ran = [e for r in receipts for e in given.process_receipt(r, errors=DISCARD)]
    assert len(ran) == len(gifts) == WRITERS * GIFTS_EACH

    index = Indexer(ledger)
    index.sync()
    assert reconcile(ledger, index, scheme.id).balanced
    for writer_account in world.writers[:3]:
        history = index.history(writer_account.address, scheme=scheme.id, limit=100)
        assert sum(e.delta for e in history.entries) == after[writer_account.address]
        assert sum(1 for e in history.entries if e.kind == "gift" and e.delta < 0) == GIFTS_EACH
    assert sum(index.history(m, scheme=scheme.id).entries[0].delta
               for m in world.members[WRITERS:WRITERS + 50]) == 500  # fmt: skip


def test_the_stopped_validator_rejoins_at_the_others_head(
    validator_network: ValidatorNetwork,
) -> None:
    first = validator_network.validator(1)
    wait_until(lambda: validator_network.node_status(first).running, what="validator 1 running")
    target = max(h or 0 for h in heads(validator_network))
    wait_until(lambda: (validator_network.node_status(first).head or 0) >= target,
               what="validator 1 to catch up")  # fmt: skip
    wait_until(lambda: validator_network.node_status(first).peers == len(heads(validator_network)) - 1,
               what="validator 1 to reconnect")  # fmt: skip


def test_an_exchange_and_a_redemption_on_the_network(world: World, tmp_path: Path) -> None:
    ledger, scheme = world.ledger, world.scheme
    member = Account.create()  # of its own: the test runs alone as well as after the others
    ledger.members.register_batch(
        ledger.operator("registrar"), [member.address], [keccak(text=member.address)]
    )
    signer = KeySigner(account=member, relay=Relay(ledger))
    other = exchange_scheme(ledger, value=1000)
    pay(world, write_file(tmp_path / "x.csv", [member.address], world.today - 3 * 86400, "X"))
    held = ledger.points.balance_of(member.address, scheme.id)
    assert held >= 10

    quote = ledger.exchange.quote(member=member.address, from_scheme=scheme.id,
                                  to_scheme=other.id, amount=2, actor=member.address)  # fmt: skip
    assert quote.ok, quote.lines()
    done = ledger.exchange.execute(actor=signer, member=member.address, from_scheme=scheme.id,
                                   to_scheme=other.id, amount=2, values=quote.values)  # fmt: skip
    assert done.out == quote.out
    assert ledger.points.balance_of(member.address, other.id) == quote.out

    shop = Shop(scheme, ledger.operator("issuer-vol"), ledger.operator("merchant-1"))
    item = list_item(ledger, shop, price=3, stock=5).item
    order = ledger.catalogue.redeem(signer=signer, member=member.address, item_id=item.id,
                                    quantity=1, unit_price=3,
                                    request_key=secrets.token_hex(8))  # fmt: skip
    assert order.status == "held" and order.order.quantity == 1
    # the exchange took 2 points, the order holds 3 until the merchant hands the item over
    assert ledger.points.balance_of(member.address, scheme.id) == held - 2 - 3
