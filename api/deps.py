"""Dependencies: the services of the running app, who is calling, and on whose behalf."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.audit.indexer import Indexer
from ledger.audit.queries import HistoryPage
from ledger.chain.contracts import Scheme
from ledger.chain.relay import Relay
from ledger.earning.uploads import Uploads
from ledger.errors import AccessDenied, NotSignedIn
from ledger.identity.auth import Auth, Caller, token_hash
from ledger.identity.wallets import Wallets
from ledger.ledger import Ledger
from ledger.spending.controls import SchemeBalance
from ledger.values import parse_address

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


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.services.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]

#: A path parameter that is an on-chain id (items, orders, records, requests, proposals...).
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="an on-chain id")]

_bearer = HTTPBearer(auto_error=False, description="the token from /v1/auth/sign-in")


async def get_caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The signed-in caller (from memory when recently seen, else from the store)."""
    if credentials is None or not credentials.credentials:
        raise NotSignedIn("sign in first: send `Authorization: Bearer <token>`")
    token = credentials.credentials
    cached = services.cached_caller(token)
    if cached is not None:
        return cached
    return await run_in_threadpool(services.caller, token)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise NotSignedIn("sign in first: send `Authorization: Bearer <token>`")
    return credentials.credentials


TokenDep = Annotated[str, Depends(get_token)]


def acting_for(services: Services, caller: Caller, member: str) -> str:
    """`member` (checksummed) if the caller is that member or their recorded proxy."""
    member = parse_address(member, what="member address")
    if member == caller.address or services.is_proxy(member, caller.address):
        return member
    raise AccessDenied(
        f"{caller.address} is neither {member} nor their recorded proxy",
        member=member,
    )


def reading_for(services: Services, caller: Caller, member: str) -> str:
    """`member` if the caller may read their wallet: them, their proxy, or an auditor."""
    member = parse_address(member, what="member address")
    if member == caller.address or services.is_proxy(member, caller.address):
        return member
    if services.has_role("auditor", caller.address):
        return member
    raise AccessDenied(
        f"{caller.address} may not read {member}'s wallet (only the member, their recorded "
        "proxy or an auditor)",
        member=member,
    )


def require_role(
    services: Services, caller: Caller, role_name: str, scheme: int | None = None
) -> None:
    """The caller holds `role_name` (for `scheme`) on chain now; checked on every request."""
    if not services.has_role(role_name, caller.address, scheme):
        where = f" for scheme {scheme}" if scheme is not None else ""
        raise AccessDenied(
            f"{caller.address} does not hold the {role_name} role{where} on chain",
            role=role_name,
            scheme=scheme,
        )


def require_scheme_staff(
    services: Services, caller: Caller, scheme: str | int, roles: tuple[str, ...]
) -> Scheme:
    """The scheme, if the caller is its issuer or holds one of the per-scheme `roles` (reviewer,
    merchant, organiser) for it on chain now; checked on every request (the contracts check
    again)."""
    s = services.ledger.scheme(scheme)
    if caller.address == s.issuer:
        return s
    if any(services.has_role(name, caller.address, s.id) for name in roles):
        return s
    raise AccessDenied(
        f"{caller.address} is neither the issuer of scheme {s.code} nor its "
        f"{' or '.join(roles)} on chain",
        scheme=s.code,
        roles=list(roles),
    )


def require_staff_of_any(services: Services, caller: Caller, roles: tuple[str, ...]) -> set[int]:
    """The ids of the schemes whose issuer the caller is or for which they hold one of the
    per-scheme `roles` now; AccessDenied if there are none. Asked before looking up what a path
    names (a record, an order), so that only staff learn whether it exists."""
    ids = {s.id for s in services.schemes() if s.issuer == caller.address}
    for name in roles:
        ids.update(services.ledger.schemes_with_role(role_name=name, account=caller.address))
    if not ids:
        raise AccessDenied(
            f"{caller.address} is neither the issuer of a scheme nor its "
            f"{' or '.join(roles)} on chain",
            roles=list(roles),
        )
    return ids


def require_any_role(services: Services, caller: Caller, roles: tuple[str, ...]) -> None:
    """The caller holds one of the global `roles` (registrar, auditor, pauser) on chain now."""
    if not any(services.has_role(name, caller.address) for name in roles):
        raise AccessDenied(
            f"{caller.address} holds none of the roles {', '.join(roles)} on chain",
            roles=list(roles),
        )


def require_council(services: Services, caller: Caller) -> None:
    """The caller holds a council seat now."""
    if not services.is_council(caller.address):
        raise AccessDenied(f"{caller.address} holds no council seat", role="council")
