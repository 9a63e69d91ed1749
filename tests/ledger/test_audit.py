"""Supply reconciliation: the PointsLedger's counters at a block against what the event index's
movements add up to; any difference is a finding, with the figures on both sides."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from ledger.audit.checks.members import event_rows, member_file
from ledger.audit.checks.quota import quota_data, quota_use
from ledger.audit.checks.supply import reconcile
from ledger.audit.index.follow import Indexer
from ledger.chain.contracts import Scheme
from ledger.errors import IndexBehind, InputError, UnknownScheme
from ledger.ledger import Ledger
from ledger.store.index import IndexEvent, PointMovement
from ledger.values import CST
from tests.audit_helpers import own_index
from tests.earning_helpers import earn, earning_scheme, two_hours_ago
from tests.exchange_helpers import exchange_scheme, exchanged, holder
from tests.factories import Member, new_member


def synced_holder(ledger: Ledger, indexer: Indexer, points: int) -> tuple[Scheme, Member]:
    """A fresh exchange scheme and a member holding `points` of it, both in the synced index."""
    scheme = exchange_scheme(ledger)
    member = holder(ledger, scheme, points)
    indexer.sync()
    return scheme, member


def test_supply_reconciles_now_and_at_an_earlier_block(ledger: Ledger, indexer: Indexer) -> None:
    a, b, _, before = exchanged(ledger)
    indexer.sync()
    now_a = reconcile(ledger, indexer, a.code)
    assert now_a.balanced, now_a.findings
    assert (now_a.issued, now_a.burned, now_a.total_supply) == (300, 100, 200)
    assert (now_a.created, now_a.destroyed, now_a.in_accounts, now_a.holders) == (300, 100, 200, 1)
    now_b = reconcile(ledger, indexer, b.id)
    assert now_b.balanced and (now_b.minted, now_b.in_accounts) == (200, 200)
    then = reconcile(ledger, indexer, a.code, block=before)
    assert then.balanced and (then.burned, then.total_supply, then.block) == (0, 300, before)


def test_an_index_that_disagrees_with_the_chain_is_reported(
    ledger: Ledger, indexer: Indexer
) -> None:
    a, member = synced_holder(ledger, indexer, 50)
    with Session(indexer.engine) as db:
        row = db.exec(
            select(PointMovement).where(
                col(PointMovement.scheme_id) == a.id,
                col(PointMovement.to_address) == member.address.lower(),
            )
        ).one()
        row.amount = "49"  # a damaged or tampered index
        db.add(row)
        db.commit()
    found = reconcile(ledger, indexer, a.code)
    assert not found.balanced
    assert "the index saw 49 points created, the chain counts 50" in found.findings


def test_blocks_outside_what_the_index_holds_are_refused(ledger: Ledger, indexer: Indexer) -> None:
    a = exchange_scheme(ledger)
    indexer.sync()
    indexed, _ = indexer.indexed()
    with pytest.raises(IndexBehind, match=f"up to block {indexed}"):
        reconcile(ledger, indexer, a.code, block=indexed + 1_000)
    with pytest.raises(UnknownScheme):
        reconcile(ledger, indexer, "NOSUCH")


def test_a_block_before_the_deployment_is_refused_naming_the_deployment_block(
    ledger: Ledger, indexer: Indexer
) -> None:
    """The deployment begins with the Forwarder; the PointsLedger, whose counters are read, comes
    a few blocks later: no block before it can be reconciled (it was a BadFunctionCallOutput)."""
    a = exchange_scheme(ledger)
    indexer.sync()
    first = ledger.manifest.contracts["PointsLedger"].block
    assert first > ledger.manifest.deploy_block
    for block in (0, ledger.manifest.deploy_block, first - 1):
        with pytest.raises(InputError) as info:
            reconcile(ledger, indexer, a.code, block=block)
        assert str(info.value) == (
            f"block {block} is before the deployment: the points ledger was deployed at block "
            f"{first}; ask about block {first} or later"
        )
        assert info.value.details == {"block": block, "deployment_block": first}
    at_start = reconcile(ledger, indexer, a.code, block=first)
    assert at_start.balanced and (at_start.total_supply, at_start.created) == (0, 0)


def test_an_index_never_synced_says_so(ledger: Ledger, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with own_index(ledger, empty) as fresh, pytest.raises(IndexBehind, match="not synced yet"):
        reconcile(ledger, fresh, 1)


def test_quota_use_per_window_agrees_with_the_chain(ledger: Ledger, indexer: Indexer) -> None:
    e = earning_scheme(ledger, quota=1_000)
    member = new_member(ledger)
    start, end = two_hours_ago(ledger)
    earn(ledger, e, member.address, start - 4 * 3600, end - 4 * 3600)  # 24 points (2 h, grade A)
    earn(ledger, e, member.address, start, end, grade="B")  # 20 points
    indexer.sync()

    q = quota_use(ledger, indexer, e.scheme.code)
    assert (q.quota, q.quota_period_seconds) == (1_000, 30 * 24 * 3600)
    [window] = q.periods
    assert (window.issued, window.records, window.batch_records, window.quota) == (44, 2, 0, 1_000)
    assert window.used_percent == 4.4 and window.start <= datetime.now(UTC) < window.end
    assert (q.chain_quota_used, q.chain_remaining) == (44, 956)
    assert q.chain_current_period == window.period and q.findings == ()
    data = quota_data(q)
    assert data["periods"][0]["issued"] == 44 and data["chain"]["quota_used"] == 44

    with Session(indexer.engine) as db:  # an issuance missing from the index is a finding
        row = db.exec(select(PointMovement).where(col(PointMovement.scheme_id) == e.id)).first()
        assert row is not None
        event = db.get(IndexEvent, (row.block_number, row.log_index + 1))
        assert event is not None and event.event == "PointsIssued"
        db.delete(event)
        db.commit()
    damaged = quota_use(ledger, indexer, e.scheme.code)
    assert damaged.findings == (
        f"the chain counts 44 points issued in the current window ({window.period}), the index 20",
    )


def test_quota_ranges_are_bounded(ledger: Ledger, indexer: Indexer) -> None:
    e = earning_scheme(ledger)
    indexer.sync()
    with pytest.raises(InputError, match="more than 1000 quota periods"):
        quota_use(ledger, indexer, e.id, since=datetime(1900, 1, 1, tzinfo=UTC))
    with pytest.raises(InputError, match="since is after until"):
        quota_use(
            ledger, indexer, e.id, since=datetime(2026, 2, 1, tzinfo=UTC),
            until=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
    assert quota_use(ledger, indexer, e.id).periods == ()


def test_quota_times_are_read_as_the_cli_reads_them(ledger: Ledger, indexer: Indexer) -> None:
    """A date, a date and time, with or without a zone: no zone is China Standard Time."""
    e = earning_scheme(ledger)
    indexer.sync()
    aware = quota_use(ledger, indexer, e.id, since=datetime(2026, 1, 1, tzinfo=CST))
    for same in ("2026-01-01", "2026/01/01", "2026-01-01 00:00", "2025-12-31T16:00:00Z"):
        assert quota_use(ledger, indexer, e.id, since=same) == aware, same
    assert quota_use(ledger, indexer, e.id, since=datetime(2026, 1, 1)) == aware
    with pytest.raises(InputError) as info:
        quota_use(ledger, indexer, e.id, until="yesterday")
    assert str(info.value) == (
        "until 'yesterday' is not a date and time like 2026-11-20 09:00 (China Standard Time "
        "unless a zone such as +08:00 is given)"
    )


def test_the_current_window_is_compared_whole_whatever_range_is_asked_for(
    ledger: Ledger, indexer: Indexer
) -> None:
    """A range that ends inside the current window, or before it, used to compare the chain's
    count of the whole window with the part of it the range held: a false disagreement."""
    e = earning_scheme(ledger, quota=1_000)
    start, end = two_hours_ago(ledger)
    earn(ledger, e, new_member(ledger).address, start, end)  # 24 points
    indexer.sync()
    whole = quota_use(ledger, indexer, e.scheme.code)
    [window] = whole.periods
    assert (window.issued, whole.chain_quota_used, whole.findings) == (24, 24, ())
    opens = int(window.start.timestamp())

    since = datetime(2026, 1, 1, tzinfo=CST)
    cut = quota_use(ledger, indexer, e.id, since=since, until=window.start)
    assert cut.findings == () and cut.periods == (window,)  # counted whole, not cut at `until`
    before = quota_use(
        ledger, indexer, e.id, since=since, until=datetime.fromtimestamp(opens - 1, UTC)
    )
    assert before.findings == () and before.periods == ()
    assert (before.chain_current_period, before.chain_quota_used) == (window.period, 24)
    reported = quota_use(
        ledger, indexer, e.id, since=since, until=datetime(2026, 11, 30, tzinfo=CST)
    )
    assert reported.findings == ()


def test_a_members_file_lists_standing_balances_and_events(
    ledger: Ledger, indexer: Indexer
) -> None:
    a, member = synced_holder(ledger, indexer, 15)
    f = member_file(ledger, indexer, member.address.lower(), limit=1)
    assert (f.address, f.status, f.balances) == (member.address, "active", {a.code: 15})
    assert f.flows == {a.code: {"issued": {"in": 15, "out": 0, "count": 1}}}
    assert f.registrar is not None and f.registered_at > 0
    assert len(f.events.entries) == 1 and f.events.next_cursor is not None
    older = member_file(ledger, indexer, member.address, cursor=f.events.next_cursor, limit=50)
    names = [x.event for x in (*f.events.entries, *older.events.entries)]
    assert "MemberRegistered" in names and "TransferSingle" in names
    rows = event_rows(older.events)
    assert rows[-1]["event"] == "MemberRegistered"
    with pytest.raises(InputError, match="not an address"):
        member_file(ledger, indexer, "0x12")
