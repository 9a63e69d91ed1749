"""Roles as people name them: the council calls that grant and revoke them, a scheme issuer's own
staff, and who holds what now. Where each role lives on chain is ``ledger.chain.roles``."""

from __future__ import annotations

from collections.abc import Callable

from ledger.chain.contracts import (
    Call,
    ContractClient,
    MemberRegistryClient,
    PointsLedgerClient,
    Scheme,
    SchemeRegistryClient,
)
from ledger.chain.roles import RoleSpec, role
from ledger.chain.tx import Signer, TxResult
from ledger.errors import InputError
from ledger.values import parse_address


class Roles:
    """Grants, revocations and checks of roles; `scheme` finds a scheme by code or id, and
    `registry_block` is where the scheme registry was deployed (its grants are read from there)."""

    def __init__(
        self,
        members: MemberRegistryClient,
        points: PointsLedgerClient,
        schemes: SchemeRegistryClient,
        scheme: Callable[[str | int], Scheme],
        registry_block: int,
    ) -> None:
        self.schemes = schemes
        self.scheme = scheme
        self.registry_block = registry_block
        self._contracts: dict[str, ContractClient] = {
            "MemberRegistry": members,
            "PointsLedger": points,
            "SchemeRegistry": schemes,
        }

    def role_call(
        self, *, role_name: str, account: str, grant: bool, scheme: str | int | None = None
    ) -> Call:
        """The council call granting or revoking a role (scheme roles need the scheme)."""
        spec = role(role_name)
        account = parse_address(account, what="account")
        verb = "grant" if grant else "revoke"
        if spec.per_scheme:
            if scheme is None:
                raise _needs_scheme(spec)
            s = self.scheme(scheme)
            fn = "grantSchemeRole" if grant else "revokeSchemeRole"
            return self.schemes._call(
                fn, s.id, spec.id, account, summary=f"{verb} {spec.name} of {s.code} to {account}"
            )
        client = self._contracts[spec.contract]
        fn = "grantRole" if grant else "revokeRole"
        return client._call(fn, spec.id, account, summary=f"{verb} {spec.name} to {account}")

    def set_scheme_role(
        self, *, issuer: Signer, role_name: str, account: str, scheme: str | int, grant: bool
    ) -> TxResult:
        """A scheme's issuer names or removes its own staff directly (no council needed)."""
        spec = role(role_name)
        if not spec.per_scheme:
            raise InputError(
                f"{spec.name} is a council-granted role, not a scheme role; use a council proposal"
            )
        s = self.scheme(scheme)
        account = parse_address(account, what="account")
        if grant:
            return self.schemes.grant_scheme_role(issuer, s.id, spec.id, account)
        return self.schemes.revoke_scheme_role(issuer, s.id, spec.id, account)

    def has_role(self, *, role_name: str, account: str, scheme: str | int | None = None) -> bool:
        spec = role(role_name)
        account = parse_address(account, what="account")
        if spec.per_scheme:
            if scheme is None:
                raise _needs_scheme(spec)
            return self.schemes.has_scheme_role(self.scheme(scheme).id, spec.id, account)
        return self._contracts[spec.contract].has_role(spec.id, account)

    def schemes_with_role(self, *, role_name: str, account: str) -> list[int]:
        """The schemes for which `account` holds the per-scheme role now: the registry's grants
        to it, each checked against the chain's current state (a grant may have been revoked)."""
        spec = role(role_name)
        account = parse_address(account, what="account")
        granted = self.schemes.contract.events.SchemeRoleGranted().get_logs(
            from_block=self.registry_block,
            argument_filters={"role": spec.id, "account": account},
        )
        ids = sorted({int(e["args"]["schemeId"]) for e in granted})
        return [i for i in ids if self.schemes.has_scheme_role(i, spec.id, account)]


def _needs_scheme(spec: RoleSpec) -> InputError:
    return InputError(f"the {spec.name} role belongs to a scheme: name it with --scheme")
