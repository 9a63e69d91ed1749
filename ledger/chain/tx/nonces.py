"""Each signer's nonces, and the transactions sent and not yet seen mined.

A signer's next nonce is read from the node once (``pending``) and counted up here under a lock
of the signer's own, so threads (and async tasks through ``TxSender.asend``) never take the same
one. Every transaction sent is kept (signer, nonce, signed bytes) until it is seen mined, so that
one the node lost can be sent again as the same bytes (``ledger.chain.tx.lost``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

#: Signed transactions kept for sending again (the oldest are forgotten first).
_KEPT = 10_000


@dataclass
class NonceTracker:
    """One signer's lock, held while a nonce is taken and used, and its next nonce (None: read
    it from the node next time)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    next: int | None = None


@dataclass(frozen=True)
class SignedTx:
    """A transaction sent: who signed it, its nonce, its signed bytes."""

    signer: str
    nonce: int
    raw: bytes


class Nonces:
    """The nonce trackers of every signer and the transactions in flight, by hash."""

    def __init__(self) -> None:
        self._trackers: dict[str, NonceTracker] = {}
        self._trackers_guard = threading.Lock()
        self._in_flight: dict[str, SignedTx] = {}
        self._in_flight_guard = threading.Lock()
        #: The local keys that signed here, to fill a nonce a failed send left unused.
        self._accounts: dict[str, LocalAccount] = {}

    def tracker(self, address: str) -> NonceTracker:
        with self._trackers_guard:
            return self._trackers.setdefault(address, NonceTracker())

    def reset(self, address: str) -> None:
        """Forget the next nonce of `address` (it is read from the chain next time)."""
        tracker = self.tracker(address)
        with tracker.lock:
            tracker.next = None

    def sent(self, account: LocalAccount, nonce: int, raw: bytes, tx_hash: str) -> None:
        """Keep a transaction just sent until it is seen mined."""
        self._accounts[account.address] = account
        with self._in_flight_guard:
            self._in_flight[tx_hash] = SignedTx(account.address, nonce, raw)
            while len(self._in_flight) > _KEPT:
                self._in_flight.pop(next(iter(self._in_flight)))

    def mined(self, tx_hash: str) -> None:
        """Forget a transaction seen mined."""
        with self._in_flight_guard:
            self._in_flight.pop(tx_hash, None)

    def get(self, tx_hash: str) -> SignedTx | None:
        with self._in_flight_guard:
            return self._in_flight.get(tx_hash)

    def in_flight(self) -> dict[str, SignedTx]:
        """Every transaction sent and not yet seen mined, by hash (a copy)."""
        with self._in_flight_guard:
            return dict(self._in_flight)

    def nonces_in_flight(self, signer: str) -> set[int]:
        with self._in_flight_guard:
            return {e.nonce for e in self._in_flight.values() if e.signer == signer}

    def account(self, signer: str) -> LocalAccount | None:
        """The key of `signer` if it signed here."""
        return self._accounts.get(signer)
