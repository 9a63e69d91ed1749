"""Auditors' view of the clearing between issuers: net positions, statements per day or
month, and settlements. Read-only, for holders of the auditor role (checked on every request)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, require_role
from api.export import CSV_RESPONSES, FormatQuery, csv_or_models
from api.schemas import MAX_LIST, Hex
from ledger.errors import InputError
from ledger.spending.clearing import Position

router = APIRouter(prefix="/v1/audit", tags=["audit"])


#: The most blocks one statement reads events over (ask for a narrower range beyond it).
MAX_STATEMENT_BLOCKS = 500_000


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


def _positions(positions: Iterable[Position]) -> list[PositionPublic]:
    """The schemes' positions that are not zero."""
    return [
        PositionPublic(scheme=p.scheme.code, issuer=p.scheme.issuer, net=p.net)
        for p in positions
        if p.net
    ]


@router.get("/clearing/positions", response_model=list[PositionPublic], responses=CSV_RESPONSES)
def positions(caller: CallerDep, services: ServicesDep, fmt: FormatQuery = "json") -> Any:
    """Each scheme's net clearing position now (schemes at zero left out); they sum to zero."""
    require_role(services, caller, "auditor")
    answer = _positions(services.ledger.exchange.positions())
    return csv_or_models(fmt, answer, answer, PositionPublic, "clearing-positions")


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
        lines=[StatementLinePublic.model_validate(line, from_attributes=True) for line in st.lines],
        positions=_positions(st.positions),
        owed=[DebtPublic(payer=a, payee=b, owed=o, pending=p) for a, b, o, p in st.owed],
    )
    name = f"clearing-statement-{answer.period}-{answer.from_block}-{answer.to_block}"
    return csv_or_models(fmt, answer, answer.lines, StatementLinePublic, name)


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
    return csv_or_models(fmt, answer, answer, SettlementPublic, "clearing-settlements")
