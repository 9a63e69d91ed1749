"""Batch chunks in the store and on chain: a chunk of a batch file is planned into store rows
before it is sent, and its rows are linked to the batch once the chain has approved it. A run
killed in between leaves rows the chain paid but the store never linked; these find and link
them, checking each row against the record the chain paid at its position."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, update
from sqlmodel import col, select

from ledger.chain.contracts.packed_records import PackedRecord
from ledger.chain.contracts.service_records import ServiceRecordsClient
from ledger.store.db import session
from ledger.store.records import BatchChunk, RecordDetails, canonical_json, details_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkOnChain:
    """A chunk the store planned, as the chain holds it: its batch, and the transaction and block
    that approved it."""

    records_hash: str
    batch_id: int
    scheme_id: int
    points: int
    tx_hash: str
    block: int


@dataclass(frozen=True)
class ChunkLink:
    """A chunk approved on chain whose store rows were not linked to its batch."""

    chunk: ChunkOnChain
    #: Store row ids that match the chain's records at their positions (linked, when written).
    rows: tuple[int, ...]
    #: Store row ids that differ from the chain's record at their position, with why (never
    #: linked: their details are not the ones paid).
    differing: tuple[tuple[int, str], ...]


def unlinked_chunk_rows(
    engine: Engine, hashes: Iterable[str] | None = None
) -> dict[str, list[RecordDetails]]:
    """Store rows planned into a batch chunk and not linked to a batch or a record, by chunk
    hash (only the chunks of `hashes`, if given)."""
    query = select(RecordDetails).where(
        col(RecordDetails.chunk_hash).is_not(None),
        col(RecordDetails.batch_id).is_(None),
        col(RecordDetails.record_id).is_(None),
    )
    wanted = sorted(set(hashes)) if hashes is not None else None
    out: dict[str, list[RecordDetails]] = {}
    with session(engine) as db:
        for first in range(0, len(wanted) if wanted is not None else 1, 500):
            part = (
                query
                if wanted is None
                else query.where(col(RecordDetails.chunk_hash).in_(wanted[first : first + 500]))
            )
            for row in db.exec(part):
                out.setdefault(str(row.chunk_hash), []).append(row)
    return out


def approved_chunks(
    records: ServiceRecordsClient, hashes: Iterable[str]
) -> dict[str, ChunkOnChain]:
    """The chunks among `hashes` (records hashes, 0x hex) that are approved batches on chain,
    found by their hash and their BatchApproved event."""
    ids: dict[str, int] = {}
    for h in sorted(set(hashes)):
        batch_id = records.batch_of(bytes.fromhex(h[2:]))
        if batch_id:
            ids[h] = batch_id
    if not ids:
        return {}
    logs = records.contract.events.BatchApproved().get_logs(
        from_block=0, argument_filters={"batchId": sorted(ids.values())}
    )
    found = {int(e["args"]["batchId"]): e for e in logs}
    return {
        h: ChunkOnChain(
            records_hash=h,
            batch_id=batch_id,
            scheme_id=int(found[batch_id]["args"]["schemeId"]),
            points=int(found[batch_id]["args"]["points"]),
            tx_hash="0x" + bytes(found[batch_id]["transactionHash"]).hex(),
            block=int(found[batch_id]["blockNumber"]),
        )
        for h, batch_id in ids.items()
        if batch_id in found
    }


def link_approved_chunks(
    engine: Engine,
    records: ServiceRecordsClient,
    hashes: Iterable[str] | None = None,
    *,
    write: bool = True,
) -> list[ChunkLink]:
    """Link to their batch the store rows of chunks approved on chain but never recorded as paid
    (a run killed between the approval being mined and the store being written). Each row is
    checked against the record at its position, read back from the approving transaction; a row
    that differs is left unlinked and reported. `write=False` only says what would be linked."""
    pending = unlinked_chunk_rows(engine, hashes)
    out = []
    for h, chunk in approved_chunks(records, pending).items():
        paid = records.batch_records(chunk.batch_id, tx_hash=chunk.tx_hash)
        good: list[int] = []
        bad: list[tuple[int, str]] = []
        for row in pending[h]:
            assert row.id is not None
            i = row.batch_index
            if i is None or not 0 <= i < len(paid):
                bad.append((row.id, f"batch {chunk.batch_id} has no record #{i}"))
                continue
            problems = compare_packed(row, paid[i], chunk.scheme_id)
            if problems:
                bad.append((row.id, "; ".join(problems)))
            else:
                good.append(row.id)
        if write and good:
            mark_chunk_paid(engine, h, chunk.batch_id, chunk.points, row_ids=good)
            log.warning(
                "linked %d store rows to batch %d, approved on chain in block %d but not "
                "recorded in the store (an interrupted run)",
                len(good),
                chunk.batch_id,
                chunk.block,
            )
        out.append(ChunkLink(chunk=chunk, rows=tuple(good), differing=tuple(bad)))
    return out


def mark_chunk_paid(
    engine: Engine,
    chunk_hash: str,
    batch_id: int,
    points: int,
    *,
    row_ids: Sequence[int] | None = None,
) -> None:
    """Record in the store that a chunk was paid as `batch_id`: its rows (all, or `row_ids`)
    linked to the batch, and the chunk marked approved."""
    with session(engine) as db:
        linking = update(RecordDetails).where(col(RecordDetails.chunk_hash) == chunk_hash)
        if row_ids is not None:
            linking = linking.where(col(RecordDetails.id).in_(list(row_ids)))
        db.execute(linking.values(batch_id=batch_id))
        chunk = db.exec(select(BatchChunk).where(BatchChunk.records_hash == chunk_hash)).first()
        if chunk is not None:
            chunk.batch_id = batch_id
            chunk.status = "approved"
            chunk.points = points
            db.add(chunk)


def compare_packed(row: RecordDetails, r: PackedRecord, scheme_id: int) -> list[str]:
    """How a store row differs from the packed record the chain paid at its position."""
    return compare_row(
        row,
        volunteer=r.volunteer,
        scheme_id=scheme_id,
        activity_id=r.activity_id,
        start=r.start,
        end=r.end,
        details=r.details_hash,
        evidence=r.evidence_hash,
    )


def compare_row(
    row: RecordDetails,
    *,
    volunteer: str,
    scheme_id: int,
    activity_id: int,
    start: int,
    end: int,
    details: bytes,
    evidence: bytes,
) -> list[str]:
    """How a store row differs from what the chain holds of its record (none: it matches)."""
    problems = []
    try:
        stored = json.loads(row.details_json)
        recomputed = "0x" + details_hash(stored).hex()
        canonical = canonical_json(stored)
    except (ValueError, TypeError):
        recomputed, canonical = "", b""
    if not canonical:
        problems.append("the stored details are not readable JSON")
    elif recomputed != row.details_hash:
        problems.append("the details no longer hash to the hash stored with them (altered)")
    chain_details, chain_evidence = "0x" + details.hex(), "0x" + evidence.hex()
    if row.details_hash != chain_details:
        problems.append(f"details hash {row.details_hash} in the store, {chain_details} on chain")
    if row.evidence_hash != chain_evidence:
        problems.append(
            f"evidence hash {row.evidence_hash} in the store, {chain_evidence} on chain"
        )
    if row.volunteer.lower() != volunteer.lower():
        problems.append(f"volunteer {row.volunteer} in the store, {volunteer} on chain")
    for name, mine, theirs in (
        ("scheme", row.scheme_id, scheme_id),
        ("activity", row.activity_id, activity_id),
        ("start", row.start, start),
        ("end", row.end, end),
    ):
        if mine != theirs:
            problems.append(f"{name} {mine} in the store, {theirs} on chain")
    return problems
