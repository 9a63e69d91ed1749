"""Signs of cheating for auditors: farming and collusion patterns found in the event index,
and the writes the ledger refused. Read-only, for holders of the auditor role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import CallerDep, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or, csv_or_models
from api.schemas import MAX_LIST
from ledger.audit.anomalies.detect import detect
from ledger.audit.anomalies.findings import AnomalyReport, finding_rows

router = APIRouter(prefix="/v1/audit", tags=["audit"])

#: The CSV header of an anomaly report with no findings.
_FINDING_COLUMNS = ("rule", "message", "scheme_id", "accounts", "records", "first_block")


class RefusalPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    code: str
    error: str | None
    message: str


@router.get("/refusals", response_model=list[RefusalPublic], responses=CSV_RESPONSES)
def refusals(
    caller: CallerDep,
    services: ServicesDep,
    fmt: FormatQuery = "json",
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> Any:
    """Writes the ledger refused, newest first: who tried what, and why."""
    require_role(services, caller, "auditor")
    answer = [
        RefusalPublic.model_validate(row, from_attributes=True)
        for row in services.ledger.earning.refusals(last=last)
    ]
    return csv_or_models(fmt, answer, answer, RefusalPublic, "refusals")


@router.get("/anomalies", response_model=AnomalyReport, responses=CSV_RESPONSES)
def anomalies(
    caller: CallerDep,
    services: ServicesDep,
    rule: Annotated[list[str] | None, Query(max_length=40)] = None,
    scheme: Annotated[str | None, Query(max_length=32)] = None,
    from_block: Annotated[int | None, Query(ge=0, le=2**63)] = None,
    to_block: Annotated[int | None, Query(ge=0, le=2**63)] = None,
    fmt: FormatQuery = "json",
) -> Any:
    """Farming and collusion patterns over a range of blocks (default: the newest the index
    holds; at most `max_blocks` of audit.json), each finding with its evidence (records,
    transactions, blocks). Rules: burst, evidence_reuse, collusion, outside_window, fast_review,
    registration_burst (docs/auditors.md, "Anomaly rules"). CSV: one line per finding."""
    require_role(services, caller, "auditor")
    report = detect(
        services.ledger,
        services.indexer,
        rules=rule,
        scheme=(int(scheme) if scheme.isdigit() else scheme) if scheme else None,
        from_block=from_block,
        to_block=to_block,
    )
    return csv_or(
        fmt, report, finding_rows(report), f"anomalies-{report.from_block}-{report.to_block}",
        list(_FINDING_COLUMNS),
    )  # fmt: skip
