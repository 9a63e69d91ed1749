"""Rows for export (``ledger.audit.export``) of the traces: a record's timeline, a batch's records,
a transaction's movements of points."""

from __future__ import annotations

from typing import Any

from ledger.audit.trace.batches import BatchTrace
from ledger.audit.trace.records import RecordTrace
from ledger.audit.trace.transactions import TransactionTrace


def record_rows(t: RecordTrace) -> list[dict[str, Any]]:
    """A record's timeline, one row per event and per movement of points it caused, each with
    the record's people (so a sheet of many traces sorts and filters)."""
    base = {
        "record_id": t.record_id,
        "scheme": t.scheme,
        "status": t.status,
        "volunteer": t.volunteer,
        "submitter": t.submitter,
        "reviewer": t.reviewer,
        "activity_id": t.activity.id if t.activity else None,
    }
    rows: list[dict[str, Any]] = [
        {**base, "step": s.event, "tx_hash": s.tx_hash, "block": s.block,
         "timestamp": s.timestamp, "account": None, "amount": None}
        for s in t.events
    ]  # fmt: skip
    rows += [
        {**base, "step": f"points {m.kind}", "tx_hash": m.tx_hash, "block": m.block,
         "timestamp": None, "account": m.to, "amount": m.amount}
        for m in t.issued
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r["block"], r["step"].startswith("points")))


def batch_rows(b: BatchTrace) -> list[dict[str, Any]]:
    """One row per record of the batch."""
    return [
        {
            "batch_id": b.batch_id,
            "scheme": b.scheme,
            "submitter": b.submitter,
            "reviewer": b.reviewer,
            "index": line.index,
            "volunteer": line.volunteer,
            "activity_id": line.activity_id,
            "start": line.start,
            "end": line.end,
            "code": line.code,
            "details_hash": line.details_hash,
            "evidence_hash": line.evidence_hash,
            "record_id": line.record_id or None,
            "store_found": line.store.found,
            "store_matches": line.store.matches,
            "store_problems": list(line.store.problems),
        }
        for line in b.records
    ]


def transaction_rows(t: TransactionTrace) -> list[dict[str, Any]]:
    """One row per movement of points, with the record or batch behind it."""
    rows = []
    for m in t.movements:
        cause = m.record or m.batch
        rows.append(
            {
                "tx_hash": t.tx_hash,
                "block": t.block,
                "log_index": m.log_index,
                "batch_index": m.batch_index,
                "scheme_id": m.scheme_id,
                "kind": m.kind,
                "from": m.from_address,
                "to": m.to_address,
                "amount": m.amount,
                "reference": m.reference,
                "submitter": cause.submitter if cause else None,
                "reviewer": cause.reviewer if cause else None,
                "problems": list(cause.problems) if cause else [],
            }
        )
    return rows
