"""The event index for auditors (the explorer's queries): how far it holds the chain, the
decoded events, a member's file, and the search box. Read-only, for holders of the auditor role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or, csv_or_models
from api.schemas import MAX_LIST
from ledger.audit.checks.members import MemberFile, event_rows, member_file
from ledger.audit.checks.search import SearchHit, search

router = APIRouter(prefix="/v1/audit", tags=["audit"])

#: The CSV header of a member file with no events on its page.
_EVENT_COLUMNS = ("block", "timestamp", "tx_hash", "log_index", "contract", "event", "args")


class IndexStatusPublic(BaseModel):
    indexed_block: int
    chain_head: int
    blocks_behind: int
    finalized_block: int
    events: int
    movements: int
    synced_at: int | None


class EventPublic(BaseModel):
    contract: str
    event: str
    address: str
    block: int
    timestamp: datetime
    tx_hash: str
    log_index: int
    args: dict[str, Any]
    final: bool = Field(description="false while its block may still be replaced")


class EventsPublic(BaseModel):
    entries: list[EventPublic]
    next_cursor: str | None
    indexed_block: int
    chain_head: int
    blocks_behind: int
    final_block: int = Field(description="events up to this block are final")


@router.get("/index", response_model=IndexStatusPublic)
def index_status(caller: CallerDep, services: ServicesDep) -> IndexStatusPublic:
    """How far the event index holds the chain."""
    require_role(services, caller, "auditor")
    st = services.indexer.status()
    return IndexStatusPublic.model_validate(st, from_attributes=True)


@router.get("/events", response_model=EventsPublic, responses=CSV_RESPONSES)
def events(
    caller: CallerDep,
    services: ServicesDep,
    fmt: FormatQuery = "json",
    contract: Annotated[str | None, Query(max_length=40)] = None,
    event: Annotated[str | None, Query(max_length=60)] = None,
    tx_hash: Annotated[str | None, Query(max_length=66)] = None,
    block: Annotated[int | None, Query(ge=0, le=2**63)] = None,
    address: Annotated[str | None, Query(max_length=64)] = None,
    ref: Annotated[
        str | None,
        Query(max_length=48, description="a domain id the events name: record:12, batch:3, ..."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> Any:
    """Decoded events of our contracts, newest first: by contract, event, transaction, block, an
    account named in them, or a domain object they name (`ref`) (the explorer's queries)."""
    require_role(services, caller, "auditor")
    page = services.indexer.events(
        contract=contract,
        event=event,
        tx_hash=tx_hash,
        block=block,
        address=address,
        ref=ref,
        cursor=cursor,
        limit=limit,
    )
    answer = EventsPublic.model_validate(page, from_attributes=True)
    return csv_or_models(fmt, answer, answer.entries, EventPublic, "events")


@router.get("/members/{address}", response_model=MemberFile, responses=CSV_RESPONSES)
def member(
    address: Annotated[str, Path(max_length=64)],
    caller: CallerDep,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
    fmt: FormatQuery = "json",
) -> Any:
    """A member's standing and balances on chain and every event that names them, newest first
    by pages (no personal data). CSV: one line per event of the page."""
    require_role(services, caller, "auditor")
    f = member_file(services.ledger, services.indexer, address, cursor=cursor, limit=limit)
    return csv_or(fmt, f, event_rows(f.events), f"member-{f.address}", list(_EVENT_COLUMNS))


@router.get("/search", response_model=SearchHit)
def search_for(
    caller: CallerDep, services: ServicesDep, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> SearchHit:
    """What the explorer's search box holds: a transaction hash, a block number, an address, a
    record (record 12, r12, #12), a batch (batch 3) or a scheme code, checked to exist."""
    require_role(services, caller, "auditor")
    return search(services.ledger, services.indexer, q)
