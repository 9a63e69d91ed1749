"""What every request may use, built once at startup: the ledger and its services, and the
short-lived memory in front of the chain and the store (callers, role checks, balances, pages of
history, the chain head)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.audit.index.follow import Indexer
from ledger.audit.index.pages import HistoryPage
from ledger.chain.contracts import Scheme
from ledger.chain.relay import Relay
from ledger.earning.uploads import Uploads
from ledger.errors import RetryableChainError
from ledger.identity.auth import Auth, Caller, token_hash
from ledger.identity.wallets import Wallets
from ledger.ledger import Ledger
from ledger.spending.controls import SchemeBalance
from ledger.store.lease import Lease

if TYPE_CHECKING:
    from api.observability import Metrics

log = logging.getLogger("api")
#: How long a token's caller is remembered in memory (a revocation elsewhere shows within this).
CALLER_CACHE_SECONDS = 5.0
#: How long an on-chain role or proxy check is remembered (changes show within this).
ROLE_CACHE_SECONDS = 2.0
SCHEME_CACHE_SECONDS = 5.0
#: How stale the known chain head may be (writes through this app refresh it at once).
HEAD_SECONDS = 0.25


@dataclass
class Services:
    """What every request may use; built once at startup."""

    ledger: Ledger
    auth: Auth
    wallets: Wallets
    relay: Relay
    uploads: Uploads
    indexer: Indexer
    #: This process's hold on its relayer key (no other process relays with it meanwhile).
    relayer_lease: Lease | None = None
    #: Another process took the relayer while this one's lease was lost: no more relaying here.
    relayer_lost: bool = False
    _callers: dict[str, tuple[float, Caller]] = field(default_factory=dict)
    _checks: dict[tuple[str, ...], tuple[float, bool]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _schemes: tuple[float, list[Scheme]] | None = None
    _head: tuple[float, int] | None = None
    _balances: dict[str, tuple[int, list[SchemeBalance]]] = field(default_factory=dict)
    _pages: dict[tuple[Any, ...], tuple[int, HistoryPage]] = field(default_factory=dict)
    #: The block the event index holds the chain to, as the follower last reported it (None when
    #: no follower runs here: then history pages are read from the store every time).
    indexed_block: int | None = None
    #: This process follows the chain into the event index now.
    following: bool = False
    #: This process's metrics (None: not counted).
    metrics: Metrics | None = None

    def keep_relayer(self) -> None:
        """Make sure this process still holds its relayer's lease (PostgreSQL: the connection
        holding it may have dropped with a database restart): take it again, or, if another
        process took it meanwhile, stop relaying (``check_relayer``) rather than share its nonces."""
        lease = self.relayer_lease
        if lease is None or self.relayer_lost or lease.held():
            return
        if lease.acquire():
            log.warning("took the relayer's lease again after its database connection dropped")
            return
        self.relayer_lost = True
        log.error(
            "another process took this process's relayer while its database connection was down: "
            "this process relays nothing more; restart it"
        )

    def check_relayer(self) -> None:
        """RetryableChainError (503) once this process has lost its relayer to another."""
        if self.relayer_lost:
            raise RetryableChainError(
                "this API process lost its relayer to another process and relays nothing; send "
                "the request again (the balancer sends it to another process)"
            )

    def wrote_outcome(self, outcome: str) -> None:
        """Count a write's outcome (done, replayed, refused, signature_required, failed)."""
        if self.metrics is not None:
            self.metrics.wrote(outcome)

    def relayer_balance(self) -> int | None:
        """The relayer's balance in wei, where transactions cost fees (None on a zero-fee chain,
        or when the node does not answer)."""
        if self.ledger.sender.gas_price == 0:
            return None
        try:
            return int(self.ledger.w3.eth.get_balance(self.relay.relayer.address))
        except Exception:  # read for a metric: a node that does not answer shows elsewhere
            return None

    def schemes(self, *, check_count: bool = False) -> list[Scheme]:
        """Every scheme, re-read every few seconds (terms change rarely) and at once when
        `check_count` finds a scheme admitted since."""
        now = time.monotonic()
        cached = self._schemes
        fresh = cached is not None and cached[0] > now
        if (
            fresh
            and cached
            and (not check_count or self.ledger.schemes.scheme_count() == len(cached[1]))
        ):
            return cached[1]
        schemes = self.ledger.schemes.schemes()
        self._schemes = (now + SCHEME_CACHE_SECONDS, schemes)
        return schemes

    def head(self) -> int:
        """The chain's latest block, asked at most every HEAD_SECONDS (and right after a write
        through this app)."""
        now = time.monotonic()
        if self._head is None or now - self._head[0] > HEAD_SECONDS:
            self._head = (now, int(self.ledger.w3.eth.block_number))
        return self._head[1]

    def wrote(self) -> None:
        """A write went through here: the next read asks the chain for its head again."""
        self._head = None

    def history(self, member: str, **query: Any) -> HistoryPage:
        """A page of the member's history, from memory while the index has not moved on."""
        cached = self.cached_history(member, **query)
        if cached is not None:
            return cached
        page = self.indexer.history(member, **query)
        key = (member, *sorted((k, str(v)) for k, v in query.items()))
        with self._lock:
            if len(self._pages) > 50_000:
                self._pages.clear()
            self._pages[key] = (page.indexed_block, page)
        return page

    def forget_pages(self) -> None:
        with self._lock:
            self._pages.clear()

    def cached_history(self, member: str, **query: Any) -> HistoryPage | None:
        """The page if it is in memory for the index's current block (no I/O)."""
        indexed = self.indexed_block
        key = (member, *sorted((k, str(v)) for k, v in query.items()))
        hit = self._pages.get(key)
        return hit[1] if hit is not None and indexed is not None and hit[0] == indexed else None

    def fresh_balances(self, member: str) -> tuple[int, list[SchemeBalance]] | None:
        """The cached balances if the known head is recent and they were read at it (no I/O)."""
        head = self._head
        if head is None or time.monotonic() - head[0] > HEAD_SECONDS:
            return None
        hit = self._balances.get(member)
        return hit if hit is not None and hit[0] == head[1] else None

    def balances(self, member: str) -> tuple[int, list[SchemeBalance]]:
        """A member's balances and the block they were read at: read again once the chain has
        moved on, served from memory until then."""
        head = self.head()
        hit = self._balances.get(member)
        if hit is not None and hit[0] == head:
            return hit
        rows = self.ledger.controls.balances(member, schemes=self.schemes(check_count=True))
        with self._lock:
            if len(self._balances) > 100_000:
                self._balances.clear()
            self._balances[member] = (head, rows)
        return head, rows

    def cached_caller(self, token: str) -> Caller | None:
        hit = self._callers.get(token_hash(token))
        fresh = hit is not None and hit[0] > time.monotonic()
        if fresh and hit and hit[1].expires_at.timestamp() > time.time():
            return hit[1]
        return None

    def caller(self, token: str) -> Caller:
        cached = self.cached_caller(token)
        if cached is not None:
            return cached
        key = token_hash(token)
        now = time.monotonic()
        caller = self.auth.caller(token)
        with self._lock:
            if len(self._callers) > 10_000:
                self._callers.clear()
            self._callers[key] = (now + CALLER_CACHE_SECONDS, caller)
        return caller

    def forget(self, token: str) -> None:
        with self._lock:
            self._callers.pop(token_hash(token), None)

    def check(self, key: tuple[str, ...], probe: Callable[[], bool]) -> bool:
        """A cached on-chain yes/no (a role, a proxy) for a short while."""
        now = time.monotonic()
        hit = self._checks.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        answer = bool(probe())
        with self._lock:
            if len(self._checks) > 50_000:
                self._checks.clear()
            self._checks[key] = (now + ROLE_CACHE_SECONDS, answer)
        return answer

    def has_role(self, role_name: str, account: str, scheme: int | None = None) -> bool:
        return self.check(
            ("role", role_name, account, str(scheme)),
            lambda: self.ledger.has_role(role_name=role_name, account=account, scheme=scheme),
        )

    def is_council(self, account: str) -> bool:
        return self.check(("council", account), lambda: self.ledger.council.is_member(account))

    def is_proxy(self, member: str, proxy: str) -> bool:
        return self.check(
            ("proxy", member, proxy),
            lambda: self.ledger.members.is_proxy(member, proxy),
        )
