"""The off-chain store against its anchors on chain (Merkle roots), for auditors: the
newest anchors, and the rows altered, deleted or inserted since. Read-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CallerDep, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or
from ledger.audit.anchors.anchoring import Anchors
from ledger.audit.anchors.client import ChainAnchor
from ledger.audit.anchors.verification import verification_data as store_verification_data
from ledger.audit.export import plain

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/store/anchors", response_model=list[ChainAnchor], responses=CSV_RESPONSES)
def store_anchors(
    caller: CallerDep,
    services: ServicesDep,
    last: Annotated[int, Query(ge=1, le=500)] = 20,
    fmt: FormatQuery = "json",
) -> Any:
    """The newest anchors of the off-chain store on chain (Merkle roots), newest first."""
    require_role(services, caller, "auditor")
    items = Anchors(services.ledger).anchors(last=last)
    return csv_or(fmt, items, [plain(a) for a in items], "store-anchors")


@router.get("/store/verification", responses=CSV_RESPONSES)
def store_verification(caller: CallerDep, services: ServicesDep, fmt: FormatQuery = "json") -> Any:
    """The off-chain store against its newest anchor: rows altered, deleted or inserted since,
    and anchors whose snapshot was altered or deleted (`clean` when none). CSV: the rows found."""
    require_role(services, caller, "auditor")
    data = store_verification_data(Anchors(services.ledger).verify())
    return csv_or(
        fmt, data, data["findings"], "store-verification", ["kind", "table", "row_id", "detail"]
    )
