"""Custodial wallets: the PIN lock-out holds under concurrent guesses, on SQLite and PostgreSQL.

Every guess is counted atomically before its key is tried, so however many guesses arrive at
once, at most ``Settings.pin_max_attempts`` of them are evaluated per lock window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.errors import WalletLocked, WrongPin
from ledger.identity.wallets import Wallets
from ledger.ledger import Ledger
from ledger.store import session, utcnow
from ledger.store.sessions import CustodialWallet
from tests.conftest import fresh_database
from tests.wallet_helpers import GUESSES, race

PIN = "258147"
WRONG = "999999"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def wallets(ledger: Ledger, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Wallets]:
    """Custodial wallets in a store of their own, on each backend (cheap keystores)."""
    url = fresh_database(str(request.param), tmp_path, request)
    own = Ledger(ledger.settings.model_copy(update={"database_url": url, "wallet_kdf_n": 2**12}))
    yield Wallets(own)
    own.engine.dispose()


def test_concurrent_wrong_pins_evaluate_at_most_the_allowed_guesses(wallets: Wallets) -> None:
    settings = wallets.ledger.settings
    address = wallets.create(pin=PIN, created_by="0x" + "11" * 20).address
    answers = race(lambda pin: wallets.unlock(address, pin), wrong=WRONG, right=PIN)

    wrong = [a for a in answers if isinstance(a, WrongPin)]
    locked = [a for a in answers if isinstance(a, WalletLocked)]
    assert len(wrong) + len(locked) == GUESSES, [type(a).__name__ for a in answers]
    # the first max-1 wrong guesses are told how many are left, each a different number; the
    # max-th locks the wallet, and no other guess (not even the right PIN) is evaluated
    left = [a.details["attempts_left"] for a in wrong]
    assert sorted(left, reverse=True) == list(range(settings.pin_max_attempts - 1, 0, -1))
    lockout = settings.pin_lockout_seconds
    for a in locked:
        assert lockout - 10 <= a.details["retry_after"] <= lockout, a.details
    info = wallets.get(address)
    assert info.locked
    assert info.locked_until is not None
    assert info.locked_until - utcnow() > timedelta(seconds=lockout - 10)


def test_a_right_pin_clears_the_count_and_an_expired_lock_starts_a_new_window(
    wallets: Wallets,
) -> None:
    settings = wallets.ledger.settings
    address = wallets.create(pin=PIN, created_by="0x" + "11" * 20).address
    for left in (settings.pin_max_attempts - 1, settings.pin_max_attempts - 2):
        with pytest.raises(WrongPin) as wrong:
            wallets.unlock(address, WRONG)
        assert wrong.value.details["attempts_left"] == left
    assert wallets.unlock(address, PIN).address == address
    assert wallets.get(address).failed_attempts == 0
    for _ in range(settings.pin_max_attempts - 1):
        with pytest.raises(WrongPin):
            wallets.unlock(address, WRONG)
    with pytest.raises(WalletLocked) as locking:
        wallets.unlock(address, WRONG)
    assert locking.value.details["retry_after"] > 0
    with pytest.raises(WalletLocked):
        wallets.unlock(address, PIN)
    # the lock ends: the next guess is the first of a new window
    with session(wallets.ledger.engine) as db:
        row = db.get(CustodialWallet, address)
        assert row is not None
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.add(row)
    with pytest.raises(WrongPin) as again:
        wallets.unlock(address, WRONG)
    assert again.value.details["attempts_left"] == settings.pin_max_attempts - 1
    assert wallets.unlock(address, PIN).address == address
    info = wallets.get(address)
    assert (info.failed_attempts, info.locked_until) == (0, None)


def test_changing_a_pin_counts_a_wrong_old_pin(wallets: Wallets) -> None:
    settings = wallets.ledger.settings
    address = wallets.create(pin=PIN, created_by="0x" + "11" * 20).address
    with pytest.raises(WrongPin) as wrong:
        wallets.change_pin(address, old_pin=WRONG, new_pin="731946")
    assert wrong.value.details["attempts_left"] == settings.pin_max_attempts - 1
    wallets.change_pin(address, old_pin=PIN, new_pin="731946")
    assert wallets.get(address).failed_attempts == 0
    assert wallets.unlock(address, "731946").address == address
