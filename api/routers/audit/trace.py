"""Traces for auditors: a service record, a batch or a transaction followed through the
chain's events to the points it moved, and a record's off-chain details checked against the
chain. Read-only, for holders of the auditor role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CallerDep, IdPath, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or
from ledger.audit.trace.batches import BatchTrace, trace_batch
from ledger.audit.trace.records import RecordTrace, trace_record
from ledger.audit.trace.rows import batch_rows, record_rows, transaction_rows
from ledger.audit.trace.store import StoreCheck, check_record_store
from ledger.audit.trace.transactions import TransactionTrace, trace_transaction
from ledger.values import parse_address

router = APIRouter(prefix="/v1/audit", tags=["audit"])

#: The CSV header of a batch trace with no records.
_BATCH_COLUMNS = ("batch_id", "scheme", "index", "volunteer", "start", "end", "record_id")


TxHashQuery = Annotated[str, Query(min_length=66, max_length=66, pattern=r"^0x[0-9a-fA-F]{64}$")]


@router.get("/records/{record_id}/trace", response_model=RecordTrace, responses=CSV_RESPONSES)
def record_trace(
    record_id: IdPath, caller: CallerDep, services: ServicesDep, fmt: FormatQuery = "json"
) -> Any:
    """A service record traced: its volunteer, submitter and reviewers, activity, every event of
    it (transactions, blocks), the points it issued, and its off-chain details checked against
    the chain; `problems` lists anything that must never happen. CSV: its timeline."""
    require_role(services, caller, "auditor")
    t = trace_record(services.ledger, services.indexer, record_id)
    return csv_or(fmt, t, record_rows(t), f"record-{record_id}-trace")


@router.get("/batches/{batch_id}/trace", response_model=BatchTrace, responses=CSV_RESPONSES)
def batch_trace(
    batch_id: IdPath,
    caller: CallerDep,
    services: ServicesDep,
    volunteer: Annotated[str | None, Query(max_length=64)] = None,
    fmt: FormatQuery = "json",
) -> Any:
    """A batch traced: who submitted and approved it, its records read back from the approving
    transaction (only `volunteer`'s if given), each checked against the store. CSV: its records."""
    require_role(services, caller, "auditor")
    who = parse_address(volunteer, what="volunteer") if volunteer is not None else None
    b = trace_batch(services.ledger, services.indexer, batch_id, volunteer=who)
    return csv_or(fmt, b, batch_rows(b), f"batch-{batch_id}-trace", list(_BATCH_COLUMNS))


@router.get("/trace", response_model=TransactionTrace, responses=CSV_RESPONSES)
def transaction_trace(
    tx_hash: TxHashQuery, caller: CallerDep, services: ServicesDep, fmt: FormatQuery = "json"
) -> Any:
    """Every movement of points in a transaction with the record or batch behind it. CSV: one
    line per movement."""
    require_role(services, caller, "auditor")
    t = trace_transaction(services.ledger, services.indexer, tx_hash)
    return csv_or(fmt, t, transaction_rows(t), f"tx-{tx_hash[:18]}-trace")


@router.get("/records/{record_id}/verification", response_model=StoreCheck)
def record_verification(record_id: IdPath, caller: CallerDep, services: ServicesDep) -> Any:
    """A record's off-chain details against the chain (hash, volunteer, times, evidence)."""
    require_role(services, caller, "auditor")
    ledger = services.ledger
    return check_record_store(ledger, ledger.earning.existing(record_id))
