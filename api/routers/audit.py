"""Auditors' queries: supply reconciliation, clearing, refused attempts. Read-only, for holders
of the auditor role (checked on every request); the chain is the source of truth."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, IdPath, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or
from api.routers.wallet import MAX_LIST
from api.schemas import Hex
from ledger.audit.anchors import Anchors, ChainAnchor
from ledger.audit.anchors import verification_data as store_verification_data
from ledger.audit.anomalies import AnomalyReport, detect, finding_rows
from ledger.audit.checks import (
    MemberFile,
    QuotaPeriod,
    SearchHit,
    SupplySeries,
    event_rows,
    member_file,
    quota_data,
    quota_use,
    reconcile,
    reconciliation_data,
    search,
    supply_series,
)
from ledger.audit.export import plain
from ledger.audit.trace import (
    BatchTrace,
    RecordTrace,
    StoreCheck,
    TransactionTrace,
    batch_rows,
    check_record_store,
    record_rows,
    trace_batch,
    trace_record,
    trace_transaction,
    transaction_rows,
)
from ledger.errors import InputError
from ledger.values import parse_address

router = APIRouter(prefix="/v1/audit", tags=["audit"])

#: The most blocks one statement reads events over (ask for a narrower range beyond it).
MAX_STATEMENT_BLOCKS = 500_000
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


class PositionPublic(BaseModel):
    scheme: str
    issuer: str
    net: int = Field(description="owed to the scheme's issuer minus owed by it (thousandths CSU)")


class StatementLinePublic(BaseModel):
    period: str
    issuer: str
    schemes: list[str]
    exchanges: int
    owed_to: int
    owed_by: int
    paid: int
    received: int
    net: int


class DebtPublic(BaseModel):
    payer: str
    payee: str
    owed: int
    pending: int


class StatementPublic(BaseModel):
    period: str
    from_block: int
    to_block: int
    lines: list[StatementLinePublic]
    positions: list[PositionPublic]
    owed: list[DebtPublic]


class SettlementPublic(BaseModel):
    id: int
    payer_scheme: int
    payee_scheme: int
    recorded_at: int
    status: str
    proposer: str
    amount: int
    payment_ref: Hex


class RefusalPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    code: str
    error: str | None
    message: str


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


@router.get("/clearing/positions", response_model=list[PositionPublic], responses=CSV_RESPONSES)
def positions(caller: CallerDep, services: ServicesDep, fmt: FormatQuery = "json") -> Any:
    """Each scheme's net clearing position now (schemes at zero left out); they sum to zero."""
    require_role(services, caller, "auditor")
    answer = [
        PositionPublic(scheme=p.scheme.code, issuer=p.scheme.issuer, net=p.net)
        for p in services.ledger.exchange.positions()
        if p.net
    ]
    return csv_or(
        fmt,
        answer,
        [p.model_dump() for p in answer],
        "clearing-positions",
        list(PositionPublic.model_fields),
    )


@router.get("/clearing/statement", response_model=StatementPublic, responses=CSV_RESPONSES)
def statement(
    caller: CallerDep,
    services: ServicesDep,
    fmt: FormatQuery = "json",
    period: Literal["day", "month"] = "day",
    start: date | None = None,
    end: date | None = None,
    from_block: Annotated[int | None, Query(ge=0, le=2**63)] = None,
    to_block: Annotated[int | None, Query(ge=0, le=2**63)] = None,
) -> Any:
    """Each issuer's clearing per CST day or month, from the Exchange contract's events, over at
    most MAX_STATEMENT_BLOCKS blocks."""
    require_role(services, caller, "auditor")
    ledger = services.ledger
    head = int(ledger.w3.eth.block_number)
    hi = head if to_block is None else min(to_block, head)
    lo = ledger.manifest.contracts["Exchange"].block if from_block is None else from_block
    if lo > hi:
        raise InputError(f"from_block {lo} is after to_block {hi} (the chain is at {head})")
    if hi - lo > MAX_STATEMENT_BLOCKS:
        raise InputError(
            f"{hi - lo} blocks is more than one statement reads ({MAX_STATEMENT_BLOCKS}); "
            "give from_block and to_block closer together",
            max_blocks=MAX_STATEMENT_BLOCKS,
        )
    st = ledger.exchange.statement(period=period, start=start, end=end, from_block=lo, to_block=hi)
    answer = StatementPublic(
        period=st.period,
        from_block=st.from_block,
        to_block=st.to_block,
        lines=[
            StatementLinePublic(
                period=line.period,
                issuer=line.issuer,
                schemes=list(line.schemes),
                exchanges=line.exchanges,
                owed_to=line.owed_to,
                owed_by=line.owed_by,
                paid=line.paid,
                received=line.received,
                net=line.net,
            )
            for line in st.lines
        ],
        positions=[
            PositionPublic(scheme=p.scheme.code, issuer=p.scheme.issuer, net=p.net)
            for p in st.positions
            if p.net
        ],
        owed=[DebtPublic(payer=a, payee=b, owed=o, pending=p) for a, b, o, p in st.owed],
    )
    return csv_or(
        fmt,
        answer,
        [line.model_dump() for line in answer.lines],
        f"clearing-statement-{answer.period}-{answer.from_block}-{answer.to_block}",
        list(StatementLinePublic.model_fields),
    )


@router.get("/clearing/settlements", response_model=list[SettlementPublic], responses=CSV_RESPONSES)
def settlements(
    caller: CallerDep,
    services: ServicesDep,
    fmt: FormatQuery = "json",
    status: Literal["pending", "confirmed", "cancelled"] | None = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> Any:
    require_role(services, caller, "auditor")
    answer = [
        SettlementPublic(
            id=s.id,
            payer_scheme=s.payer_scheme,
            payee_scheme=s.payee_scheme,
            recorded_at=s.recorded_at,
            status=s.status.name.lower(),
            proposer=s.proposer,
            amount=s.amount,
            payment_ref=s.payment_ref,  # type: ignore[arg-type]
        )
        for s in services.ledger.exchange.settlements(status=status, last=last)
    ]
    return csv_or(
        fmt,
        answer,
        [s.model_dump() for s in answer],
        "clearing-settlements",
        list(SettlementPublic.model_fields),
    )


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
    return csv_or(
        fmt,
        answer,
        [r.model_dump() for r in answer],
        "refusals",
        list(RefusalPublic.model_fields),
    )


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
    answer = EventsPublic(
        entries=[EventPublic.model_validate(e, from_attributes=True) for e in page.entries],
        next_cursor=page.next_cursor,
        indexed_block=page.indexed_block,
        chain_head=page.chain_head,
        blocks_behind=page.blocks_behind,
        final_block=page.final_block,
    )
    return csv_or(
        fmt,
        answer,
        [e.model_dump() for e in answer.entries],
        "events",
        list(EventPublic.model_fields),
    )


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
    "/schemes/{code}/reconciliation",
    response_model=ReconciliationPublic,
    responses=CSV_RESPONSES,
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


# --- trace, quota use, members, verification ------------------------------------------------------

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


@router.get("/search", response_model=SearchHit)
def search_for(
    caller: CallerDep,
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=100)],
) -> SearchHit:
    """What the explorer's search box holds: a transaction hash, a block number, an address, a
    record (record 12, r12, #12), a batch (batch 3) or a scheme code, checked to exist."""
    require_role(services, caller, "auditor")
    return search(services.ledger, services.indexer, q)


_FINDING_COLUMNS = ("rule", "message", "scheme_id", "accounts", "records", "first_block")
_BATCH_COLUMNS = ("batch_id", "scheme", "index", "volunteer", "start", "end", "record_id")
_EVENT_COLUMNS = ("block", "timestamp", "tx_hash", "log_index", "contract", "event", "args")
