"""Members and their proxies, for registrars: register a member (personal data to the encrypted
vault, a commitment on chain), freeze and unfreeze them, and record or end a proxy with the
member's signed consent. Answers show personal data masked; every change is in the admin log."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, require_any_role, require_role
from api.schemas import Address, PathAddress
from api.services import Services
from api.writes import SignedBody, Write, WriteDep
from ledger.chain.relay import ClientSigner
from ledger.chain.tx import Signer
from ledger.errors import InputError, RecordNotFound
from ledger.identity.auth import Caller
from ledger.identity.proxies import MAX_CONSENT_BYTES, grant_data
from ledger.real_name import mask
from ledger.store import PersonalData
from ledger.values import parse_address

router = APIRouter(prefix="/v1/issuer", tags=["issuer", "members"])


class MemberCreate(SignedBody):
    address: Address | None = Field(None, description="the member's account; or create_wallet")
    create_wallet_pin: str | None = Field(
        None,
        min_length=6,
        max_length=128,
        description="create a custodial wallet with this PIN and register it (registrars "
        "signing with their own custodial wallet's PIN)",
    )
    name: str = Field(min_length=1, max_length=100, description="real name (kept in the vault)")
    id_number: str = Field(min_length=1, max_length=32, description="resident ID number")
    phone: str | None = Field(None, min_length=1, max_length=32)


class PersonalPublic(BaseModel):
    """Personal data, always masked."""

    name: str
    id_number: str
    phone: str | None
    masked: bool = True


class MemberPublic(BaseModel):
    address: str
    registered: bool
    status: str
    frozen_reason: int | None
    registered_at: int | None
    registrar: str | None
    successor: str | None
    custodial: bool
    personal: PersonalPublic | None
    created: bool | None = None
    tx_hash: str | None = None


class MemberFreeze(SignedBody):
    reason: int = Field(ge=1, le=65535, description="reason code")


class ProxyCreate(SignedBody):
    proxy: Address
    consent_base64: str = Field(
        min_length=1,
        max_length=(MAX_CONSENT_BYTES * 4) // 3 + 4,
        description="the signed consent document (e.g. a scan), base64; only its hash goes on chain",
    )
    file_name: str | None = Field(None, min_length=1, max_length=200)


class ProxyPublic(BaseModel):
    member: str
    proxy: str
    active: bool
    consent_hash: str
    consent_on_file: bool
    granted_by: str
    granted_block: int
    revoked_by: str | None
    revoked_block: int | None


def _member(services: Services, address: str, **extra: Any) -> MemberPublic:
    ledger = services.ledger
    info = ledger.member(address)
    personal = None
    try:
        entry = ledger.personal_data(info.address)
    except RecordNotFound:
        entry = None
    if entry is not None and entry.data is not None:
        personal = PersonalPublic(
            name=mask(entry.data.name),
            id_number=mask(entry.data.id_number),
            phone=mask(entry.data.phone) if entry.data.phone else None,
        )
    return MemberPublic(
        address=info.address,
        registered=info.registered,
        status=info.status.name.lower(),
        frozen_reason=info.frozen_reason or None,
        registered_at=info.registered_at or None,
        registrar=info.registrar,
        successor=info.successor,
        custodial=services.wallets.is_custodial(info.address),
        personal=personal,
        **extra,
    )


@router.post("/members", response_model=MemberPublic, status_code=201)
def register_member(body: MemberCreate, caller: CallerDep, write: WriteDep) -> object:
    """Register a member (registrars): personal data goes to the encrypted vault, only a
    commitment on chain; answers show it masked. With `create_wallet_pin` a custodial wallet is
    created for them in the same call."""
    services = write.services
    require_role(services, caller, "registrar")
    if (body.address is None) == (body.create_wallet_pin is None):
        raise InputError("give either the member's address or create_wallet_pin", field="address")
    address = parse_address(body.address, what="member address") if body.address else None
    personal = PersonalData(name=body.name, id_number=body.id_number, phone=body.phone)

    def register(signer: Signer) -> MemberPublic:
        member = address
        if member is None:
            if isinstance(signer, ClientSigner):
                raise InputError(
                    "creating a wallet in the same call needs the registrar's custodial PIN; "
                    "otherwise create it first with POST /v1/wallets, then register its address",
                    field="create_wallet_pin",
                )
            wallet = services.wallets.create(
                pin=body.create_wallet_pin or "", created_by=caller.address
            )
            member = wallet.address
        registration = services.ledger.register_member(
            registrar=signer, address=member, personal=personal
        )
        return _member(services, member, created=registration.created, tx_hash=registration.tx_hash)

    return write.run(
        register,
        body=body,
        status_code=201,
        audit="member.register",
        subject=address or "new custodial wallet",
    )


@router.get("/members/{address}", response_model=MemberPublic)
def read_member(address: PathAddress, caller: CallerDep, services: ServicesDep) -> MemberPublic:
    """A member's chain status and masked personal data (registrars and auditors)."""
    require_any_role(services, caller, ("registrar", "auditor"))
    return _member(services, parse_address(address, what="member address"))


def _registered_by(write: Write, caller: Caller, address: str) -> str:
    """The member `address` names (checksummed), if the caller holds the registrar role now."""
    require_role(write.services, caller, "registrar")
    return parse_address(address, what="member address")


def _freeze(
    address: str, body: MemberFreeze, caller: Caller, write: Write, *, freeze: bool
) -> object:
    member = _registered_by(write, caller, address)
    services = write.services
    ledger = services.ledger

    def act(signer: Signer) -> MemberPublic:
        change = ledger.freeze_member if freeze else ledger.unfreeze_member
        result = change(registrar=signer, address=member, reason=body.reason)
        return _member(services, member, tx_hash=result.tx_hash)

    verb = "freeze" if freeze else "unfreeze"
    return write.run(act, body=body, audit=f"member.{verb}", subject=member)


@router.post("/members/{address}/freeze", response_model=MemberPublic)
def freeze_member(
    address: PathAddress, body: MemberFreeze, caller: CallerDep, write: WriteDep
) -> object:
    """Freeze a member: they can no longer receive or move points (registrars)."""
    return _freeze(address, body, caller, write, freeze=True)


@router.post("/members/{address}/unfreeze", response_model=MemberPublic)
def unfreeze_member(
    address: PathAddress, body: MemberFreeze, caller: CallerDep, write: WriteDep
) -> object:
    """Lift a freeze (registrars)."""
    return _freeze(address, body, caller, write, freeze=False)


@router.post("/members/{address}/proxies", response_model=ProxyPublic, status_code=201)
def grant_proxy(
    address: PathAddress, body: ProxyCreate, caller: CallerDep, write: WriteDep
) -> object:
    """Record that `proxy` may act for the member, with their signed consent (registrars)."""
    member = _registered_by(write, caller, address)
    services = write.services
    try:
        consent = base64.b64decode(body.consent_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("consent_base64 is not base64", field="consent_base64") from None

    def grant(signer: Signer) -> ProxyPublic:
        g = services.ledger.proxies.grant(
            actor=signer,
            member=member,
            proxy=body.proxy,
            consent=consent,
            file_name=body.file_name or "consent",
        )
        return ProxyPublic(**grant_data(g))

    return write.run(grant, body=body, status_code=201, audit="proxy.grant", subject=member)


@router.post("/members/{address}/proxies/{proxy}/revoke", response_model=ProxyPublic)
def revoke_proxy(
    address: PathAddress, proxy: PathAddress, body: SignedBody, caller: CallerDep, write: WriteDep
) -> object:
    """End a proxy grant (registrars)."""
    member = _registered_by(write, caller, address)
    services = write.services
    return write.run(
        lambda signer: ProxyPublic(
            **grant_data(services.ledger.proxies.revoke(actor=signer, member=member, proxy=proxy))
        ),
        body=body,
        audit="proxy.revoke",
        subject=member,
    )
