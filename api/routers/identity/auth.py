"""Signing in and out: Sign-In with Ethereum, or a custodial wallet's PIN; who is signed in."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, TokenDep

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
