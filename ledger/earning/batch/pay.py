"""Paying a plan: its chunks submitted by the organiser and approved by a reviewer, up to
``IN_FLIGHT`` transactions at a time, each chunk found again on chain by its hash when a run is
started again (see ``ledger.earning.batch``)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import insert

from ledger.chain.contracts.packed_records import MAX_BATCH, pack_records
from ledger.chain.contracts.service_records import BatchStatus
from ledger.chain.tx import Signer
from ledger.earning.batch.flight import Flight
from ledger.earning.batch.jobs import open_job, plan_chunks
from ledger.earning.batch.parts import BatchParts
from ledger.earning.batch.rows import BatchPlan, Row, RowError, Skipped, row_label
from ledger.earning.chunks import mark_chunk_paid
from ledger.errors import ChainError, InputError, InvalidRows, RetryableChainError
from ledger.store import session, utcnow
from ledger.store.records import BatchJob
from ledger.store.refusals import RefusedAttempt

log = logging.getLogger(__name__)
DEFAULT_CHUNK = 200


@dataclass
class BatchReport:
    job_id: int
    scheme_code: str
    paid_records: int
    points: int
    batches: list[int]
    skipped: list[Skipped]
    bad_rows: list[RowError]
    seconds: float
    resumed_chunks: int = 0
    gas_used: int = 0
    transactions: list[str] = field(default_factory=list)

    @property
    def records_per_second(self) -> float:
        return self.paid_records / self.seconds if self.seconds > 0 else 0.0


def refuse_bad_rows(
    ledger: BatchParts, plan: BatchPlan, *, actor: str, only_good_rows: bool = False
) -> None:
    """Every bad row of `plan` written down as a refused attempt, as a single record's refusal
    is (`vpl record refusals`); then, unless only the good rows are to be paid, InvalidRows
    (nothing written on chain)."""
    if not plan.errors:
        return
    at = utcnow()
    with session(ledger.engine) as db:
        db.execute(
            insert(RefusedAttempt),
            [
                {
                    "at": at,
                    "actor": actor,
                    "action": "issue-batch",
                    "subject": f"{plan.path.name} {row_label(e.line, e.record_id)}",
                    "code": InvalidRows.code,
                    "error": None,
                    "message": e.message[:1000],
                }
                for e in plan.errors
            ],
        )
    if not only_good_rows:
        plan.raise_if_bad()


def run_batch(
    ledger: BatchParts,
    plan: BatchPlan,
    *,
    organiser: Signer | None,
    reviewer: Signer,
    chunk_size: int = DEFAULT_CHUNK,
    only_good_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Pay the plan's rows in chunks (see ``ledger.earning.batch``). Without an `organiser`, every
    chunk must have been submitted already (``submit_chunks``): the reviewer only approves."""
    if not 1 <= chunk_size <= MAX_BATCH:
        raise InputError(f"chunk size must be 1-{MAX_BATCH} (got {chunk_size})")
    if organiser is None:  # the organiser's step (submit_chunks) wrote the refusals down
        if plan.errors and not only_good_rows:
            plan.raise_if_bad()
    else:
        refuse_bad_rows(ledger, plan, actor=organiser.address, only_good_rows=only_good_rows)
    started = time.perf_counter()
    job_id = open_job(ledger.engine, plan)
    chunks = plan_chunks(ledger.engine, plan, job_id, chunk_size)
    total = sum(len(rows) for _, rows in chunks)
    report = BatchReport(
        job_id=job_id,
        scheme_code=plan.scheme_code,
        paid_records=0,
        points=0,
        batches=[],
        skipped=list(plan.skipped),
        bad_rows=list(plan.errors),
        seconds=0.0,
    )
    if progress:
        progress(0, total)
    try:
        _pay(ledger, plan, chunks, organiser, reviewer, report, progress, total)
    except RetryableChainError as exc:
        raise _node_lost(exc, report, total - report.paid_records) from None
    with session(ledger.engine) as db:
        job = db.get(BatchJob, job_id)
        if job is not None:
            job.finished_at = utcnow()
            db.add(job)
    report.seconds = time.perf_counter() - started
    log.info(
        "batch job %d: %d records, %d points, %d batches in %.1fs",
        job_id,
        report.paid_records,
        report.points,
        len(report.batches),
        report.seconds,
    )
    return report


@dataclass
class Submission:
    """What ``submit_chunks`` did: the store's job, and each chunk's batch on chain."""

    job_id: int
    batches: list[int]
    transactions: list[str]
    resumed_chunks: int


def submit_chunks(
    ledger: BatchParts,
    plan: BatchPlan,
    *,
    organiser: Signer,
    chunk_size: int = DEFAULT_CHUNK,
    only_good_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Submission:
    """The organiser's half of ``run_batch``: submit every chunk's hash (each once, found again
    by its hash when run again), so that a reviewer can later approve with ``run_batch`` alone."""
    if not 1 <= chunk_size <= MAX_BATCH:
        raise InputError(f"chunk size must be 1-{MAX_BATCH} (got {chunk_size})")
    refuse_bad_rows(ledger, plan, actor=organiser.address, only_good_rows=only_good_rows)
    job_id = open_job(ledger.engine, plan)
    chunks = plan_chunks(ledger.engine, plan, job_id, chunk_size)
    out = Submission(job_id=job_id, batches=[], transactions=[], resumed_chunks=0)
    if progress:
        progress(0, len(chunks))
    ids = _submitted_ids(ledger, chunks)
    out.resumed_chunks = sum(1 for batch_id in ids if batch_id)
    flight = Flight(ledger.sender, ledger.earning.refusal_log)
    waiting = deque(i for i, batch_id in enumerate(ids) if not batch_id)
    while waiting or flight.pending:
        while waiting and flight.room():
            index = waiting.popleft()
            chunk_hash, rows = chunks[index]
            flight.send(
                ("submit", index),
                partial(
                    ledger.records.start_submit_batch,
                    organiser,
                    plan.scheme_id,
                    chunk_hash,
                    len(rows),
                ),
                actor=organiser.address,
                action="submit-batch",
                subject="0x" + chunk_hash.hex(),
            )
        if not flight.pending:
            break
        for (_, index), result in flight.landed():
            ids[index] = ledger.records.submitted_batch_id(result)
            out.transactions.append(result.tx_hash)
            if progress:
                progress(sum(1 for batch_id in ids if batch_id), len(chunks))
    flight.raise_first_refusal()
    out.batches = ids
    return out


def _pay(
    ledger: BatchParts,
    plan: BatchPlan,
    chunks: list[tuple[bytes, list[Row]]],
    organiser: Signer | None,
    reviewer: Signer,
    report: BatchReport,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    """Submit the chunks not on chain yet and approve every submitted one, in order, with up to
    ``IN_FLIGHT`` transactions in flight: a chunk's approval is sent as soon as its submission
    is mined (the approval's own confirmations cover both), while later chunks are still being
    submitted."""
    records = ledger.records
    ids = _submitted_ids(ledger, chunks)
    waiting = deque(i for i, batch_id in enumerate(ids) if not batch_id)
    if waiting and organiser is None:
        chunk_hash, rows = chunks[waiting[0]]
        raise InputError(
            f"chunk {chunk_hash.hex()[:10]}... of {len(rows)} records is not submitted yet: its "
            "organiser submits it first"
        )
    report.resumed_chunks = len(chunks) - len(waiting)
    flight = Flight(ledger.sender, ledger.earning.refusal_log)
    approving = 0  # the chunks before this one are approved or on their way

    def paid(index: int, batch_id: int) -> None:
        chunk_hash, rows = chunks[index]
        points = records.batch(batch_id).points
        mark_chunk_paid(ledger.engine, "0x" + chunk_hash.hex(), batch_id, points)
        report.batches.append(batch_id)
        report.paid_records += len(rows)
        report.points += points
        if progress:
            progress(report.paid_records, total)

    while True:
        while approving < len(chunks) and ids[approving] and flight.room():
            index, batch_id = approving, ids[approving]
            approving += 1
            batch = records.batch(batch_id)
            rows = chunks[index][1]
            if batch.status is BatchStatus.SUBMITTED:
                flight.send(
                    ("approve", index),
                    partial(
                        records.start_approve_batch,
                        reviewer,
                        batch_id,
                        plan.rule_version,
                        pack_records(r.packed() for r in rows),
                        gas=_approval_gas(len(rows)),
                    ),
                    actor=reviewer.address,
                    action="approve-batch",
                    subject=f"batch {batch_id}",
                )
            elif batch.status is BatchStatus.REJECTED:
                flight.fail(
                    ChainError(
                        f"batch {batch_id} (records of lines {rows[0].line}...) was rejected on "
                        f"chain (reason {batch.reject_reason}); fix those rows and run again"
                    )
                )
            else:
                paid(index, batch_id)
        while waiting and organiser is not None and flight.room():
            index = waiting.popleft()
            chunk_hash, rows = chunks[index]
            flight.send(
                ("submit", index),
                partial(
                    records.start_submit_batch, organiser, plan.scheme_id, chunk_hash, len(rows)
                ),
                actor=organiser.address,
                action="submit-batch",
                subject="0x" + chunk_hash.hex(),
            )
        if not flight.pending:
            break
        for (kind, index), result in flight.landed():
            report.gas_used += result.gas_used
            report.transactions.append(result.tx_hash)
            if kind == "submit":
                ids[index] = records.submitted_batch_id(result)
            else:
                paid(index, ids[index])
    flight.raise_first_refusal()


def _submitted_ids(ledger: BatchParts, chunks: list[tuple[bytes, list[Row]]]) -> list[int]:
    """The batch id of each chunk on chain, 0 for a chunk not submitted yet."""
    return ledger.records.batches_of([chunk_hash for chunk_hash, _ in chunks])


def _node_lost(exc: RetryableChainError, report: BatchReport, left: int) -> RetryableChainError:
    """The node stopped answering during a run: what was paid before, and what was not."""
    paid = (
        f"{report.paid_records} records ({report.points} points) were paid, in batches "
        + ", ".join(map(str, report.batches))
        if report.batches
        else "no record was paid by this run"
    )
    return RetryableChainError(
        f"{exc.message}. Before that, {paid}; {left} records were not paid (the chunk being "
        "sent may have been: the chain has it or not). Run the same file again once the node "
        "answers: it finds what was done and pays each record exactly once",
        **exc.details,
        paid_records=report.paid_records,
        paid_points=report.points,
        batches=list(report.batches),
        unpaid_records=left,
    )


def _approval_gas(count: int) -> int:
    """A gas limit for approving `count` checked records without simulating first: a record costs
    about 15,000 gas for a member who holds points and 36,000 for one who does not yet (a new
    storage word); unused gas is not charged. If the chain still refuses, the transaction fails
    as a whole and its reason is decoded (nothing is paid)."""
    return min(60_000 * count + 500_000, 29_000_000)
