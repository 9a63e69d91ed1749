"""Dependencies: the services of the running app, who is calling, and on whose behalf (the
role and proxy checks every request makes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.services import Services
from ledger.chain.contracts import Scheme
from ledger.errors import AccessDenied, NotSignedIn
from ledger.identity.auth import Caller
from ledger.ledger import Ledger
from ledger.values import parse_address


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


#: The per-scheme roles that `require_scheme_staff` and `require_staff_of_any` ask for.
ORGANISING = ("organiser",)
REVIEWING = ("reviewer",)
MERCHANTS = ("merchant",)
ANY_STAFF = ("organiser", "reviewer", "merchant")


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
