"""Tracing points to the service behind them: a record with its activity, people, events and
points; a batch read back from its approving transaction; every movement of a transaction; and
the off-chain details checked against the chain (an altered row is reported)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from ledger.audit.index.decoding import event_refs
from ledger.audit.index.follow import Indexer
from ledger.audit.trace.batches import trace_batch
from ledger.audit.trace.records import trace_record
from ledger.audit.trace.transactions import trace_transaction
from ledger.chain.relay import KeySigner, Relay
from ledger.earning.batch.pay import run_batch
from ledger.earning.batch.plan import plan_batch
from ledger.errors import IndexBehind, InputError, RecordNotFound
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.records import RecordDetails
from tests.audit_helpers import own_index
from tests.batch_helpers import batch_row, iso, write_csv
from tests.earning_helpers import Earning, earning_scheme, open_activity, submit, two_hours_ago
from tests.factories import new_member


@pytest.fixture(scope="module")
def e(ledger: Ledger) -> Earning:
    """A duration scheme of the module's own (10 points an hour, Wuhan grades)."""
    return earning_scheme(ledger)


def test_a_point_traces_to_its_record_activity_submitter_and_approver(
    ledger: Ledger, indexer: Indexer, e: Earning
) -> None:
    member = new_member(ledger)
    activity = open_activity(ledger, e)
    start, end = two_hours_ago(ledger)
    record_id = submit(
        ledger, e, member.address, start, end, activity_id=activity.activity.id
    ).record.id
    approved = ledger.earning.approve(reviewer=e.reviewer, record_id=record_id, grade="A")
    indexer.sync()

    t = trace_record(ledger, indexer, record_id)
    assert (t.status, t.volunteer, t.scheme) == ("approved", member.address, e.scheme.code)
    assert (t.submitter, t.reviewer) == (e.organiser.address, e.reviewer.address)
    assert t.points == approved.points == 24  # 2 h x 10/h x 1.2
    assert [s.event for s in t.events] == ["RecordSubmitted", "RecordApproved"]
    [issued] = t.issued
    assert (issued.kind, issued.to, issued.amount) == ("issued", member.address, 24)
    assert issued.tx_hash == t.events[1].tx_hash
    assert t.activity is not None and t.activity.id == activity.activity.id
    assert t.activity.organiser == e.organiser.address
    assert t.activity.events[0].event == "ActivityCreated"
    assert t.activity.store.matches and t.store.found and t.store.matches
    assert t.problems == () and t.blocks_behind == 0

    # from the movement: the transaction that issued the points leads back to the same record
    tx = trace_transaction(ledger, indexer, issued.tx_hash)
    [move] = tx.movements
    assert (move.kind, move.reference, move.amount) == ("issued", f"record:{record_id}", 24)
    assert move.record is not None and move.record.reviewer == e.reviewer.address
    assert {s.event for s in tx.events} >= {"RecordApproved", "PointsIssued"}


def test_an_altered_store_row_is_reported_against_the_chain(
    ledger: Ledger, indexer: Indexer, e: Earning
) -> None:
    member = new_member(ledger)
    start, end = two_hours_ago(ledger)
    record_id = submit(ledger, e, member.address, start, end).record.id
    indexer.sync()
    assert trace_record(ledger, indexer, record_id).store.matches
    with session(ledger.engine) as db:
        row = db.exec(select(RecordDetails).where(col(RecordDetails.record_id) == record_id)).one()
        row.details_json = row.details_json.replace("陪老人就医", "陪老人散步")
        row.end = end + 3600
        db.add(row)

    t = trace_record(ledger, indexer, record_id)
    assert t.status == "pending" and t.issued == ()
    assert not t.store.matches
    assert any("altered" in p for p in t.store.problems)
    assert any(p.startswith("end ") for p in t.store.problems)
    assert len(t.problems) == len(t.store.problems)


def write_batch(path: Path, members: list[str], start: int, end: int) -> Path:
    rows = [
        batch_row(
            f"T-{path.stem}-{i}", m, iso(start), iso(end), activity="清扫楼道", content="清扫"
        )
        for i, m in enumerate(members)
    ]
    return write_csv(path, rows)


@pytest.mark.parametrize("relayed", [False, True], ids=["sent", "relayed"])
def test_a_batch_is_read_back_from_its_approving_transaction(
    ledger: Ledger, indexer: Indexer, tmp_path: Path, relayed: bool
) -> None:
    e = earning_scheme(ledger)  # its own: both runs write the same record ids, once a scheme
    members = [new_member(ledger).address for _ in range(3)]
    start, end = two_hours_ago(ledger)
    path = write_batch(tmp_path / "batch.csv", members, start, end)
    plan = plan_batch(
        ledger, path, scheme=e.id, organiser=e.organiser.address, reviewer=e.reviewer.address
    )
    # relayed: the approval goes through the ERC-2771 forwarder (as a custodial wallet's would)
    reviewer = KeySigner(e.reviewer, Relay(ledger)) if relayed else e.reviewer
    [batch_id] = run_batch(ledger, plan, organiser=e.organiser, reviewer=reviewer).batches
    indexer.sync()

    b = trace_batch(ledger, indexer, batch_id)
    approval = next(s for s in b.events if s.event == "BatchApproved")
    sent_to = ledger.w3.eth.get_transaction(approval.tx_hash)["to"]
    assert (sent_to == ledger.manifest.address("Forwarder")) is relayed
    assert (b.status, b.count, b.points) == ("approved", 3, 60)
    assert (b.submitter, b.reviewer) == (e.organiser.address, e.reviewer.address)
    assert [line.volunteer for line in b.records] == members
    assert all(line.store.matches for line in b.records) and b.problems == ()
    assert sorted(m.to for m in b.issued) == sorted(members)

    one = trace_batch(ledger, indexer, batch_id, volunteer=members[1])
    assert [line.index for line in one.records] == [1]
    [move] = trace_transaction(ledger, indexer, one.issued[0].tx_hash).movements[1:2]
    assert move.batch is not None and move.batch.batch_id == batch_id


def test_bad_and_unknown_ids_are_refused_clearly(ledger: Ledger, indexer: Indexer) -> None:
    with pytest.raises(InputError, match="positive whole number"):
        trace_record(ledger, indexer, 0)
    with pytest.raises(RecordNotFound, match="no service record"):
        trace_record(ledger, indexer, 10**9)
    with pytest.raises(RecordNotFound, match="no batch"):
        trace_batch(ledger, indexer, 10**9)
    with pytest.raises(InputError, match="64 hex digits"):
        trace_transaction(ledger, indexer, "0x12")
    with pytest.raises(RecordNotFound, match="blocks behind"):
        trace_transaction(ledger, indexer, "0x" + "ab" * 32)


def test_an_index_never_synced_says_so(ledger: Ledger, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with own_index(ledger, empty) as fresh, pytest.raises(IndexBehind, match="not synced yet"):
        trace_transaction(fresh, fresh, "0x" + "ab" * 32)


def test_events_name_the_domain_objects_they_concern() -> None:
    args = {"recordId": 12, "schemeId": 3, "record": {"activityId": 5, "volunteer": "0xab"},
            "supersedes": 0, "batchId": True}  # fmt: skip
    assert event_refs(args) == ["record:12", "scheme:3", "activity:5"]
