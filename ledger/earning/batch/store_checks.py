"""A plan's rows checked against the store: rows already paid are skipped, rows planned by an
earlier run keep their chunk, and evidence or hours that back another record are refused."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, select

from ledger.chain.contracts.service_records import BatchStatus
from ledger.earning.batch.parts import BatchParts
from ledger.earning.batch.rows import Row, RowError, Skipped
from ledger.earning.chunks import link_approved_chunks
from ledger.store import session
from ledger.store.records import RecordDetails
from ledger.values import show_time


def against_store(
    ledger: BatchParts, scheme_id: int, rows: list[Row], errors: list[RowError]
) -> list[Skipped]:
    """Rows already paid are skipped; rows planned by an earlier run keep their chunk; evidence
    that backs another record is refused."""
    skipped: list[Skipped] = []
    keep: list[Row] = []
    by_key: dict[str, RecordDetails] = {}
    by_evidence: dict[str, RecordDetails] = {}
    keys = [r.record_id for r in rows]
    evidences = ["0x" + r.evidence_hash.hex() for r in rows]
    with session(ledger.engine) as db:
        for first in range(0, len(keys), 500):
            for found in db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id,
                    col(RecordDetails.record_key).in_(keys[first : first + 500]),
                )
            ):
                by_key[found.record_key] = found
            for found in db.exec(
                select(RecordDetails).where(
                    col(RecordDetails.evidence_hash).in_(evidences[first : first + 500])
                )
            ):
                by_evidence[found.evidence_hash] = found
    elsewhere: dict[str, list[RecordDetails]] = defaultdict(list)
    if rows:
        volunteers = sorted({r.volunteer for r in rows})
        earliest, latest = min(r.start for r in rows), max(r.end for r in rows)
        with session(ledger.engine) as db:
            for first in range(0, len(volunteers), 500):
                for found in db.exec(
                    select(RecordDetails).where(
                        col(RecordDetails.volunteer).in_(volunteers[first : first + 500]),
                        RecordDetails.scheme_id != scheme_id,
                        col(RecordDetails.start) < latest,
                        col(RecordDetails.end) > earliest,
                        col(RecordDetails.end) > col(RecordDetails.start),
                    )
                ):
                    elsewhere[found.volunteer].append(found)
    # Chunks approved on chain whose run was killed before the store recorded it: linked now.
    unlinked = {
        r.chunk_hash
        for r in by_key.values()
        if r.chunk_hash and r.batch_id is None and r.record_id is None
    }
    paid_as: dict[str, int] = {}
    for link in link_approved_chunks(ledger.engine, ledger.records, unlinked) if unlinked else []:
        paid_as[link.chunk.records_hash] = link.chunk.batch_id
        for found in by_key.values():
            if found.id in link.rows:
                found.batch_id = link.chunk.batch_id
    chunk_status: dict[str, BatchStatus] = {}
    for row in rows:
        stored = by_key.get(row.record_id)
        other = by_evidence.get("0x" + row.evidence_hash.hex())
        if other is not None and (
            other.scheme_id != scheme_id or other.record_key != row.record_id
        ):
            if ledger.earning.details_store.is_rejected(other):
                ledger.earning.details_store.release_evidence(other)
            else:
                errors.append(
                    RowError(
                        row.line,
                        row.record_id,
                        f"this evidence already backs record {other.record_key}",
                    )
                )
                continue
        clash = next(
            (
                o
                for o in elsewhere.get(row.volunteer, ())
                if o.start < row.end
                and o.end > row.start
                and not ledger.earning.details_store.is_rejected(o)
            ),
            None,
        )
        if clash is not None and row.end > row.start:
            errors.append(
                RowError(
                    row.line,
                    row.record_id,
                    f"the volunteer already has record {clash.record_key} in another scheme for "
                    f"{show_time(clash.start)}-{show_time(clash.end)}; the same hours are paid once",
                )
            )
            continue
        if stored is None:
            keep.append(row)
            continue
        if stored.record_id is not None and stored.chunk_hash is None:
            skipped.append(
                Skipped(row.line, row.record_id, f"submitted singly as record {stored.record_id}")
            )
            continue
        if stored.details_hash != "0x" + row.details_hash.hex():
            errors.append(
                RowError(
                    row.line,
                    row.record_id,
                    "record_id was already used for a record with other details",
                )
            )
            continue
        if stored.chunk_hash:
            if stored.chunk_hash not in chunk_status:
                batch_id = ledger.records.batch_of(bytes.fromhex(stored.chunk_hash[2:]))
                chunk_status[stored.chunk_hash] = (
                    ledger.records.batch(batch_id).status if batch_id else BatchStatus.NONE
                )
            status = chunk_status[stored.chunk_hash]
            if status is BatchStatus.APPROVED:
                if stored.batch_id is not None:
                    reason = f"already paid (batch {stored.batch_id})"
                else:
                    batch_id = paid_as.get(stored.chunk_hash, 0)
                    reason = (
                        f"already paid (batch {batch_id}), but the store's row differs from the "
                        f"record paid on chain: `vpl audit verify batch:{batch_id}` shows how"
                    )
                skipped.append(Skipped(row.line, row.record_id, reason))
                continue
            if status is not BatchStatus.REJECTED:
                row.chunk_hash = stored.chunk_hash
        keep.append(row)
    rows[:] = keep
    return skipped
