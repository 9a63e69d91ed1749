"""The HTTP API: ``create_app(settings)``. This first version serves health and read-only views;
the wallet, issuer and auditor endpoints grow on the same ``Ledger``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from api import errors as api_errors
from ledger.config import Settings
from ledger.contracts import Scheme
from ledger.ledger import Ledger


class SchemePublic(BaseModel):
    id: int
    code: str
    name: str
    unit: str
    issuer: str
    value_csu: float
    quota: int
    quota_period_seconds: int
    flags: list[str]


class BalancePublic(BaseModel):
    scheme: str
    scheme_id: int
    name: str
    unit: str
    amount: int


class Health(BaseModel):
    status: str
    chain_id: int
    block: int
    network: str


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def create_app(settings: Settings) -> FastAPI:
    """The application for one network; the Ledger is built at startup, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = Ledger(settings)
        assert ledger.sender and ledger.manifest  # built once, before requests run in threads
        app.state.ledger = ledger
        yield
        app.state.ledger.close()

    app = FastAPI(title="志愿积分链 Volunteer Points Ledger", version="0.1.0", lifespan=lifespan)
    api_errors.install(app)

    @app.get("/health", response_model=Health)
    def health(ledger: LedgerDep) -> Health:
        manifest = ledger.manifest
        return Health(
            status="ok",
            chain_id=manifest.chain_id,
            block=ledger.w3.eth.block_number,
            network=manifest.network,
        )

    @app.get("/v1/schemes", response_model=list[SchemePublic])
    def list_schemes(ledger: LedgerDep) -> list[SchemePublic]:
        return [_scheme_public(s) for s in ledger.schemes.schemes()]

    @app.get("/v1/schemes/{code}", response_model=SchemePublic)
    def get_scheme(code: str, ledger: LedgerDep) -> SchemePublic:
        return _scheme_public(ledger.scheme(code))

    @app.get("/v1/members/{address}/balances", response_model=list[BalancePublic])
    def balances(address: str, ledger: LedgerDep) -> list[BalancePublic]:
        return [
            BalancePublic(
                scheme=b.scheme.code,
                scheme_id=b.scheme.id,
                name=b.scheme.name,
                unit=b.scheme.unit,
                amount=b.amount,
            )
            for b in ledger.balances(address)
        ]

    return app


def _scheme_public(s: Scheme) -> SchemePublic:
    return SchemePublic(
        id=s.id,
        code=s.code,
        name=s.name,
        unit=s.unit,
        issuer=s.issuer,
        value_csu=s.value_csu,
        quota=s.quota,
        quota_period_seconds=s.quota_period,
        flags=s.flags.names(),
    )
