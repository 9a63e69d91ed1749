"""Batch uploads: ``ledger.earning.batch`` run as a background job with progress and a result report.

Four eyes split the job in two steps, each signed by its own person:

1. the organiser uploads the file; the job plans it (every bad row with its line number: the job
   ends ``invalid`` with the report) and submits every chunk's hash (``submit_chunks``), then
   waits for review (``awaiting_review``);
2. a reviewer of the scheme approves: the job pays every chunk (``run_batch``) and ends ``done``
   with the report.

The job lives in the store (``BatchUpload``). A job cut off by a restart is marked
``interrupted``; starting its step again is safe because both steps find every chunk on chain by
its hash and never submit or pay one twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from ledger.chain.contracts.packed_records import MAX_BATCH
from ledger.chain.tx import Signer
from ledger.earning.batch.parts import BatchParts
from ledger.earning.batch.pay import DEFAULT_CHUNK, refuse_bad_rows, run_batch, submit_chunks
from ledger.earning.batch.plan import plan_batch
from ledger.earning.batch.rows import BatchPlan
from ledger.errors import InputError, InvalidRows, LedgerError, RecordNotFound, StatusConflict
from ledger.store import session, utcnow
from ledger.store.uploads import BatchUpload
from ledger.values import parse_address

log = logging.getLogger(__name__)

#: The largest file an upload takes (about 20,000 rows).
MAX_UPLOAD_BYTES = 5_000_000
RUNNING = ("planning", "submitting", "paying")
FINISHED = ("invalid", "done", "failed")
#: A running job's thread touches it this often; one untouched for STALE_AFTER has lost its
#: process (a restart, a crash, another API worker that died) and shows as interrupted.
HEARTBEAT_SECONDS = 20.0
STALE_AFTER = timedelta(seconds=90)


def upload_data(job: BatchUpload) -> dict[str, Any]:
    """A job as the API shows it (progress, transactions; never the file's contents)."""
    return {
        "id": job.id,
        "scheme": job.scheme_code,
        "scheme_id": job.scheme_id,
        "organiser": job.organiser,
        "reviewer": job.reviewer,
        "file_name": job.file_name,
        "file_sha256": job.file_sha256,
        "state": job.state,
        "phase": job.phase,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "chunks_total": job.chunks_total,
        "chunks_sent": job.chunks_sent,
        "tx_hashes": json.loads(job.tx_hashes_json),
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def report_data(job: BatchUpload) -> dict[str, Any]:
    """The result report of a job: what was paid, skipped and left out (so far)."""
    report: dict[str, Any] = json.loads(job.report_json) if job.report_json else {}
    return {"id": job.id, "state": job.state, **report}


def _plan_report(plan: BatchPlan) -> dict[str, Any]:
    return {
        "rows": plan.total_rows,
        "good_rows": len(plan.rows),
        "points": plan.points,
        "skipped": [
            {"line": k.line, "record_id": k.record_id, "reason": k.reason} for k in plan.skipped
        ],
        "bad_rows": [
            {"line": e.line, "record_id": e.record_id, "error": e.message} for e in plan.errors
        ],
        "normalised": [
            {"line": n.line, "record_id": n.record_id, "changes": list(n.changes)}
            for n in plan.normalised
        ],
    }


class Uploads:
    """Batch upload jobs of one ledger."""

    def __init__(self, parts: BatchParts) -> None:
        self.parts = parts
        self._threads: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    # --- creating and reading --------------------------------------------------------------

    def create(
        self,
        *,
        scheme: str | int,
        organiser: str,
        reviewer: str,
        file_name: str,
        csv_text: str,
        chunk_size: int = DEFAULT_CHUNK,
        only_good_rows: bool = False,
    ) -> BatchUpload:
        s = self.parts.scheme(scheme)
        organiser = parse_address(organiser, what="organiser address")
        reviewer = parse_address(reviewer, what="reviewer address")
        if reviewer == organiser:
            raise InputError(
                "the reviewer who pays a batch must be another person than its organiser (four eyes)",
                field="reviewer",
            )
        raw = csv_text.encode()
        if not raw.strip():
            raise InputError("the file is empty: it needs a header line and rows", field="csv")
        if len(raw) > MAX_UPLOAD_BYTES:
            raise InputError(f"the file is over {MAX_UPLOAD_BYTES} bytes; split it", field="csv")
        if not 1 <= chunk_size <= MAX_BATCH:
            raise InputError(f"chunk size must be 1-{MAX_BATCH}", field="chunk_size")
        now = utcnow()
        job = BatchUpload(
            scheme_id=s.id,
            scheme_code=s.code,
            organiser=organiser,
            reviewer=reviewer,
            file_name=Path(file_name).name[:200] or "upload.csv",
            file_sha256=hashlib.sha256(raw).hexdigest(),
            csv_text=csv_text,
            chunk_size=chunk_size,
            only_good_rows=only_good_rows,
            created_at=now,
            updated_at=now,
        )
        with session(self.parts.engine) as db:
            db.add(job)
            db.flush()
        return job

    def get(self, upload_id: int) -> BatchUpload:
        with session(self.parts.engine) as db:
            job = db.get(BatchUpload, upload_id)
        if job is None:
            raise RecordNotFound(f"there is no batch upload {upload_id}")
        if job.state in RUNNING and self._lost(job):
            self.mark_interrupted()
            return self.get(upload_id)
        return job

    def _lost(self, job: BatchUpload) -> bool:
        """Running in the store, yet no thread here runs it and none anywhere touched it lately."""
        thread = self._threads.get(job.id or 0)
        if thread is not None and thread.is_alive():
            return False
        return utcnow() - job.updated_at > STALE_AFTER

    def list(self, *, scheme_id: int | None = None, last: int = 50) -> list[BatchUpload]:
        with session(self.parts.engine) as db:
            query = select(BatchUpload).order_by(col(BatchUpload.id).desc()).limit(last)
            if scheme_id is not None:
                query = query.where(BatchUpload.scheme_id == scheme_id)
            return list(db.exec(query))

    def mark_interrupted(self) -> int:
        """Jobs whose process stopped while they ran (at startup, and when read) are interrupted;
        a job that another live API worker runs keeps being touched and is left alone."""
        with session(self.parts.engine) as db:
            jobs = list(db.exec(select(BatchUpload).where(col(BatchUpload.state).in_(RUNNING))))
            lost = [job for job in jobs if self._lost(job)]
            for job in lost:
                job.state = "interrupted"
                job.updated_at = utcnow()
                db.add(job)
        return len(lost)

    # --- running -----------------------------------------------------------------------------

    def start_submit(self, upload_id: int, *, organiser: Signer) -> BatchUpload:
        """The organiser's step, in the background: plan, then submit every chunk."""
        job = self.get(upload_id)
        if organiser.address != job.organiser:
            raise InputError(f"only the job's organiser {job.organiser} submits its chunks")
        self._claim(job, allowed=("planning", "interrupted"), phase="submit", state="planning")
        return self._start(upload_id, lambda: self._submit(upload_id, organiser))

    def start_pay(self, upload_id: int, *, reviewer: Signer) -> BatchUpload:
        """The reviewer's step, in the background: pay every submitted chunk."""
        job = self.get(upload_id)
        if reviewer.address != job.reviewer:
            raise InputError(f"the job names {job.reviewer} as its reviewer; they approve it")
        if job.state == "interrupted" and job.phase == "submit":
            raise StatusConflict(
                "the organiser's step was interrupted: the organiser resumes it first",
                status=job.state,
            )
        self._claim(job, allowed=("awaiting_review", "interrupted"), phase="pay", state="paying")
        return self._start(upload_id, lambda: self._pay(upload_id, reviewer))

    def _claim(self, job: BatchUpload, *, allowed: tuple[str, ...], phase: str, state: str) -> None:
        with session(self.parts.engine) as db:
            row = db.get(BatchUpload, job.id)
            assert row is not None
            if row.state not in allowed or (row.state == "interrupted" and row.phase != phase):
                raise StatusConflict(
                    f"batch upload {job.id} is {row.state} (step {row.phase}); this step needs "
                    f"it {' or '.join(allowed)}",
                    status=row.state,
                )
            row.state, row.phase, row.updated_at = state, phase, utcnow()
            row.error_code = row.error_message = None
            db.add(row)

    def _start(self, upload_id: int, work: Callable[[], None]) -> BatchUpload:
        def guarded() -> None:
            stop = threading.Event()

            def heartbeat() -> None:
                while not stop.wait(HEARTBEAT_SECONDS):
                    if self.get(upload_id).state in RUNNING:
                        self._update(upload_id)

            threading.Thread(
                target=heartbeat, name=f"batch-upload-{upload_id}-beat", daemon=True
            ).start()
            try:
                work()
            except LedgerError as exc:
                self._update(
                    upload_id, state="failed", error_code=exc.code, error_message=exc.message
                )
            except Exception:
                log.exception("batch upload %d failed", upload_id)
                self._update(
                    upload_id,
                    state="failed",
                    error_code="internal_error",
                    error_message="an unexpected error; the operators have the log",
                )
            finally:
                stop.set()

        thread = threading.Thread(target=guarded, name=f"batch-upload-{upload_id}", daemon=True)
        with self._lock:
            self._threads[upload_id] = thread
        thread.start()
        return self.get(upload_id)

    def wait(self, upload_id: int, timeout: float | None = None) -> BatchUpload:
        """The job once its running step has ended (tests and tools)."""
        thread = self._threads.get(upload_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(upload_id)

    def _plan(self, upload_id: int, *, actor: str) -> BatchPlan | None:
        """The job's file planned; None (the job invalid, its bad rows written down as refused
        attempts of `actor`) when it has bad rows and only good rows are not to be paid."""
        job = self.get(upload_id)
        with tempfile.TemporaryDirectory(prefix="vpl-upload-") as folder:
            path = Path(folder) / job.file_name
            path.write_text(job.csv_text, encoding="utf-8")
            try:
                plan = plan_batch(
                    self.parts,
                    path,
                    scheme=job.scheme_id,
                    organiser=job.organiser,
                    reviewer=job.reviewer,
                )
            except InputError as exc:
                rows = exc.details.get("rows") or []
                report = {"rows": 0, "good_rows": 0, "points": 0, "skipped": [], "bad_rows": rows}
                self._update(
                    upload_id,
                    state="invalid",
                    report_json=json.dumps(report),
                    error_code=exc.code,
                    error_message=exc.message,
                )
                return None
        report = _plan_report(plan)
        if plan.errors and not job.only_good_rows:
            with contextlib.suppress(InvalidRows):
                refuse_bad_rows(self.parts, plan, actor=actor)
            self._update(
                upload_id,
                state="invalid",
                rows_total=plan.total_rows,
                report_json=json.dumps(report),
                error_code="invalid_rows",
                error_message=f"{len(plan.errors)} bad row(s); nothing was written",
            )
            return None
        self._update(
            upload_id, rows_total=len(plan.rows) + len(plan.skipped), report_json=json.dumps(report)
        )
        return plan

    def _submit(self, upload_id: int, organiser: Signer) -> None:
        plan = self._plan(upload_id, actor=organiser.address)
        if plan is None:
            return
        job = self.get(upload_id)
        self._update(upload_id, state="submitting")

        def progress(done: int, total: int) -> None:
            self._update(upload_id, chunks_sent=done, chunks_total=total)

        submission = submit_chunks(
            self.parts,
            plan,
            organiser=organiser,
            chunk_size=job.chunk_size,
            only_good_rows=job.only_good_rows,
            progress=progress,
        )
        tx = json.loads(self.get(upload_id).tx_hashes_json) + submission.transactions
        self._update(
            upload_id,
            state="awaiting_review" if plan.rows else "done",
            job_id=submission.job_id,
            rows_done=len(plan.skipped),
            tx_hashes_json=json.dumps(tx),
        )

    def _pay(self, upload_id: int, reviewer: Signer) -> None:
        plan = self._plan(upload_id, actor=reviewer.address)
        if plan is None:
            return
        job = self.get(upload_id)
        skipped = len(plan.skipped)

        def progress(done: int, total: int) -> None:
            self._update(upload_id, rows_done=skipped + done)

        report = run_batch(
            self.parts,
            plan,
            organiser=None,
            reviewer=reviewer,
            chunk_size=job.chunk_size,
            only_good_rows=job.only_good_rows,
            progress=progress,
        )
        data = {
            **json.loads(self.get(upload_id).report_json or "{}"),
            "paid_records": report.paid_records,
            "points": report.points,
            "batches": report.batches,
            "gas_used": report.gas_used,
            "seconds": round(report.seconds, 2),
        }
        tx = json.loads(self.get(upload_id).tx_hashes_json) + report.transactions
        self._update(
            upload_id,
            state="done",
            rows_done=skipped + report.paid_records,
            report_json=json.dumps(data),
            tx_hashes_json=json.dumps(tx),
        )

    def _update(self, upload_id: int, **values: Any) -> None:
        with session(self.parts.engine) as db:
            job = db.get(BatchUpload, upload_id)
            if job is None:
                return
            for name, value in values.items():
                setattr(job, name, value)
            job.updated_at = utcnow()
            db.add(job)
