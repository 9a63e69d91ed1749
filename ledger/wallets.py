"""Custodial wallets: keys generated and kept here for people without a phone or a key of their
own (many elderly volunteers).

The key is stored only as an eth-account keystore (scrypt, AES-128-CTR). Its password is the
person's PIN or password mixed with a pepper derived from the vault key, so a copy of the database
alone cannot be brute-forced over the small space of PINs. The key is unlocked for one request at a
time and never written anywhere in clear. Wrong PINs are counted; after
``Settings.pin_max_attempts`` in a row the wallet locks for ``Settings.pin_lockout_seconds``, and
a registrar can lift the lock. Writes of a custodial wallet are relayed (``ledger.relay``), so it
never needs a native coin.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.errors import InputError, RecordNotFound, WalletLocked, WrongPin
from ledger.store import session, utcnow
from ledger.store.sessions import CustodialWallet
from ledger.values import parse_address

if TYPE_CHECKING:
    from ledger.ledger import Ledger

_PIN = re.compile(r"^\d{6,12}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def check_pin(pin: str) -> str:
    """A PIN of 6-12 digits (not one digit repeated, not a run like 123456) or a password of
    8-128 characters."""
    if not isinstance(pin, str):
        raise InputError("a PIN is text")
    if _PIN.match(pin):
        digits = [int(c) for c in pin]
        steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
        if len(set(digits)) == 1 or steps in ({1}, {9}):
            raise InputError("choose a PIN that is not one digit repeated or a run like 123456")
        return pin
    if pin.isdigit():
        raise InputError("a PIN is 6 to 12 digits")
    if not MIN_PASSWORD <= len(pin) <= MAX_PASSWORD:
        raise InputError(
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters (or use a 6-12 digit PIN)"
        )
    return pin


@dataclass(frozen=True)
class WalletInfo:
    address: str
    created_by: str
    created_at: datetime
    failed_attempts: int
    locked_until: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > utcnow()


class Wallets:
    """The custodial wallets of one ``Ledger``'s store."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _password(self, address: str, pin: str) -> str:
        pepper = hmac.new(
            self.ledger.settings.vault_key_bytes(), b"custodial-wallet", hashlib.sha256
        ).digest()
        return hmac.new(pepper, f"{address}:{pin}".encode(), hashlib.sha256).hexdigest()

    def create(self, *, pin: str, created_by: str) -> WalletInfo:
        """Generate a key, keep it encrypted under `pin`; returns the new address."""
        check_pin(pin)
        account: LocalAccount = Account.create()
        keystore = Account.encrypt(
            account.key,
            self._password(account.address, pin),
            kdf="scrypt",
            iterations=self.ledger.settings.wallet_kdf_n,
        )
        row = CustodialWallet(
            address=account.address,
            keystore_json=json.dumps(keystore),
            created_by=parse_address(created_by, what="creator"),
            created_at=utcnow(),
        )
        with session(self.ledger.engine) as db:
            db.add(row)
        return _info(row)

    def get(self, address: str) -> WalletInfo:
        return _info(self._row(address))

    def is_custodial(self, address: str) -> bool:
        try:
            self._row(address)
        except RecordNotFound:
            return False
        return True

    def _row(self, address: str) -> CustodialWallet:
        address = parse_address(address, what="wallet address")
        with session(self.ledger.engine) as db:
            row = db.get(CustodialWallet, address)
        if row is None:
            raise RecordNotFound(f"{address} has no custodial wallet here")
        return row

    def unlock(self, address: str, pin: str) -> LocalAccount:
        """The wallet's key for one request; a wrong PIN counts towards the lock-out."""
        settings = self.ledger.settings
        row = self._row(address)
        now = utcnow()
        if row.locked_until is not None and row.locked_until > now:
            raise WalletLocked(
                f"too many wrong PINs: the wallet is locked until {row.locked_until:%Y-%m-%d %H:%M} "
                "UTC; try again then, or ask a registrar to unlock it",
                locked_until=row.locked_until.isoformat(),
            )
        try:
            key = Account.decrypt(json.loads(row.keystore_json), self._password(row.address, pin))
        except ValueError:
            key = None
        with session(self.ledger.engine) as db:
            current = db.get(CustodialWallet, row.address)
            assert current is not None
            if key is None:
                current.failed_attempts += 1
                left = settings.pin_max_attempts - current.failed_attempts
                if left <= 0:
                    current.failed_attempts = 0
                    current.locked_until = now + timedelta(seconds=settings.pin_lockout_seconds)
                db.add(current)
            elif current.failed_attempts or current.locked_until:
                current.failed_attempts = 0
                current.locked_until = None
                db.add(current)
        if key is None:
            if left <= 0:
                raise WalletLocked(
                    "wrong PIN, too many times: the wallet is locked for "
                    f"{settings.pin_lockout_seconds // 60 or 1} minutes",
                    locked_until=current.locked_until.isoformat() if current.locked_until else None,
                )
            raise WrongPin(
                f"wrong PIN; {left} more wrong tries lock the wallet", attempts_left=left
            )
        account: LocalAccount = Account.from_key(key)
        return account

    def change_pin(self, address: str, *, old_pin: str, new_pin: str) -> WalletInfo:
        check_pin(new_pin)
        account = self.unlock(address, old_pin)
        keystore = Account.encrypt(
            account.key,
            self._password(account.address, new_pin),
            kdf="scrypt",
            iterations=self.ledger.settings.wallet_kdf_n,
        )
        with session(self.ledger.engine) as db:
            row = db.get(CustodialWallet, account.address)
            assert row is not None
            row.keystore_json = json.dumps(keystore)
            row.pin_changed_at = utcnow()
            db.add(row)
        return _info(row)

    def lift_lock(self, address: str) -> WalletInfo:
        """A registrar lifts a lock-out (after checking who the person is)."""
        with session(self.ledger.engine) as db:
            row = db.get(CustodialWallet, parse_address(address, what="wallet address"))
            if row is None:
                raise RecordNotFound(f"{address} has no custodial wallet here")
            row.failed_attempts = 0
            row.locked_until = None
            db.add(row)
        return _info(row)


def _info(row: CustodialWallet) -> WalletInfo:
    return WalletInfo(
        address=row.address,
        created_by=row.created_by,
        created_at=row.created_at,
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
    )
