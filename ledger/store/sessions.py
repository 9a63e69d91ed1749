"""Off-chain state of the HTTP API: sign-in challenges, sessions, custodial wallets, idempotent
requests and the audit log of admin actions. Tokens and PINs are never stored, only their hashes
(tokens) or what they encrypt (a wallet's keystore)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


class SignInChallenge(SQLModel, table=True):
    """A Sign-In with Ethereum (EIP-4361) message handed out; it signs in once, before it expires."""

    __tablename__ = "sign_in_challenge"

    nonce: str = Field(primary_key=True)
    address: str = Field(index=True)
    message: str
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class ApiSession(SQLModel, table=True):
    """A signed-in caller: the SHA-256 of their bearer token, whose account, until when."""

    __tablename__ = "api_session"

    token_hash: str = Field(primary_key=True)
    address: str = Field(index=True)
    #: "key" (signed a challenge with their own key) or "custodial" (a PIN unlocked the wallet).
    method: str
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    revoked: bool = False


class CustodialWallet(SQLModel, table=True):
    """A key generated here for someone without a phone or key, encrypted under their PIN."""

    __tablename__ = "custodial_wallet"

    address: str = Field(primary_key=True)
    #: eth-account keystore (scrypt + AES-128-CTR) of the key, under the PIN mixed with a pepper.
    keystore_json: str
    created_by: str
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    failed_attempts: int = 0
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    pin_changed_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


class IdempotentRequest(SQLModel, table=True):
    """A write under an Idempotency-Key: what was asked, and the answer once there is one."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    caller: str = Field(index=True)
    key: str
    #: SHA-256 of method, path and body: the same key with another request is refused.
    request_hash: str
    #: "running" while the first attempt works; "done" with the answer stored.
    state: str = "running"
    status_code: int | None = None
    response_json: str | None = None
    #: A custodial signer's signed forward request, JSON, written before it is sent.
    signed_request: str | None = None
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


class AdminAction(SQLModel, table=True):
    """One administrative request through the API (who, what, on what, with what outcome)."""

    __tablename__ = "admin_action"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    actor: str = Field(index=True)
    action: str = Field(index=True)
    subject: str
    outcome: str
    request_id: str
