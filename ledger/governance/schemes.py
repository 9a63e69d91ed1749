"""Schemes: finding one by code or id, the council calls that admit and change them, where a
scheme's points stand, and a member's balance in each."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from ledger.chain.contracts import (
    Call,
    PointsLedgerClient,
    Scheme,
    SchemeFlag,
    SchemeRegistryClient,
)
from ledger.errors import InvalidRequest, UnknownScheme
from ledger.values import MAX_UINT64, parse_address, parse_amount

#: How many blocks ahead a value change takes effect unless the proposer says when.
VALUE_CHANGE_LEAD_BLOCKS = 10


@dataclass(frozen=True)
class Balance:
    scheme: Scheme
    amount: int


@dataclass(frozen=True)
class SchemeSupply:
    """Where a scheme's points stand: issued + minted - burned = total supply = what accounts
    hold plus what is held for orders and time-bank requests."""

    total_supply: int
    issued: int
    burned: int
    remaining_quota: int
    #: Created by exchanges into the scheme (outside the issuance quota).
    minted: int = 0
    #: Held for orders and time-bank requests (part of the supply).
    held: int = 0


class SchemeAdmin:
    """The schemes of the registry, read and changed through council calls."""

    def __init__(self, schemes: SchemeRegistryClient, points: PointsLedgerClient, w3: Web3) -> None:
        self.schemes = schemes
        self.points = points
        self.w3 = w3

    def scheme(self, code_or_id: str | int) -> Scheme:
        """A scheme by code ("VOL") or id."""
        if isinstance(code_or_id, int) or str(code_or_id).isdigit():
            return self.schemes.scheme(int(code_or_id))
        return self.schemes.scheme(self.schemes.scheme_id(str(code_or_id).strip().upper()))

    def scheme_code(self, scheme_id: int) -> str:
        """A scheme's code by id (it never changes, so it is read once)."""
        return self.schemes.code(scheme_id)

    def add_scheme_call(
        self,
        *,
        code: str,
        name: str,
        unit: str,
        issuer: str,
        unit_value: int | str,
        quota: int | str,
        quota_period: int | str,
        flags: SchemeFlag,
    ) -> Call:
        """Council call: admit a new scheme (its code must be free)."""
        code = code.strip().upper()
        try:
            taken = self.scheme(code)
        except UnknownScheme:
            pass
        else:
            raise InvalidRequest(
                f"the scheme code {code} is taken by scheme {taken.id} ({taken.name})",
                error="SchemeCodeInUse",
                args={"code": code, "schemeId": taken.id},
            )
        return self.schemes.add_scheme_call(
            code=code,
            name=name,
            unit=unit,
            issuer=parse_address(issuer, what="issuer address"),
            unit_value=parse_amount(unit_value, what="unit value", maximum=MAX_UINT64),
            quota=parse_amount(quota, what="quota"),
            quota_period=parse_amount(quota_period, what="quota period", maximum=MAX_UINT64),
            flags=flags,
        )

    def supply(self, code_or_id: str | int) -> SchemeSupply:
        s = self.scheme(code_or_id)
        return SchemeSupply(
            total_supply=self.points.total_supply(s.id),
            issued=self.points.issued(s.id),
            burned=self.points.burned(s.id),
            remaining_quota=self.points.remaining_quota(s.id),
            minted=self.points.minted(s.id),
            held=self.points.held_total(s.id),
        )

    def quota_call(
        self, *, scheme: str | int, quota: int | str, quota_period: int | str | None = None
    ) -> Call:
        """Council call: a new quota (and optionally period) for a scheme."""
        s = self.scheme(scheme)
        period = (
            s.quota_period
            if quota_period is None
            else parse_amount(quota_period, what="quota period", maximum=MAX_UINT64)
        )
        return self.schemes.set_quota_call(s.id, parse_amount(quota, what="quota"), period)

    def unit_value_call(
        self, *, scheme: str | int, unit_value: int | str, from_block: int | str | None = None
    ) -> Call:
        """Council call: a scheme's value in thousandths of the city standard unit, in force from
        ``from_block`` (by default 10 blocks from now; it must still be ahead when the proposal
        is executed, or the execution is refused and the proposal stays open)."""
        value = parse_amount(unit_value, what="unit value", maximum=MAX_UINT64)
        block = (
            self.w3.eth.block_number + VALUE_CHANGE_LEAD_BLOCKS
            if from_block is None
            else parse_amount(from_block, what="from block", maximum=MAX_UINT64)
        )
        return self.schemes.set_unit_value_call(self.scheme(scheme).id, value, block)

    def issuer_call(self, *, scheme: str | int, issuer: str) -> Call:
        """Council call: hand a scheme to another issuer."""
        address = parse_address(issuer, what="issuer address")
        return self.schemes.set_issuer_call(self.scheme(scheme).id, address)

    def flags_call(self, *, scheme: str | int, flags: SchemeFlag | str) -> Call:
        """Council call: what members may do with a scheme's points."""
        parsed = SchemeFlag.parse(flags) if isinstance(flags, str) else flags
        return self.schemes.set_flags_call(self.scheme(scheme).id, parsed)

    def balances(self, address: str) -> list[Balance]:
        """The member's balance in every scheme."""
        address = parse_address(address, what="member address")
        schemes = self.schemes.schemes()
        amounts = self.points.balances(address, [s.id for s in schemes]) if schemes else {}
        return [Balance(scheme=s, amount=amounts[s.id]) for s in schemes]
