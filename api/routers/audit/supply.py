"""Auditors' checks of a scheme's points: its supply reconciled on chain and against the
event index, its quota use per window, and its supply over time. Read-only, for holders of the
auditor role (checked on every request); the chain is the source of truth."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or
from ledger.audit.checks.quota import QuotaPeriod, quota_data, quota_use
from ledger.audit.checks.supply import SupplySeries, reconcile, reconciliation_data, supply_series
from ledger.audit.export import plain

router = APIRouter(prefix="/v1/audit", tags=["audit"])


#: A time as the CLI takes it: 2026-11-30, 2026-11-30 08:00, ISO 8601 with or without a zone.
TimeQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="a date or a date and time, e.g. 2026-11-30 or 2026-11-30T08:00:00+08:00 "
        "(China Standard Time unless a zone is given)",
    ),
]


class SupplyPublic(BaseModel):
    scheme: str
    block: int
    issued: int = Field(description="by approved records, within the quota")
    minted: int = Field(description="by exchanges into the scheme, outside the quota")
    burned: int = Field(description="redeemed, exchanged out, expired")
    total_supply: int = Field(description="issued + minted - burned")
    held: int = Field(description="part of the supply held for orders and time-bank requests")
    remaining_quota: int
    balanced: bool = Field(description="issued + minted - burned == total_supply")


@router.get("/schemes/{code}/supply", response_model=SupplyPublic, responses=CSV_RESPONSES)
def supply(
    code: Annotated[str, Path(max_length=32)],
    caller: CallerDep,
    services: ServicesDep,
    fmt: FormatQuery = "json",
) -> Any:
    """A scheme's supply reconciled on chain: issued + minted - burned = total supply."""
    require_role(services, caller, "auditor")
    ledger = services.ledger
    block = int(ledger.w3.eth.block_number)
    s = ledger.scheme(code)
    figures = ledger.scheme_supply(s.id)
    answer = SupplyPublic(
        scheme=s.code,
        block=block,
        issued=figures.issued,
        minted=figures.minted,
        burned=figures.burned,
        total_supply=figures.total_supply,
        held=figures.held,
        remaining_quota=figures.remaining_quota,
        balanced=figures.issued + figures.minted - figures.burned == figures.total_supply,
    )
    return csv_or(fmt, answer, [answer.model_dump()], f"supply-{s.code}-{block}")


class ReconciliationPublic(BaseModel):
    scheme: str
    scheme_id: int
    block: int
    balanced: bool
    chain: dict[str, int] = Field(description="issued, minted, burned, total_supply, held")
    index: dict[str, int] = Field(
        description="created, destroyed, in_accounts, in_holds, holders (from the event index)"
    )
    findings: list[str] = Field(description="every difference found; empty when balanced")


@router.get(
    "/schemes/{code}/reconciliation", response_model=ReconciliationPublic, responses=CSV_RESPONSES
)
def reconciliation(
    code: Annotated[str, Path(max_length=32)],
    caller: CallerDep,
    services: ServicesDep,
    fmt: FormatQuery = "json",
    block: Annotated[int | None, Query(ge=0, le=2**63)] = None,
) -> Any:
    """A scheme's supply at a block (default: as far as the index holds) on chain, against what
    the event index's movements add up to; `findings` lists every difference."""
    require_role(services, caller, "auditor")
    scheme: str | int = int(code) if code.isdigit() else code
    r = reconcile(services.ledger, services.indexer, scheme, block=block)
    data = reconciliation_data(r)
    return csv_or(fmt, data, [data], f"reconciliation-{r.scheme}-{r.block}")


class QuotaPublic(BaseModel):
    scheme: str
    scheme_id: int
    quota: int
    quota_period_seconds: int
    periods: list[QuotaPeriod]
    chain: dict[str, int] = Field(description="current_period, quota_used, remaining")
    findings: list[str]
    indexed_block: int
    blocks_behind: int


@router.get("/schemes/{code}/quota", response_model=QuotaPublic, responses=CSV_RESPONSES)
def quota(
    code: Annotated[str, Path(max_length=32)],
    caller: CallerDep,
    services: ServicesDep,
    since: TimeQuery = None,
    until: TimeQuery = None,
    fmt: FormatQuery = "json",
) -> Any:
    """Points issued per quota window (default: the last 12) against the quota in force, and the
    chain's own count of the current window. CSV: one line per window."""
    require_role(services, caller, "auditor")
    scheme: str | int = int(code) if code.isdigit() else code
    q = quota_use(services.ledger, services.indexer, scheme, since=since, until=until)
    data = quota_data(q)
    return csv_or(
        fmt, data, data["periods"], f"quota-{q.scheme}", list(QuotaPeriod.__dataclass_fields__)
    )


@router.get("/supply-series", response_model=SupplySeries, responses=CSV_RESPONSES)
def supply_over_time(
    caller: CallerDep,
    services: ServicesDep,
    scheme: Annotated[str, Query(max_length=32)],
    bucket: Literal["hour", "day"] = "day",
    since: TimeQuery = None,
    until: TimeQuery = None,
    fmt: FormatQuery = "json",
) -> Any:
    """A scheme's supply per hour or day (days of China Standard Time) from the event index:
    points created and destroyed in each bucket and the supply at its end (the explorer's chart);
    at most 1,000 buckets. CSV: one line per bucket."""
    require_role(services, caller, "auditor")
    code: str | int = int(scheme) if scheme.isdigit() else scheme
    series = supply_series(
        services.ledger, services.indexer, code, bucket=bucket, since=since, until=until
    )
    return csv_or(
        fmt, series, [plain(p) for p in series.points], f"supply-{series.scheme}-{bucket}",
        ["start", "created", "destroyed", "total"],
    )  # fmt: skip
