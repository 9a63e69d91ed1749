"""The event indexer: every event of our contracts in tables, members' history with the kind of
each movement, restarts, real reorgs, bad input; on SQLite and on a real PostgreSQL server.

The session chain is shared by the whole suite, so each index here starts at the deployment's
block and catches up with whatever the chain holds; assertions are about this module's members.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from ledger.audit.index.follow import Indexer
from ledger.audit.index.queries import IndexQueries
from ledger.chain.contracts import SchemeFlag
from ledger.errors import (
    IndexBehind,
    IndexMismatch,
    InputError,
    InvalidAddress,
    InvalidCursor,
    RecordNotFound,
    UnknownName,
)
from ledger.ledger import Ledger
from ledger.store.index import IndexSchema
from tests.audit_helpers import index_of, own_index
from tests.catalogue_helpers import list_item, new_shop
from tests.conftest import fresh_database
from tests.contracts.helpers import source, spare
from tests.earning_helpers import earn, earning_scheme, fund, two_hours_ago
from tests.exchange_helpers import exchange, exchange_scheme, grant_proxy
from tests.factories import new_holder, new_member, new_scheme
from tests.probes import issue_points, minter


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of its own for one test, on each backend."""
    return fresh_database(str(request.param), tmp_path, request)


@pytest.fixture(scope="module")
def indexer(
    ledger: Ledger,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Indexer]:
    """One index of the session chain per backend, shared by this module's tests (each syncs)."""
    url = fresh_database(backend, tmp_path_factory.mktemp(f"index-{backend}"), request)
    with own_index(ledger, url) as idx:
        yield idx


# --- movements and their kinds -------------------------------------------------------------------


def test_issuance_exchange_and_redemption_appear_in_history_with_their_kind(
    ledger: Ledger, indexer: Indexer
) -> None:
    # issued for an approved service record
    vol = earning_scheme(ledger)
    member = new_member(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, vol, member.address, start, end, grade="B")
    earned = ledger.points.balance_of(member.address, vol.id)
    # exchanged between two schemes (by the member's proxy)
    a, b = exchange_scheme(ledger, value=2000), exchange_scheme(ledger, value=1000)
    issue_points(ledger, member.address, a.id, 10, source())
    proxy = ledger.operator("issuer-vol")
    grant_proxy(ledger, member.address)
    q = ledger.exchange.quote(member=member.address, from_scheme=a.id, to_scheme=b.id, amount=5)
    done = exchange(ledger, member, a.id, b.id, 5, values=q.values, actor=proxy)
    # redeemed (held), then fulfilled (burned); and another redeemed, then cancelled (refunded)
    shop = new_shop(ledger)
    issue_points(ledger, member.address, shop.id, 300, source())
    fund(ledger, member.address)
    item = list_item(ledger, shop, price=100, per_member=5).item
    kept = ledger.catalogue.redeem(
        signer=member.account, member=member.address, item_id=item.id, unit_price=100
    )
    ledger.catalogue.fulfil(merchant=shop.merchant, order_id=kept.order.id, code="HHL-0001")
    back = ledger.catalogue.redeem(
        signer=member.account, member=member.address, item_id=item.id, unit_price=100
    )
    ledger.catalogue.cancel(account=member.account, order_id=back.order.id)

    report = indexer.sync()
    page = indexer.history(member.address, limit=500)

    assert report.to_block == ledger.w3.eth.block_number == page.indexed_block
    seen = [(e.scheme_id, e.kind, e.delta, e.reference) for e in page.entries]
    assert seen == [
        (shop.id, "redemption_refund", 100, f"order:{back.order.id}"),
        (shop.id, "redemption_hold", -100, f"order:{back.order.id}"),
        # the fulfilment burns the held points: the member's balance moved at the hold
        (shop.id, "redemption_hold", -100, f"order:{kept.order.id}"),
        (shop.id, "issued", 300, seen[3][3]),
        (b.id, "exchanged", done.out, seen[4][3]),
        (a.id, "exchanged", -done.used, seen[4][3]),
        (a.id, "issued", 10, seen[6][3]),
        (vol.id, "issued", earned, f"record:{record_id}"),
    ]
    assert seen[4][3] is not None and seen[4][3].startswith("exchange:")
    assert page.entries[-1].scheme == vol.scheme.code
    assert page.next_cursor is None and page.blocks_behind == 0
    fulfilled = indexer.events(tx_hash=_tx_of(indexer, "OrderFulfilled", kept.order.id))
    assert {e.event for e in fulfilled.entries} >= {"TransferSingle", "HoldSettled"}
    assert indexer.last_change_block(member.address) == page.entries[0].block
    only = indexer.history(member.address, kind="exchanged", scheme=b.code)
    assert [(e.kind, e.delta) for e in only.entries] == [("exchanged", done.out)]


def test_gifts_funds_and_the_time_bank_appear_with_their_kind(
    ledger: Ledger, indexer: Indexer
) -> None:
    worker = spare(0)
    scheme = new_scheme(ledger, flags=SchemeFlag.GIFTS)
    giver, friend = new_member(ledger), new_member(ledger)
    issue_points(ledger, giver.address, scheme.id, 100, source())
    ledger.members.grant_proxy(
        ledger.operator("registrar"), giver.address, worker.address, b"\x01" * 32
    )
    ledger.gifts.give(
        operator=worker,
        scheme=scheme.id,
        giver=giver.address,
        recipient=friend.address,
        amount=25,
        memo="谢谢",
    )
    fund = ledger.gifts.create_fund(
        issuer=ledger.operator("issuer-vol"),
        scheme=scheme.id,
        manager=spare(1).address,
        name=f"基金 {secrets.token_hex(4)}",
    ).fund
    ledger.gifts.donate(operator=worker, fund_id=fund.id, member=giver.address, amount=30)
    ledger.gifts.grant(
        manager=spare(1), fund_id=fund.id, recipient=friend.address, amount=10, purpose="帮扶"
    )
    time = new_scheme(
        ledger, issuer=ledger.operator("issuer-time").address, flags=SchemeFlag.TIME_BANK
    )
    elder, helper = new_member(ledger), new_member(ledger)
    issue_points(ledger, elder.address, time.id, 5, source())
    for m in (elder, helper):
        ledger.members.grant_proxy(
            ledger.operator("registrar"), m.address, worker.address, b"\x02" * 32
        )
    request = ledger.timebank.post(actor=worker, member=elder.address, scheme=time.id,
                                   kind="cleaning", hours=3, needs="打扫厨房").request.id  # fmt: skip
    ledger.timebank.accept(actor=worker, request_id=request, helper=helper.address)
    ledger.timebank.confirm(actor=worker, request_id=request)

    indexer.sync()

    def kinds(member: str) -> list[tuple[str, int, str | None]]:
        return [(e.kind, e.delta, e.reference) for e in indexer.history(member).entries]

    assert kinds(giver.address) == [
        ("fund_donation", -30, f"fund:{fund.id}"),
        ("gift", -25, None),
        ("issued", 100, kinds(giver.address)[-1][2]),
    ]
    assert kinds(friend.address) == [("fund_grant", 10, f"fund:{fund.id}"), ("gift", 25, None)]
    assert kinds(elder.address)[:2] == [
        ("timebank_hold", -3, f"request:{request}"),
        ("issued", 5, kinds(elder.address)[1][2]),
    ]
    assert kinds(helper.address) == [("timebank_payment", 3, f"request:{request}")]


def _tx_of(indexer: Indexer, event: str, order_id: int) -> str:
    page = indexer.events(contract="Catalogue", event=event, limit=500)
    return next(e.tx_hash for e in page.entries if e.args["orderId"] == order_id)


def test_every_event_is_kept_whole_and_found_by_account(ledger: Ledger, indexer: Indexer) -> None:
    member = new_member(ledger)
    scheme = new_scheme(ledger)
    tx = issue_points(ledger, member.address, scheme.id, 7, source())
    indexer.sync()

    page = indexer.events(tx_hash=tx.tx_hash)
    by_account = indexer.events(address=member.address)

    assert [e.event for e in page.entries] == ["PointsIssued", "TransferSingle"]  # newest first
    issued = page.entries[0]
    assert issued.contract == "PointsLedger" and issued.args["amount"] == 7
    assert issued.args["member"].lower() == member.address.lower()
    assert issued.timestamp.tzinfo is not None
    assert {e.event for e in by_account.entries} == {
        "MemberRegistered",
        "PointsIssued",
        "TransferSingle",
    }


def test_events_of_the_newest_blocks_are_not_final_before_the_networks_confirmations(
    ledger: Ledger, indexer: Indexer
) -> None:
    """A clique network can replace its newest blocks: what the index read from blocks with fewer
    than the network's confirmations on top is marked not final, in events and in history."""
    scheme = new_scheme(ledger)
    member = new_holder(ledger, scheme.id, 3)
    for _ in range(2):  # two blocks on top of it on anvil, one transaction a block
        issue_points(ledger, member.address, scheme.id, 1, source())
    indexer.sync()
    assert indexer.confirmations == ledger.network.confirmations == 0
    assert all(e.final for e in indexer.history(member.address).entries)

    waiting = IndexQueries(indexer.engine, confirmations=2)
    history = waiting.history(member.address)
    events = waiting.events(address=member.address)

    assert history.final_block == events.final_block == history.chain_head - 2
    assert [(e.delta, e.final) for e in history.entries] == [(1, False), (1, False), (3, True)]
    assert all(e.final == (e.block <= events.final_block) for e in events.entries)
    assert {e.final for e in events.entries} == {True, False}


# --- restarts, pagination, reorgs ------------------------------------------------------------------


def test_a_restarted_indexer_resumes_from_its_last_block_without_duplicates(
    ledger: Ledger, indexer: Indexer
) -> None:
    scheme = new_scheme(ledger)
    member = new_holder(ledger, scheme.id, 1)
    first = indexer.sync()
    issue_points(ledger, member.address, scheme.id, 2, source())

    with own_index(ledger, str(indexer.ledger.settings.database_url)) as again:
        second = again.sync()
        third = again.sync()
        assert second.from_block == first.to_block + 1 and second.events >= 2
        assert third.events == 0 and third.blocks == 0
        amounts = [e.delta for e in again.history(member.address).entries]
        assert amounts == [2, 1]


def test_pages_are_newest_first_and_stable_while_new_blocks_arrive(
    ledger: Ledger, indexer: Indexer
) -> None:
    member = new_member(ledger)
    scheme = new_scheme(ledger)
    for amount in range(1, 6):
        issue_points(ledger, member.address, scheme.id, amount, source())
    indexer.sync()
    first = indexer.history(member.address, limit=2)
    issue_points(ledger, member.address, scheme.id, 99, source())
    indexer.sync()
    assert first.next_cursor is not None
    second = indexer.history(member.address, limit=2, cursor=first.next_cursor)
    assert second.next_cursor is not None
    third = indexer.history(member.address, limit=2, cursor=second.next_cursor)

    deltas = [e.delta for p in (first, second, third) for e in p.entries]
    assert deltas == [5, 4, 3, 2, 1] and third.next_cursor is None
    assert [e.delta for e in indexer.history(member.address, limit=1).entries] == [99]
    later = datetime.now(UTC) + timedelta(days=3650)
    assert indexer.history(member.address, since=later).entries == ()


def test_a_reorg_on_anvil_is_rolled_back_and_the_new_branch_indexed(
    anvil_ledger: Ledger, database_url: str
) -> None:
    ledger = anvil_ledger
    with own_index(ledger, database_url) as idx:
        scheme = new_scheme(ledger)
        member = new_holder(ledger, scheme.id, 1)
        snapshot = ledger.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        issue_points(ledger, member.address, scheme.id, 50, source())
        issue_points(ledger, member.address, scheme.id, 60, source())
        before = idx.sync()
        assert [e.delta for e in idx.history(member.address).entries] == [60, 50, 1]

        ledger.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        ledger.sender.reset_nonce(minter().address)  # the chain forgot the two transactions
        issue_points(ledger, member.address, scheme.id, 7, source())
        after = idx.sync()

        assert after.reorg is not None and after.reorg.dropped_blocks >= 1
        assert after.reorg.fork_block < before.to_block
        assert [e.delta for e in idx.history(member.address).entries] == [7, 1]
        assert idx.status().blocks_behind == 0


# --- bad input and an index behind the chain -------------------------------------------------------


def test_bad_input_is_refused_with_a_clear_error(ledger: Ledger, indexer: Indexer) -> None:
    indexer.sync()
    member = new_member(ledger)
    with pytest.raises(InvalidAddress, match="is not an address"):
        indexer.history("0x1234")
    with pytest.raises(InvalidCursor, match="was not given by this index"):
        indexer.history(member.address, cursor="not-a-cursor!")
    with pytest.raises(InputError, match="limit must be a whole number from 1 to 500"):
        indexer.history(member.address, limit=10_000)
    with pytest.raises(InputError, match="limit"):
        indexer.events(limit=0)
    with pytest.raises(UnknownName, match="did you mean 'exchanged'"):
        indexer.history(member.address, kind="exchange")
    with pytest.raises(InputError, match="timezone-aware"):
        indexer.history(member.address, since=datetime(2026, 1, 1))
    with pytest.raises(InputError, match="0x and 64 hex digits"):
        indexer.events(tx_hash="0x123")
    with pytest.raises(RecordNotFound, match="no event of our contracts in transaction"):
        indexer.events(tx_hash="0x" + "ab" * 32)
    with pytest.raises(UnknownName, match="did you mean 'PointsLedger'"):
        indexer.events(contract="PointLedger")
    with pytest.raises(UnknownName, match="did you mean 'PointsIssued'"):
        indexer.events(event="PointIssued")
    assert indexer.history(member.address).entries == ()
    assert indexer.last_change_block(member.address) is None


def test_an_index_behind_the_chain_says_how_far_behind(ledger: Ledger, database_url: str) -> None:
    with own_index(ledger, database_url) as idx:
        deployed = idx.ledger.manifest.deploy_block
        report = idx.sync(max_blocks=3)
        status = idx.status()
        head = ledger.w3.eth.block_number
        assert report.to_block == status.indexed_block == deployed + 2
        assert status.chain_head == head and status.blocks_behind == head - deployed - 2
        with pytest.raises(IndexBehind, match=f"holds blocks up to {deployed + 2}") as caught:
            idx.events(block=head)
        assert caught.value.details["blocks_behind"] == head - deployed - 2
        page = idx.history(new_member(ledger).address)
        assert page.indexed_block == deployed + 2 and page.blocks_behind > 0


def test_an_index_of_another_deployment_is_refused(
    ledger: Ledger, anvil_ledger: Ledger, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    first = index_of(anvil_ledger, url)
    first.sync(max_blocks=1)
    other = index_of(ledger, url)
    try:
        with pytest.raises(IndexMismatch, match="vpl index reset"):
            other.sync()
        other.reset()
        assert other.sync(max_blocks=1).to_block == other.ledger.manifest.deploy_block
    finally:
        first.ledger.close()
        other.ledger.close()


def test_an_index_built_by_an_older_version_must_be_reset(ledger: Ledger, tmp_path: Path) -> None:
    with own_index(ledger, f"sqlite:///{tmp_path / 'old.db'}") as idx:
        idx.sync(max_blocks=1)
        with Session(idx.engine) as db:  # what an index of tables version 1 looks like
            db.delete(db.get(IndexSchema, 1))
            db.commit()
        with pytest.raises(IndexMismatch, match="another version of the indexer"):
            idx.sync(max_blocks=1)
        idx.reset()
        assert idx.sync(max_blocks=1).to_block == ledger.manifest.deploy_block


def test_run_follows_the_chain_until_stopped(ledger: Ledger, indexer: Indexer) -> None:
    scheme = new_scheme(ledger)
    member = new_holder(ledger, scheme.id, 3)
    synced = threading.Event()

    def seen(_report: object) -> None:
        if indexer.last_change_block(member.address) is not None:
            synced.set()
            indexer.stop()

    worker = threading.Thread(target=indexer.run, kwargs={"poll_seconds": 0.05, "on_sync": seen})
    worker.start()
    worker.join(timeout=60)
    assert synced.is_set() and not worker.is_alive()
