"""Tamper evidence for the off-chain store: the root of its rows anchored on chain, and every row
altered, deleted or inserted since the newest anchor found, as is a snapshot that was altered or
deleted to hide it; rows added since the anchor are not yet covered, not tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from ledger.audit.anchors.anchoring import Anchors
from ledger.audit.anchors.digest import digest_store, merkle_root, row_leaf
from ledger.errors import NotAuthorized, RecordNotFound
from ledger.ledger import Ledger
from ledger.store.anchors import StoreAnchor, StoreAnchorLeaf
from ledger.store.records import RecordDetails
from tests.earning_helpers import earning_scheme, submit, two_hours_ago
from tests.factories import new_member

HOUR = 3600


def a_record(ledger: Ledger, k: int = 0) -> int:
    """A record submitted (so its details row is linked to the chain); the row's store id."""
    e = earning_scheme(ledger)
    start, end = two_hours_ago(ledger)
    record_id = submit(
        ledger, e, new_member(ledger).address, start - k * HOUR, end - k * HOUR
    ).record.id
    with Session(ledger.engine) as db:
        row = db.exec(select(RecordDetails).where(col(RecordDetails.record_id) == record_id)).one()
        assert row.id is not None
        return row.id


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_the_merkle_root_covers_every_leaf_in_order() -> None:
    a, b, c = (row_leaf("t", i, {"x": i}) for i in range(3))
    assert merkle_root([a]) == a
    assert merkle_root([a, b, c]) != merkle_root([b, a, c]) != merkle_root([a, b])
    assert merkle_root([]) == merkle_root([])
    assert row_leaf("t", 1, {"x": 1}) != row_leaf("u", 1, {"x": 1}) != row_leaf("t", 2, {"x": 1})


def test_a_clean_store_verifies_and_an_unchanged_one_is_not_anchored_twice(
    ledger: Ledger,
) -> None:
    a_record(ledger)
    anchors = Anchors(ledger)
    first = anchors.anchor()
    assert first.created and first.rows == digest_store(ledger.engine).rows > 0
    again = anchors.anchor()
    assert (again.created, again.anchor_id, again.tx_hash) == (False, first.anchor_id, None)
    v = anchors.verify()
    assert v.clean and v.anchor_id == first.anchor_id and v.findings == ()
    assert anchors.anchors(last=1)[0].root == first.root
    later = a_record(ledger)
    after = anchors.verify()
    assert after.clean and after.new_since == 1, "a row added since is not yet covered"
    assert later not in {f.row_id for f in after.findings}


def test_altered_deleted_and_back_dated_rows_are_found(ledger: Ledger) -> None:
    altered, deleted, _ = a_record(ledger), a_record(ledger), a_record(ledger)
    anchors = Anchors(ledger)
    anchors.anchor()
    sql(ledger, "UPDATE record_details SET details_json = replace(details_json, '陪', '扶') "
        "WHERE id = :id", id=altered)  # fmt: skip
    sql(ledger, "DELETE FROM record_details WHERE id = :id", id=deleted)
    with Session(ledger.engine) as db:  # a row slipped in, dated before the anchor
        row = db.get(RecordDetails, altered)
        assert row is not None
        forged = RecordDetails.model_validate(
            {**row.model_dump(exclude={"id"}), "record_key": "forged", "evidence_hash": "0xfeed",
             "created_at": datetime.now(UTC) - timedelta(days=3)}
        )  # fmt: skip
        db.add(forged)
        db.commit()
        forged_id = forged.id
    v = anchors.verify()
    assert not v.clean and v.anchor_problems == ()
    ours = {altered, deleted, forged_id}  # the store is the session's: other tests' rows too
    assert {(f.kind, f.table, f.row_id) for f in v.findings if f.row_id in ours} == {
        ("altered", "record_details", altered),
        ("deleted", "record_details", deleted),
        ("inserted", "record_details", forged_id),
    }


def test_a_snapshot_altered_or_deleted_to_hide_a_change_is_found(ledger: Ledger) -> None:
    row_id = a_record(ledger)
    anchors = Anchors(ledger)
    outcome = anchors.anchor()
    sql(ledger, "UPDATE record_details SET volunteer = '0x0000000000000000000000000000000000000001' "
        "WHERE id = :id", id=row_id)  # fmt: skip
    # the forger recomputes the row's leaf into the snapshot, so the rows agree with it ...
    forged = digest_store(ledger.engine).leaves[("record_details", row_id)]
    sql(ledger, "UPDATE store_anchor_leaf SET leaf = :leaf WHERE anchor_id = :a AND "
        "table_name = 'record_details' AND row_id = :id", leaf=forged, a=outcome.anchor_id,
        id=row_id)  # fmt: skip
    v = anchors.verify()
    assert v.findings == ()
    # ... but the snapshot no longer gives the root on chain
    [problem] = v.anchor_problems
    assert "the snapshot itself was altered" in problem and str(outcome.anchor_id) in problem

    with Session(ledger.engine) as db:  # deleting the snapshot instead: the chain still counts it
        db.execute(StoreAnchorLeaf.__table__.delete())  # type: ignore[attr-defined]
        db.execute(StoreAnchor.__table__.delete())  # type: ignore[attr-defined]
        db.commit()
    gone = anchors.verify()
    assert any(f"{outcome.anchor_id}" in p and "no snapshot" in p for p in gone.anchor_problems)
    assert not gone.clean
    anchors.anchor(force=True)  # a new anchor takes the store as it now is
    assert anchors.verify().findings == ()


def test_only_the_anchorer_anchors(ledger: Ledger, anvil_ledger: Ledger) -> None:
    anchors = Anchors(ledger)
    before = anchors.client.count()
    with pytest.raises(NotAuthorized):
        anchors.anchor(signer=ledger.operator("auditor"), force=True)
    assert anchors.client.count() == before
    with pytest.raises(RecordNotFound, match="never been anchored"):
        Anchors(anvil_ledger).verify()
