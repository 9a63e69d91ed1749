"""The off-chain details of records and activities checked against the hashes and values the
chain holds (``StoreCheck``): a store that disagrees with the chain is a problem of the trace."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from ledger.audit.needs import AuditSource
from ledger.chain.contracts.activities import Activity
from ledger.chain.contracts.packed_records import PackedRecord
from ledger.chain.contracts.service_records import Record
from ledger.earning.chunks import compare_packed, compare_row
from ledger.store.db import session
from ledger.store.records import ActivityDetails, RecordDetails, details_hash


@dataclass(frozen=True)
class StoreCheck:
    """The off-chain details of a record or an activity, checked against the chain's hashes."""

    #: Whether the store holds a row for it at all (a record entered elsewhere may have none).
    found: bool
    matches: bool
    record_key: str | None = None
    problems: tuple[str, ...] = ()


#: The check of details the store does not hold.
NOT_FOUND = StoreCheck(found=False, matches=False)


def _checked(problems: list[str], record_key: str | None = None) -> StoreCheck:
    return StoreCheck(
        found=True, matches=not problems, record_key=record_key, problems=tuple(problems)
    )


def check_record_store(ledger: AuditSource, record: Record) -> StoreCheck:
    """A record's off-chain details against the chain: the row's details hash over its JSON, and
    the volunteer, scheme, activity, times and hashes the chain holds."""
    with session(ledger.engine) as db:
        row = db.exec(
            select(RecordDetails).where(col(RecordDetails.record_id) == record.id)
        ).first()
    if row is None:
        return NOT_FOUND
    problems = compare_row(
        row,
        volunteer=record.volunteer,
        scheme_id=record.scheme_id,
        activity_id=record.activity_id,
        start=record.start,
        end=record.end,
        details=record.details_hash,
        evidence=record.evidence_hash,
    )
    return _checked(problems, row.record_key)


def check_packed(r: PackedRecord, row: RecordDetails | None, scheme_id: int) -> StoreCheck:
    """A record of a batch, as the approving transaction carried it, against its store row."""
    if row is None:
        return NOT_FOUND
    return _checked(compare_packed(row, r, scheme_id), row.record_key)


def check_activity_store(engine: Engine, activity: Activity) -> StoreCheck:
    """An activity's off-chain details against its details hash and scheme on chain."""
    with session(engine) as db:
        row = db.exec(
            select(ActivityDetails).where(col(ActivityDetails.activity_id) == activity.id)
        ).first()
    if row is None:
        return NOT_FOUND
    problems = []
    stored = json.loads(row.details_json)
    if "0x" + details_hash(stored).hex() != row.details_hash:
        problems.append("the details no longer hash to the hash stored with them")
    if row.details_hash != "0x" + activity.details_hash.hex():
        problems.append(
            f"the stored details hash {row.details_hash} is not the chain's "
            f"0x{activity.details_hash.hex()}"
        )
    if row.scheme_id != activity.scheme_id:
        problems.append(f"scheme {row.scheme_id} in the store, {activity.scheme_id} on chain")
    return _checked(problems)


def batch_rows_in_store(engine: Engine, batch_id: int) -> dict[int, RecordDetails]:
    """The store rows of a batch, by their position in it."""
    with session(engine) as db:
        rows = db.exec(select(RecordDetails).where(col(RecordDetails.batch_id) == batch_id))
        return {r.batch_index: r for r in rows if r.batch_index is not None}
