"""Public reads: the schemes and their terms."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import LedgerDep, ServicesDep
from ledger.contracts import Scheme

router = APIRouter(prefix="/v1", tags=["schemes"])


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


@router.get("/schemes", response_model=list[SchemePublic])
def list_schemes(services: ServicesDep) -> list[SchemePublic]:
    return [scheme_public(s) for s in services.schemes()]


@router.get("/schemes/{code}", response_model=SchemePublic)
def get_scheme(code: str, ledger: LedgerDep) -> SchemePublic:
    return scheme_public(ledger.scheme(code))


def scheme_public(s: Scheme) -> SchemePublic:
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
