"""Public reads: the schemes and their terms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.deps import LedgerDep, ServicesDep
from ledger.chain.contracts import Scheme
from ledger.config import METADATA_PATH

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
    """Every scheme, one admitted a moment ago included (the explorer names schemes by this)."""
    return [scheme_public(s) for s in services.schemes(check_count=True)]


@router.get("/schemes/{code}", response_model=SchemePublic)
def get_scheme(code: str, ledger: LedgerDep) -> SchemePublic:
    return scheme_public(ledger.scheme(code))


class MetadataProperties(BaseModel):
    scheme_code: str
    unit: str
    issuer: str
    #: What one point is worth in the city standard unit.
    value_csu: float
    flags: list[str]


class SchemeMetadata(BaseModel):
    """A scheme's points as an ERC-1155 token: the EIP-1155 metadata JSON schema."""

    name: str
    description: str
    #: Points are whole: wallets show balances as they are.
    decimals: int = 0
    properties: MetadataProperties


@router.get(
    METADATA_PATH.removeprefix("/v1"),
    response_model=SchemeMetadata,
    responses={404: {"description": "No scheme has this token id."}},
)
def scheme_metadata(
    id: Annotated[
        str,
        Path(
            pattern="^[0-9a-fA-F]{64}$",
            description="The scheme id as the ERC-1155 token id: 64 hex digits (EIP-1155).",
        ),
    ],
    ledger: LedgerDep,
) -> SchemeMetadata:
    """The ERC-1155 metadata of a scheme's points: where PointsLedger's `uri(id)` points wallets."""
    s = ledger.scheme(int(id, 16))
    return SchemeMetadata(
        name=s.name,
        description=f"{s.name} ({s.code}), issued by {s.issuer}; counted in {s.unit}.",
        properties=MetadataProperties(
            scheme_code=s.code,
            unit=s.unit,
            issuer=s.issuer,
            value_csu=s.value_csu,
            flags=s.flags.names(),
        ),
    )


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
