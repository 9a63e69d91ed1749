"""A batch run in the store: its job, and its chunks, each record written with its chunk's hash
before the chunk goes on chain (so that a run started again finds them)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from ledger.chain.contracts.packed_records import pack_records, records_hash
from ledger.earning.batch.rows import BatchPlan, Row
from ledger.errors import ChainError
from ledger.store import session, utcnow
from ledger.store.records import BatchChunk, BatchJob, RecordDetails, canonical_json


def open_job(engine: Engine, plan: BatchPlan) -> int:
    """The store's unfinished job for this file and scheme, or a new one."""
    with session(engine) as db:
        job = db.exec(
            select(BatchJob).where(
                BatchJob.file_sha256 == plan.file_sha256,
                BatchJob.scheme_id == plan.scheme_id,
                col(BatchJob.finished_at).is_(None),
            )
        ).first()
        if job is None:
            job = BatchJob(
                scheme_id=plan.scheme_id,
                file_sha256=plan.file_sha256,
                file_name=plan.path.name,
                rows=plan.total_rows,
                created_at=utcnow(),
            )
            db.add(job)
            db.flush()
        assert job.id is not None
        return job.id


def plan_chunks(
    engine: Engine, plan: BatchPlan, job_id: int, size: int
) -> list[tuple[bytes, list[Row]]]:
    """The chunks to pay, in order; each record is in the store with its chunk's hash before the
    chunk goes on chain."""
    out: list[tuple[bytes, list[Row]]] = []
    pinned: dict[str, list[Row]] = defaultdict(list)
    fresh: list[Row] = []
    for row in plan.rows:
        if row.chunk_hash:
            pinned[row.chunk_hash].append(row)
        else:
            fresh.append(row)
    with session(engine) as db:
        for hash_hex, rows in pinned.items():
            stored = {
                r.record_key: r.batch_index
                for r in db.exec(select(RecordDetails).where(RecordDetails.chunk_hash == hash_hex))
            }
            rows.sort(key=lambda r: stored.get(r.record_id) or 0)
            data = pack_records(r.packed() for r in rows)
            if "0x" + records_hash(data).hex() != hash_hex:
                raise ChainError(
                    f"the records planned into chunk {hash_hex[:10]}... by an earlier run differ "
                    "from this file's; run the original file again to finish that chunk"
                )
            out.append((bytes.fromhex(hash_hex[2:]), rows))
        position = len(out)
        for first in range(0, len(fresh), size):
            rows = fresh[first : first + size]
            data = pack_records(r.packed() for r in rows)
            digest = records_hash(data)
            hash_hex = "0x" + digest.hex()
            existing = db.exec(
                select(BatchChunk).where(BatchChunk.records_hash == hash_hex)
            ).first()
            if existing is None:
                db.add(
                    BatchChunk(
                        job_id=job_id, position=position, records_hash=hash_hex, count=len(rows)
                    )
                )
            now = utcnow()
            db.execute(
                insert(RecordDetails),
                [
                    {
                        "scheme_id": plan.scheme_id,
                        "record_key": row.record_id,
                        "volunteer": row.volunteer,
                        "batch_index": index,
                        "chunk_hash": hash_hex,
                        "activity_id": row.activity_id,
                        "start": row.start,
                        "end": row.end,
                        "details_hash": "0x" + row.details_hash.hex(),
                        "evidence_hash": "0x" + row.evidence_hash.hex(),
                        "details_json": canonical_json(row.details).decode(),
                        "employer": row.employer,
                        "created_at": now,
                    }
                    for index, row in enumerate(rows)
                ],
            )
            out.append((digest, rows))
            position += 1
    return out
