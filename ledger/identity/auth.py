"""Signing in: Sign-In with Ethereum (EIP-4361) for people with their own key, a PIN for custodial
wallets, and short-lived bearer tokens for both.

A challenge is an EIP-4361 message naming this API's host, the chain id, a one-time nonce and an
expiry. Signing in checks, and refuses with the reason: the nonce was handed out here and not used
before (no replay), the message is unaltered and unexpired, it names this chain and this host, and
the signature recovers to the address it names. Tokens are random; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from sqlmodel import select

from ledger.errors import AuthorizationExpired, InputError, NotSignedIn, SignInRefused
from ledger.identity.parts import AuthParts
from ledger.store import session, utcnow
from ledger.store.sessions import ApiSession, SignInChallenge
from ledger.values import parse_address

STATEMENT = "Sign in to 志愿积分链 (Volunteer Points Ledger)."
_FIELD = re.compile(r"^(URI|Version|Chain ID|Nonce|Issued At|Expiration Time): (.+)$")


@dataclass(frozen=True)
class Challenge:
    message: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    token: str
    address: str
    method: str
    expires_at: datetime


@dataclass(frozen=True)
class Caller:
    """Who a request is from, as its token says."""

    address: str
    method: str
    expires_at: datetime


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def siwe_message(
    *, domain: str, address: str, uri: str, chain_id: int, nonce: str, issued: datetime,
    expires: datetime,
) -> str:  # fmt: skip
    """An EIP-4361 message."""
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n{address}\n\n{STATEMENT}\n\n"
        f"URI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\n"
        f"Issued At: {iso(issued)}\nExpiration Time: {iso(expires)}"
    )


@dataclass(frozen=True)
class SiweFields:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    expires_at: datetime


def parse_siwe(message: str) -> SiweFields:
    """The fields of an EIP-4361 message; InputError if it is not one."""
    lines = message.split("\n")
    head = " wants you to sign in with your Ethereum account:"
    if len(lines) < 3 or not lines[0].endswith(head):
        raise InputError("not a Sign-In with Ethereum message (EIP-4361)")
    fields: dict[str, str] = {}
    for line in lines[2:]:
        match = _FIELD.match(line)
        if match:
            fields[match.group(1)] = match.group(2)
    missing = [f for f in ("URI", "Chain ID", "Nonce", "Expiration Time") if f not in fields]
    if missing:
        raise InputError(f"the sign-in message lacks {', '.join(missing)}")
    try:
        chain_id = int(fields["Chain ID"])
        expires = datetime.strptime(fields["Expiration Time"], "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        raise InputError("the sign-in message's chain id or expiration time is malformed") from None
    return SiweFields(
        domain=lines[0].removesuffix(head),
        address=parse_address(lines[1], what="sign-in address"),
        uri=fields["URI"],
        chain_id=chain_id,
        nonce=fields["Nonce"],
        expires_at=expires,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    """Challenges, sign-in and sessions of the API."""

    def __init__(self, parts: AuthParts) -> None:
        self.parts = parts

    @property
    def domain(self) -> str:
        return urlsplit(self.parts.settings.public_url).netloc

    def challenge(self, address: str) -> Challenge:
        """A one-time EIP-4361 message for `address` to sign."""
        address = parse_address(address, what="address")
        settings = self.parts.settings
        now = utcnow().replace(microsecond=0)
        expires = now + timedelta(seconds=settings.challenge_ttl_seconds)
        nonce = secrets.token_hex(12)
        message = siwe_message(
            domain=self.domain,
            address=address,
            uri=settings.public_url,
            chain_id=self.parts.network.chain_id,
            nonce=nonce,
            issued=now,
            expires=expires,
        )
        with session(self.parts.engine) as db:
            db.add(
                SignInChallenge(nonce=nonce, address=address, message=message, expires_at=expires)
            )
        return Challenge(message=message, nonce=nonce, expires_at=expires)

    def sign_in(self, message: str, signature: str) -> SignedIn:
        """Check a signed challenge and open a session."""
        fields = parse_siwe(message)
        try:
            raw = bytes(HexBytes(signature))
        except ValueError:
            raise InputError("the signature is not hex") from None
        if len(raw) != 65:
            raise InputError("a signature is 65 bytes (r, s, v) as 0x-prefixed hex")
        now = utcnow()
        with session(self.parts.engine) as db:
            row = db.get(SignInChallenge, fields.nonce)
            if row is None:
                raise SignInRefused("this sign-in message was not issued here: ask for a challenge")
            if row.used_at is not None:
                raise SignInRefused("this sign-in message was used already: ask for a new one")
            if fields.chain_id != self.parts.network.chain_id:
                raise SignInRefused(
                    f"the message is for chain {fields.chain_id}, this is chain "
                    f"{self.parts.network.chain_id}"
                )
            if fields.domain != self.domain:
                raise SignInRefused(f"the message is for {fields.domain}, this is {self.domain}")
            if row.message != message:
                raise SignInRefused("the sign-in message was altered: sign it exactly as given")
            if row.expires_at <= now:
                raise AuthorizationExpired("the sign-in message expired: ask for a new one")
            try:
                signer = Account.recover_message(encode_defunct(text=message), signature=raw)
            except Exception:  # eth-keys raises several types for a malformed signature
                signer = None
            if signer is None or to_checksum_address(signer) != fields.address:
                raise SignInRefused(
                    f"the signature is not {fields.address}'s: sign with the account the message "
                    "names",
                    signer=signer,
                )
            row.used_at = now
            db.add(row)
        return self.open_session(fields.address, method="key")

    def open_session(self, address: str, *, method: str) -> SignedIn:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + timedelta(seconds=self.parts.settings.token_ttl_seconds)
        with session(self.parts.engine) as db:
            db.add(
                ApiSession(
                    token_hash=token_hash(token),
                    address=address,
                    method=method,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return SignedIn(token=token, address=address, method=method, expires_at=expires)

    def caller(self, token: str) -> Caller:
        """Who holds `token`; NotSignedIn if nobody does any more."""
        with session(self.parts.engine) as db:
            row = db.get(ApiSession, token_hash(token))
        if row is None or row.revoked:
            raise NotSignedIn("not signed in (unknown or signed-out token): sign in again")
        if row.expires_at <= utcnow():
            raise NotSignedIn("the session expired: sign in again")
        return Caller(address=row.address, method=row.method, expires_at=row.expires_at)

    def sign_out(self, token: str) -> None:
        with session(self.parts.engine) as db:
            row = db.get(ApiSession, token_hash(token))
            if row is not None:
                row.revoked = True
                db.add(row)

    def purge(self) -> int:
        """Forget expired challenges and sessions; returns how many rows went."""
        now = utcnow()
        with session(self.parts.engine) as db:
            gone = 0
            for model in (SignInChallenge, ApiSession):
                for row in db.exec(select(model).where(model.expires_at < now)).all():  # type: ignore[attr-defined]
                    db.delete(row)
                    gone += 1
        return gone
