"""Signing in and out: Sign-In with Ethereum, a custodial wallet's PIN, and custodial wallets."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, TokenDep, require_role
from api.writes import WriteDep
from ledger.chain.tx import Signer
from ledger.errors import AccessDenied
from ledger.identity.wallets import WalletInfo
from ledger.values import parse_address

router = APIRouter(prefix="/v1", tags=["auth"])


class ChallengeCreate(BaseModel):
    address: str = Field(description="the account that will sign in", examples=["0x" + "ab" * 20])


class ChallengePublic(BaseModel):
    message: str = Field(description="the EIP-4361 message to sign with personal_sign")
    nonce: str
    expires_at: datetime


class SignInCreate(BaseModel):
    message: str = Field(max_length=2000)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class PinSignInCreate(BaseModel):
    address: str
    pin: str = Field(min_length=1, max_length=128)


class SessionPublic(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    address: str
    method: str = Field(description="key (signed a challenge) or custodial (PIN)")
    expires_at: datetime


class MePublic(BaseModel):
    address: str
    method: str
    expires_at: datetime
    member: bool
    custodial: bool


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


@router.post("/auth/challenge", response_model=ChallengePublic)
def challenge(body: ChallengeCreate, services: ServicesDep) -> ChallengePublic:
    """A one-time Sign-In with Ethereum message for the account to sign."""
    c = services.auth.challenge(body.address)
    return ChallengePublic(message=c.message, nonce=c.nonce, expires_at=c.expires_at)


@router.post("/auth/sign-in", response_model=SessionPublic)
def sign_in(body: SignInCreate, services: ServicesDep) -> SessionPublic:
    """Exchange a signed challenge for a short-lived token."""
    s = services.auth.sign_in(body.message, body.signature)
    return SessionPublic(token=s.token, address=s.address, method=s.method, expires_at=s.expires_at)


@router.post("/auth/pin-sign-in", response_model=SessionPublic)
def pin_sign_in(body: PinSignInCreate, services: ServicesDep) -> SessionPublic:
    """Sign in to a custodial wallet with its PIN (wrong PINs count towards a lock-out)."""
    account = services.wallets.unlock(body.address, body.pin)
    s = services.auth.open_session(account.address, method="custodial")
    return SessionPublic(token=s.token, address=s.address, method=s.method, expires_at=s.expires_at)


@router.post("/auth/sign-out", status_code=204)
def sign_out(token: TokenDep, services: ServicesDep) -> None:
    services.auth.sign_out(token)
    services.forget(token)


@router.get("/auth/me", response_model=MePublic)
def me(caller: CallerDep, services: ServicesDep) -> MePublic:
    return MePublic(
        address=caller.address,
        method=caller.method,
        expires_at=caller.expires_at,
        member=services.ledger.members.member(caller.address).registered,
        custodial=services.wallets.is_custodial(caller.address),
    )


@router.post("/wallets", response_model=WalletPublic, status_code=201, tags=["wallets"])
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


@router.post("/wallets/{address}/pin", response_model=WalletPublic, tags=["wallets"])
def change_pin(address: str, body: PinChange, caller: CallerDep, services: ServicesDep) -> object:
    """The wallet's owner changes its PIN (the old one is checked, and counts if wrong)."""
    if parse_address(address, what="wallet address") != caller.address:
        raise AccessDenied("only the wallet's owner changes its PIN")
    info = services.wallets.change_pin(address, old_pin=body.old_pin, new_pin=body.new_pin)
    return _wallet(info)


@router.post("/wallets/{address}/unlock", response_model=WalletPublic, tags=["wallets"])
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
