"""The personal-data vault: members' real names, ID numbers and phones, encrypted at rest.

Each row is sealed with AES-256-GCM under the vault key (``Settings.vault_key_bytes()``), a fresh
12-byte nonce per write, and the row's address and identity commitment as associated data, so a
ciphertext copied onto another row does not decrypt. ``key_id`` (the first 8 hex characters of
sha256(key)) tells a wrong key from a tampered row before anything is decrypted.

Recovery (``Vault.relink``) keeps the old row as a tombstone: status ``"recovered"``, ``successor``
set to the new address, and its commitment, ciphertext, nonce and key id cleared, so the personal
data exists exactly once (under the new address) and the commitment column stays unique. Lookups by
commitment therefore always find the live row. No log line or exception here carries personal data.
"""

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast, get_args

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import CheckConstraint, Column, ForeignKey, LargeBinary, String
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, delete, select, update

from ledger.errors import (
    AlreadyInVault,
    InvalidAddress,
    InvalidIdentity,
    RecordNotFound,
    StatusConflict,
    StoreError,
    UnknownName,
    VaultCorrupt,
    VaultKeyError,
)
from ledger.real_name import COMMITMENT_SIZE, mask, normalize_id_number, normalize_phone
from ledger.store.db import UtcDateTime, session, utcnow
from ledger.values import parse_address

logger = logging.getLogger(__name__)

VaultStatus = Literal["pending", "registered", "recovered"]
STATUSES: tuple[str, ...] = get_args(VaultStatus)
#: Associated-data prefix; bump the version if the plaintext layout ever changes.
AAD_PREFIX = b"vpl/vault/v1|"
NONCE_SIZE = 12
KEY_SIZE = 32
MAX_NAME_LENGTH = 64


class MemberIdentity(SQLModel, table=True):
    """One vault row: a member's sealed personal data, or a tombstone left by recovery."""

    __tablename__ = "member_identity"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'registered', 'recovered')", name="member_identity_status"
        ),
        CheckConstraint(
            "(status = 'recovered' AND successor IS NOT NULL AND commitment IS NULL"
            " AND ciphertext IS NULL AND nonce IS NULL AND key_id IS NULL)"
            " OR (status <> 'recovered' AND successor IS NULL AND commitment IS NOT NULL"
            " AND ciphertext IS NOT NULL AND nonce IS NOT NULL AND key_id IS NOT NULL)",
            name="member_identity_shape",
        ),
    )

    #: Checksummed 0x address of the member's account.
    address: str = Field(primary_key=True, max_length=42)
    #: Hex (64 characters, no 0x) of the 32-byte identity commitment; NULL on a tombstone.
    commitment: str | None = Field(default=None, unique=True, index=True, max_length=64)
    ciphertext: bytes | None = Field(default=None, sa_type=LargeBinary)
    nonce: bytes | None = Field(default=None, sa_type=LargeBinary)
    #: First 8 hex characters of sha256(vault key) that sealed ``ciphertext``.
    key_id: str | None = Field(default=None, max_length=8)
    status: str = Field(max_length=16)
    #: The address this member was recovered to (tombstones only). Checked at commit (deferred).
    successor: str | None = Field(
        default=None,
        sa_column=Column(
            String(42),
            ForeignKey("member_identity.address", deferrable=True, initially="DEFERRED"),
            nullable=True,
        ),
    )
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


@dataclass(frozen=True, repr=False)
class PersonalData:
    """What the vault protects; validated and normalized on creation, masked in ``repr``."""

    name: str
    id_number: str
    phone: str | None = None

    def __post_init__(self) -> None:
        """Normalize the ID number and phone, and refuse an empty or overlong name."""
        name = " ".join(self.name.split()) if isinstance(self.name, str) else ""
        if not name:
            raise InvalidIdentity("the member's name is empty")
        if len(name) > MAX_NAME_LENGTH or not name.isprintable():
            raise InvalidIdentity(
                f"the member's name {mask(name)} is longer than {MAX_NAME_LENGTH} characters "
                "or contains control characters"
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "id_number", normalize_id_number(self.id_number))
        if self.phone is not None:
            object.__setattr__(self, "phone", normalize_phone(self.phone))

    def __repr__(self) -> str:
        """Masked, so that an accidental log line leaks nothing."""
        phone = None if self.phone is None else mask(self.phone)
        return (
            f"PersonalData(name={mask(self.name)!r}, id_number={mask(self.id_number)!r}, "
            f"phone={phone!r})"
        )

    __str__ = __repr__

    def to_json(self) -> bytes:
        """The compact JSON plaintext that the vault seals."""
        payload = {"name": self.name, "id_number": self.id_number, "phone": self.phone}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> "PersonalData":
        """Read back what ``to_json`` wrote."""
        payload = json.loads(raw.decode("utf-8"))
        return cls(name=payload["name"], id_number=payload["id_number"], phone=payload["phone"])


@dataclass(frozen=True)
class VaultEntry:
    """One member as the vault knows them; a tombstone (``status == "recovered"``) has no data.

    For a tombstone ``commitment`` and ``data`` are ``None`` and ``successor`` names the address
    that now holds them (``Vault.resolve`` follows it).
    """

    address: str
    commitment: bytes | None
    status: VaultStatus
    successor: str | None
    created_at: datetime
    updated_at: datetime
    data: PersonalData | None

    @property
    def is_live(self) -> bool:
        """True unless this address was recovered to another one."""
        return self.status != "recovered"


def key_id(key: bytes) -> str:
    """The first 8 hex characters of sha256(key): names a key without revealing it."""
    return hashlib.sha256(key).hexdigest()[:8]


def _commitment_hex(commitment: bytes) -> str:
    """Hex of a 32-byte commitment; InvalidIdentity for anything else."""
    if not isinstance(commitment, bytes | bytearray) or len(commitment) != COMMITMENT_SIZE:
        raise InvalidIdentity(
            f"an identity commitment is {COMMITMENT_SIZE} bytes "
            "(ledger.real_name.identity_commitment); got something else"
        )
    return bytes(commitment).hex()


def _aad(address: str, commitment: bytes) -> bytes:
    """Associated data binding a ciphertext to its row."""
    return AAD_PREFIX + address.encode("ascii") + commitment


class Vault:
    """Seals, reads and moves members' personal data; every write is one database transaction."""

    def __init__(self, engine: Engine, key: bytes) -> None:
        """Use ``engine`` (tables made by ``init_db``) and the 32-byte vault ``key``."""
        if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
            raise VaultKeyError(
                f"the vault key must be {KEY_SIZE} bytes (AES-256); use Settings.vault_key_bytes()"
            )
        self._engine = engine
        self._aead = AESGCM(bytes(key))
        self.key_id = key_id(bytes(key))

    # --- reads ---------------------------------------------------------------------------------

    def verify_key(self) -> None:
        """Raise VaultKeyError if rows in the vault were written with another key."""
        with session(self._engine) as db:
            self._check_key(db)

    def get(self, address: str) -> VaultEntry:
        """The entry of ``address`` (a tombstone if it was recovered); RecordNotFound if none."""
        address = parse_address(address)
        with session(self._engine) as db:
            return self._entry(self._row(db, address))

    def resolve(self, address: str) -> VaultEntry:
        """The live entry for ``address``, following recovery successors."""
        entry = self.get(address)
        seen = {entry.address}
        while entry.successor is not None:
            if entry.successor in seen:
                raise VaultCorrupt(f"the recovery chain from {address} loops back on itself")
            seen.add(entry.successor)
            entry = self.get(entry.successor)
        return entry

    def find_by_commitment(self, commitment: bytes) -> VaultEntry | None:
        """The live entry holding ``commitment``, or None if nobody registered that identity."""
        hex_commitment = _commitment_hex(commitment)
        with session(self._engine) as db:
            row = db.exec(
                select(MemberIdentity).where(MemberIdentity.commitment == hex_commitment)
            ).first()
            return None if row is None else self._entry(row)

    # --- writes --------------------------------------------------------------------------------

    def put(
        self,
        *,
        address: str,
        commitment: bytes,
        data: PersonalData,
        status: str = "pending",
    ) -> VaultEntry:
        """Seal ``data`` for a new member; AlreadyInVault if the address or commitment is taken."""
        address = parse_address(address)
        hex_commitment = _commitment_hex(commitment)
        if not isinstance(data, PersonalData):
            raise InvalidIdentity("the vault stores PersonalData values")
        if _known_status(status) == "recovered":
            raise StatusConflict(
                "a new entry cannot start as 'recovered'; use Vault.relink", status=status
            )
        with session(self._engine) as db:
            self._check_key(db)
            self._refuse_duplicate(db, address, hex_commitment)
            row = self._sealed_row(address, hex_commitment, data, status, utcnow())
            db.add(row)
            try:
                db.flush()
            except IntegrityError:
                db.rollback()  # a concurrent put won the race; say which value it took
                self._refuse_duplicate(db, address, hex_commitment)
                raise StoreError(f"the vault refused the row for {address}") from None
            logger.debug("vault: stored %s (%s)", address, status)
            return self._entry(row, data)

    def set_status(self, address: str, status: str) -> VaultEntry:
        """Move a pending entry to registered (the same status again changes nothing)."""
        address = parse_address(address)
        wanted = _known_status(status)
        if wanted == "recovered":
            raise StatusConflict(
                "an entry becomes 'recovered' only through Vault.relink", status=status
            )
        with session(self._engine) as db:
            row = self._row(db, address)
            if row.status == wanted:
                return self._entry(row)
            if not (row.status == "pending" and wanted == "registered"):
                raise StatusConflict(
                    f"{address} is {row.status!r} and cannot become {wanted!r}; only a pending "
                    "entry can become registered",
                    status=row.status,
                )
            result = db.exec(
                update(MemberIdentity)
                .where(col(MemberIdentity.address) == address)
                .where(col(MemberIdentity.status) == "pending")
                .values(status=wanted, updated_at=utcnow())
            )
            if result.rowcount != 1:
                raise StatusConflict(
                    f"{address} changed while updating; try again", status=row.status
                )
            db.refresh(row)
            logger.debug("vault: %s is now %s", address, wanted)
            return self._entry(row)

    def delete(self, address: str) -> None:
        """Remove a pending entry (a registration the chain refused); other statuses are kept."""
        address = parse_address(address)
        with session(self._engine) as db:
            row = self._row(db, address)
            if row.status != "pending":
                raise StatusConflict(
                    f"{address} is {row.status!r}; only a pending entry can be deleted",
                    status=row.status,
                )
            db.expunge(row)
            result = db.exec(
                delete(MemberIdentity)
                .where(col(MemberIdentity.address) == address)
                .where(col(MemberIdentity.status) == "pending")
            )
            if result.rowcount != 1:
                raise StatusConflict(
                    f"{address} changed while deleting; try again", status=row.status
                )
            logger.debug("vault: deleted pending %s", address)

    def relink(self, old: str, new: str) -> VaultEntry:
        """Move a registered member's data to ``new`` (recovery); ``old`` becomes a tombstone.

        Idempotent: relinking again to the same ``new`` returns the new entry unchanged.
        """
        old, new = parse_address(old, what="old address"), parse_address(new, what="new address")
        if old == new:
            raise InvalidAddress(f"recovery needs a new address; {new} is the old one")
        with session(self._engine) as db:
            self._check_key(db)
            old_row = self._row(db, old)
            if old_row.status == "recovered":
                if old_row.successor == new:
                    return self._entry(self._row(db, new))
                raise StatusConflict(
                    f"{old} was already recovered to {old_row.successor}", status=old_row.status
                )
            if old_row.status != "registered":
                raise StatusConflict(
                    f"{old} is {old_row.status!r}; only a registered member can be recovered "
                    "(a pending registration is deleted and made again)",
                    status=old_row.status,
                )
            if db.get(MemberIdentity, new) is not None:
                raise AlreadyInVault(f"address {new} is already in the vault", field="address")
            data = self._open(old_row)
            hex_commitment = cast(str, old_row.commitment)
            now = utcnow()
            db.expunge(old_row)
            # 1. the old row becomes a tombstone, freeing the commitment (only if nothing moved it)
            result = db.exec(
                update(MemberIdentity)
                .where(col(MemberIdentity.address) == old)
                .where(col(MemberIdentity.status) == "registered")
                .where(col(MemberIdentity.commitment) == hex_commitment)
                .values(
                    status="recovered",
                    successor=new,
                    commitment=None,
                    ciphertext=None,
                    nonce=None,
                    key_id=None,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                raise StatusConflict(
                    f"{old} changed while recovering; try again", status="registered"
                )
            # 2. the new row takes the commitment, sealed again for its own address
            new_row = self._sealed_row(new, hex_commitment, data, "registered", now)
            db.add(new_row)
            try:
                db.flush()
            except IntegrityError:
                db.rollback()
                raise AlreadyInVault(
                    f"address {new} is already in the vault", field="address"
                ) from None
            logger.debug("vault: recovered %s to %s", old, new)
            return self._entry(new_row, data)

    # --- internals -----------------------------------------------------------------------------

    def _check_key(self, db: Session) -> None:
        """VaultKeyError if the rows already sealed name another key (one row tells: one key)."""
        found = db.exec(
            select(MemberIdentity.key_id).where(col(MemberIdentity.key_id).is_not(None)).limit(1)
        ).first()
        if found is not None and found != self.key_id:
            raise _wrong_key(found, self.key_id)

    @staticmethod
    def _row(db: Session, address: str) -> MemberIdentity:
        """The row of ``address``, or RecordNotFound."""
        row = db.get(MemberIdentity, address)
        if row is None:
            raise RecordNotFound(
                f"address {address} is not in the vault; register the member first",
                address=address,
            )
        return row

    @staticmethod
    def _refuse_duplicate(db: Session, address: str, hex_commitment: str) -> None:
        """AlreadyInVault naming which of address or commitment is taken (never whose data)."""
        if db.get(MemberIdentity, address) is not None:
            raise AlreadyInVault(f"address {address} is already in the vault", field="address")
        taken = db.exec(
            select(MemberIdentity.address).where(MemberIdentity.commitment == hex_commitment)
        ).first()
        if taken is not None:
            raise AlreadyInVault(
                "this identity is already in the vault under another address; if the member "
                "lost their key, recover that account instead of registering again",
                field="commitment",
            )

    def _sealed_row(
        self, address: str, hex_commitment: str, data: PersonalData, status: str, now: datetime
    ) -> MemberIdentity:
        """A live row of ``address`` with ``data`` encrypted for it: a fresh nonce and the
        AES-GCM ciphertext, bound to the address and the commitment."""
        nonce = os.urandom(NONCE_SIZE)
        aad = _aad(address, bytes.fromhex(hex_commitment))
        return MemberIdentity(
            address=address,
            commitment=hex_commitment,
            ciphertext=self._aead.encrypt(nonce, data.to_json(), aad),
            nonce=nonce,
            key_id=self.key_id,
            status=status,
            successor=None,
            created_at=now,
            updated_at=now,
        )

    def _open(self, row: MemberIdentity) -> PersonalData:
        """Decrypt a live row; VaultKeyError for another key, VaultCorrupt if it fails to verify."""
        if row.ciphertext is None or row.nonce is None or row.commitment is None:
            raise VaultCorrupt(f"the vault row of {row.address} has no sealed data")
        if row.key_id != self.key_id:
            raise _wrong_key(row.key_id, self.key_id)
        aad = _aad(row.address, bytes.fromhex(row.commitment))
        try:
            plaintext = self._aead.decrypt(row.nonce, row.ciphertext, aad)
        except InvalidTag:
            raise VaultCorrupt(
                f"the vault row of {row.address} fails authentication: its ciphertext was altered "
                "or copied from another row; restore it from a backup",
                address=row.address,
            ) from None
        try:
            return PersonalData.from_json(plaintext)
        except (ValueError, KeyError, TypeError):
            raise VaultCorrupt(
                f"the vault row of {row.address} decrypts to an unreadable record",
                address=row.address,
            ) from None

    def _entry(self, row: MemberIdentity, data: PersonalData | None = None) -> VaultEntry:
        """A VaultEntry for ``row``, decrypting unless ``data`` is given or it is a tombstone."""
        live = row.status != "recovered"
        if live and data is None:
            data = self._open(row)
        return VaultEntry(
            address=row.address,
            commitment=None if row.commitment is None else bytes.fromhex(row.commitment),
            status=cast(VaultStatus, row.status),
            successor=row.successor,
            created_at=row.created_at,
            updated_at=row.updated_at,
            data=data if live else None,
        )


def _known_status(status: str) -> VaultStatus:
    """``status`` if it is one of STATUSES, else UnknownName."""
    if status not in STATUSES:
        raise UnknownName(
            f"unknown vault status {status!r}; use one of {', '.join(STATUSES)}", name=status
        )
    return cast(VaultStatus, status)


def _wrong_key(found: str | None, expected: str) -> VaultKeyError:
    """The error for rows sealed with another key."""
    return VaultKeyError(
        "the vault key does not match the key these rows were written with "
        f"(rows: key id {found}, this key: {expected}); set VPL_VAULT_KEY to the original key",
        found=found,
        expected=expected,
    )
