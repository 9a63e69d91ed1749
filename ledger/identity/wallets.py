"""Custodial wallets: keys generated and kept here for people without a phone or a key of their
own (many elderly volunteers).

The key is stored only as an eth-account keystore (scrypt, AES-128-CTR). Its password is the
person's PIN or password mixed with a pepper derived from the vault key, so a copy of the database
alone cannot be brute-forced over the small space of PINs. The key is unlocked for one request at a
time and never written anywhere in clear. Every try is counted, in one atomic statement, before
its key is tried; the ``Settings.pin_max_attempts``-th wrong try in a row locks the wallet for
``Settings.pin_lockout_seconds`` (tries sent at once included), and a registrar can lift the
lock. Writes of a custodial wallet are relayed (``ledger.chain.relay``), so it never needs a
native coin.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import case, literal, or_, update
from sqlmodel import col

from ledger.errors import InputError, RecordNotFound, WalletLocked, WrongPin
from ledger.identity.parts import WalletsParts
from ledger.store import UtcDateTime, session, utcnow
from ledger.store.sessions import CustodialWallet
from ledger.values import parse_address

_PIN = re.compile(r"^\d{6,12}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128


_WALLET_LOCKS: dict[str, threading.Lock] = {}
_WALLET_LOCKS_GUARD = threading.Lock()


def _wallet_lock(address: str) -> threading.Lock:
    with _WALLET_LOCKS_GUARD:
        return _WALLET_LOCKS.setdefault(address, threading.Lock())


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
    """The custodial wallets kept in the store."""

    def __init__(self, ledger: WalletsParts) -> None:
        #: What composes the wallets (a ``Ledger``), for its settings and its store.
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
        """The wallet's key for one request. Every try is counted before the key is tried, so
        however many arrive at once, at most ``Settings.pin_max_attempts`` are evaluated before
        the wallet locks; the right PIN clears the count."""
        settings = self.ledger.settings
        row = self._row(address)
        # One try at a time per wallet in this process: a person's own writes sent at once (the
        # right PIN each time) are judged one after another, each clearing the count, instead of
        # filling the lock window together; the count below bounds guesses across processes.
        with _wallet_lock(row.address):
            attempt = self._count_attempt(row.address)
            try:
                key = Account.decrypt(
                    json.loads(row.keystore_json), self._password(row.address, pin)
                )
            except ValueError:
                left = settings.pin_max_attempts - attempt
                if left <= 0:
                    raise self._locked(row.address, "wrong PIN, too many times") from None
                raise WrongPin(
                    f"wrong PIN; {left} more wrong tries lock the wallet", attempts_left=left
                ) from None
            with session(self.ledger.engine) as db:
                db.execute(
                    update(CustodialWallet)
                    .where(col(CustodialWallet.address) == row.address)
                    .values(failed_attempts=0, locked_until=None)
                )
        account: LocalAccount = Account.from_key(key)
        return account

    def _count_attempt(self, address: str) -> int:
        """Take one of the lock window's tries in a single statement (a try after an expired
        lock opens a new window); the try's number, or WalletLocked when none is left."""
        settings = self.ledger.settings
        now = utcnow()
        locked_until = col(CustodialWallet.locked_until)
        # the statement only touches a wallet that is not locked: a lock end left there is past
        count = case((locked_until.is_not(None), 1), else_=col(CustodialWallet.failed_attempts) + 1)
        lock_end = literal(now + timedelta(seconds=settings.pin_lockout_seconds), UtcDateTime())
        with session(self.ledger.engine) as db:
            taken = db.execute(
                update(CustodialWallet)
                .where(col(CustodialWallet.address) == address)
                .where(or_(locked_until.is_(None), locked_until <= now))
                .values(
                    failed_attempts=count,
                    locked_until=case((count >= settings.pin_max_attempts, lock_end)),
                )
                .returning(col(CustodialWallet.failed_attempts))
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
        if taken is None:
            raise self._locked(address, "too many wrong PINs")
        return int(taken)

    def _locked(self, address: str, why: str) -> WalletLocked:
        """WalletLocked saying until when, and in how many seconds (``retry_after``)."""
        until = self.get(address).locked_until
        remaining = (until - utcnow()).total_seconds() if until else 0
        when = f"until {until:%Y-%m-%d %H:%M} UTC" if until else "for a moment"
        return WalletLocked(
            f"{why}: the wallet is locked {when}; try again then, or ask a registrar to unlock it",
            locked_until=until.isoformat() if until else None,
            retry_after=max(1, math.ceil(remaining)),
        )

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
