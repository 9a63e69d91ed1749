"""Custodial wallets, for people without a key of their own: a registrar creates one and lifts
its lock-out; its owner changes its PIN."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, require_role
from api.writes import WriteDep
from ledger.chain.tx import Signer
from ledger.errors import AccessDenied
from ledger.identity.wallets import WalletInfo
from ledger.values import parse_address

router = APIRouter(prefix="/v1", tags=["auth", "wallets"])


class WalletCreate(BaseModel):
    pin: str = Field(min_length=6, max_length=128, description="6-12 digits, or a password")


class WalletPublic(BaseModel):
    address: str
    created_by: str
    created_at: datetime
    locked_until: datetime | None


class PinChange(BaseModel):
    old_pin: str = Field(min_length=1, max_length=128)
    new_pin: str = Field(min_length=6, max_length=128)


@router.post("/wallets", response_model=WalletPublic, status_code=201)
def create_wallet(body: WalletCreate, caller: CallerDep, write: WriteDep) -> object:
    """A registrar creates a custodial wallet for someone without a key (register the member
    next with ``POST /v1/members``)."""
    services = write.services
    require_role(services, caller, "registrar")

    def create(_: Signer) -> WalletPublic:
        return _wallet(services.wallets.create(pin=body.pin, created_by=caller.address))

    return write.run(
        create, status_code=201, chain=False, audit="wallet.create", subject="custodial wallet"
    )


@router.post("/wallets/{address}/pin", response_model=WalletPublic)
def change_pin(address: str, body: PinChange, caller: CallerDep, services: ServicesDep) -> object:
    """The wallet's owner changes its PIN (the old one is checked, and counts if wrong)."""
    if parse_address(address, what="wallet address") != caller.address:
        raise AccessDenied("only the wallet's owner changes its PIN")
    info = services.wallets.change_pin(address, old_pin=body.old_pin, new_pin=body.new_pin)
    return _wallet(info)


@router.post("/wallets/{address}/unlock", response_model=WalletPublic)
def lift_lock(address: str, caller: CallerDep, write: WriteDep) -> object:
    """A registrar lifts a wallet's lock-out, after checking who is asking."""
    services = write.services
    require_role(services, caller, "registrar")
    return write.run(
        lambda _: _wallet(services.wallets.lift_lock(address)),
        chain=False,
        audit="wallet.unlock",
        subject=address,
    )


def _wallet(info: WalletInfo) -> WalletPublic:
    return WalletPublic(
        address=info.address,
        created_by=info.created_by,
        created_at=info.created_at,
        locked_until=info.locked_until if info.locked else None,
    )
