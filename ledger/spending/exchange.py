"""Cross-scheme exchange (积分通兑): quotes, exchanges and the limits on them.

A member converts points of one scheme into another at the values the council set in the scheme
registry (thousandths of the city standard unit). A quote shows the exact result first; executing
passes the quoted values, so if a value changed since (from its stated block) the exchange is
refused as stale instead of giving another result. Rounding never creates value: the member gives
only the points the result needs (the rest of the amount stays with them), and the dust below one
target point's value stays with the source scheme's issuer (see contracts/interfaces/IExchange.sol).
Every exchange makes the issuers owe each other its value: that clearing is
``ledger.spending.clearing``, whose operations the ``Exchange`` service inherits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from ledger.chain.contracts import Scheme
from ledger.chain.contracts.base import Call
from ledger.chain.contracts.exchange import MAX_AMOUNT, MAX_LIMIT, ExchangeLimits
from ledger.chain.contracts.schemes import ValueChange
from ledger.chain.revert_messages import value_text
from ledger.chain.tx import Signer
from ledger.errors import ContractRevert, InputError, InvalidAmount
from ledger.spending.clearing import Clearing, parse_value
from ledger.spending.parts import ExchangeParts
from ledger.store.refusals import refusals_noted
from ledger.values import parse_address, parse_amount

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExchangeFigures:
    """What an exchange gives and carries over (values in thousandths of the standard unit)."""

    member: str
    from_scheme: Scheme
    to_scheme: Scheme
    #: Points of the source scheme asked to exchange.
    amount: int
    #: Points given (<= amount); ``amount - used`` stays with the member.
    used: int
    #: Points received.
    out: int
    #: Value carried over (= what the issuers will owe).
    value: int
    #: Value not carried over (< one source point's value): stays with the source's issuer.
    dust: int
    from_value: int
    to_value: int


@dataclass(frozen=True)
class Quote(ExchangeFigures):
    """The exact result of an exchange as it would run now (``problem``: why it would not)."""

    from_next: ValueChange | None
    to_next: ValueChange | None
    block: int
    problem: ContractRevert | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def kept(self) -> int:
        return self.amount - self.used

    @property
    def values(self) -> str:
        """The quoted values as ``vpl exchange run --values`` takes them."""
        return f"{self.from_value}:{self.to_value}"

    def lines(self) -> list[str]:
        """The quote in plain words."""
        a, b = self.from_scheme, self.to_scheme
        out = [
            f"{self.member} gives {self.used} {a.code} points and receives {self.out} {b.code} "
            f"points",
            f"values: 1 {a.code} point = {value_text(self.from_value)}, 1 {b.code} point = "
            f"{value_text(self.to_value)} standard units (block {self.block})",
            f"value carried over: {value_text(self.value)} standard units, owed by {a.code}'s "
            f"issuer to {b.code}'s",
        ]
        if self.kept:
            out.append(
                f"{self.kept} of the {self.amount} {a.code} points asked stay with the member"
            )
        if self.dust:
            out.append(
                f"{value_text(self.dust)} standard units are below one {b.code} point and stay "
                f"with {a.code}'s issuer"
            )
        for s, nxt in ((a, self.from_next), (b, self.to_next)):
            if nxt is not None:
                out.append(
                    f"note: {s.code}'s value becomes {value_text(nxt.unit_value)} from block "
                    f"{nxt.from_block}; after that this quote is stale"
                )
        if self.problem is not None:
            out.append(f"refused: {self.problem}")
        else:
            out.append(f"to run it: --values {self.values}")
        return out


@dataclass(frozen=True)
class ExchangeResult(ExchangeFigures):
    """An exchange that ran (figures from its Exchanged event)."""

    exchange_id: int
    tx_hash: str
    block: int
    gas_used: int


class Exchange(Clearing):
    """Exchanges between schemes and their limits; and, inherited, the clearing they create."""

    parts: ExchangeParts

    def __init__(self, parts: ExchangeParts) -> None:
        super().__init__(parts)
        self.parts = parts

    # --- exchange -------------------------------------------------------------------------------

    def quote(
        self,
        *,
        member: str,
        from_scheme: str | int,
        to_scheme: str | int,
        amount: int | str,
        actor: str | None = None,
    ) -> Quote:
        """What exchanging ``amount`` points would give now, and the first reason it would not.

        With ``actor`` (who will sign), also whether they may act for the member.
        """
        member = parse_address(member, what="member address")
        points = parse_amount(amount, what="amount to exchange", maximum=MAX_AMOUNT)
        a, b = self.parts.scheme(from_scheme), self.parts.scheme(to_scheme)
        raw = self.contract.quote(member, a.id, b.id, points)
        block = self.parts.w3.eth.block_number
        problem: ContractRevert | None = None
        if actor is not None:
            problem = self._authority(member, parse_address(actor, what="actor address"))
        if problem is None and raw.problem:
            decoded = self.parts.decoder.decode(raw.problem, context="exchange")
            problem = decoded if isinstance(decoded, ContractRevert) else None
        return Quote(
            member=member,
            from_scheme=a,
            to_scheme=b,
            amount=points,
            used=raw.used,
            out=raw.out,
            value=raw.value,
            dust=raw.dust,
            from_value=raw.from_value,
            to_value=raw.to_value,
            from_next=(
                ValueChange(raw.from_next_block, raw.from_next_value)
                if raw.from_next_block
                else None
            ),
            to_next=ValueChange(raw.to_next_block, raw.to_next_value)
            if raw.to_next_block
            else None,
            block=block,
            problem=problem,
        )

    def _authority(self, member: str, actor: str) -> ContractRevert | None:
        """The contract's own refusal if ``actor`` may not act for ``member``."""
        if actor == member or self.parts.members.is_proxy(member, actor):
            return None
        data = keccak(text="ExchangeUnauthorized(address,address)")[:4] + abi_encode(
            ["address", "address"], [member, actor]
        )
        refusal = self.parts.decoder.decode(data, context="exchange")
        return refusal if isinstance(refusal, ContractRevert) else None

    def execute(
        self,
        *,
        actor: Signer,
        member: str,
        from_scheme: str | int,
        to_scheme: str | int,
        amount: int | str,
        values: str | tuple[int, int],
    ) -> ExchangeResult:
        """Run an exchange at the quoted values (``"FROM:TO"`` as the quote printed them).

        The chain refuses it (StaleQuote) if either value in force differs from the quote; every
        refusal that reaches the chain's rules is written down as a refused attempt.
        """
        member = parse_address(member, what="member address")
        points = parse_amount(amount, what="amount to exchange", maximum=MAX_AMOUNT)
        from_value, to_value = parse_values(values)
        a, b = self.parts.scheme(from_scheme), self.parts.scheme(to_scheme)
        with refusals_noted(self.parts.engine, actor.address, "exchange", f"{a.code}->{b.code}"):
            result = self.contract.exchange(actor, member, a.id, b.id, points, from_value, to_value)
        (event,) = self.contract.exchanged(result)
        args = event["args"]
        return ExchangeResult(
            exchange_id=int(args["exchangeId"]),
            member=member,
            from_scheme=a,
            to_scheme=b,
            amount=points,
            used=int(args["used"]),
            out=int(args["out"]),
            value=int(args["value"]),
            dust=int(args["dust"]),
            from_value=int(args["fromValue"]),
            to_value=int(args["toValue"]),
            tx_hash=result.tx_hash,
            block=result.block_number,
            gas_used=result.gas_used,
        )

    # --- limits ---------------------------------------------------------------------------------

    def limits(self, scheme: str | int) -> ExchangeLimits:
        return self.contract.limits_of(self.parts.scheme(scheme).id)

    def new_limits(
        self,
        *,
        scheme: str | int,
        min_value: int | str | Decimal | None = None,
        member_daily: int | str | Decimal | None = None,
        member_monthly: int | str | Decimal | None = None,
        scheme_daily_out: int | str | Decimal | None = None,
        scheme_daily_in: int | str | Decimal | None = None,
    ) -> ExchangeLimits:
        """A scheme's limits with the ones given changed (standard units; 0: no limit)."""
        current = self.limits(scheme)

        def pick(given: int | str | Decimal | None, now: int, what: str) -> int:
            if given is None:
                return now
            value = parse_value(given, what=what)
            if value > MAX_LIMIT:
                raise InvalidAmount(
                    f"{what} {value_text(value)} is larger than the maximum "
                    f"{value_text(MAX_LIMIT)} standard units"
                )
            return value

        return ExchangeLimits(
            min_value=pick(min_value, current.min_value, "minimum value"),
            member_daily=pick(member_daily, current.member_daily, "member daily limit"),
            member_monthly=pick(member_monthly, current.member_monthly, "member monthly limit"),
            scheme_daily_out=pick(scheme_daily_out, current.scheme_daily_out, "scheme daily out"),
            scheme_daily_in=pick(scheme_daily_in, current.scheme_daily_in, "scheme daily in"),
        )

    def limits_call(self, *, scheme: str | int, **given: int | str | Decimal | None) -> Call:
        """Council call: a scheme's exchange limits, in standard units (0: no limit); a limit
        not given keeps its current setting (see ``new_limits``)."""
        s = self.parts.scheme(scheme)
        limits = self.new_limits(scheme=s.id, **given)
        call = self.contract.set_limits_call(s.id, limits)
        return Call(
            target=call.target,
            data=call.data,
            summary=f"set {s.code} exchange limits: {describe_limits(limits)}",
        )

    def usage(self, scheme: str | int, member: str | None = None) -> dict[str, int]:
        """Value exchanged today (and this month, for a member), thousandths of the standard unit."""
        s = self.parts.scheme(scheme)
        out_today, in_today = self.contract.scheme_usage(s.id)
        data = {"scheme_out_today": out_today, "scheme_in_today": in_today}
        if member is not None:
            today, month = self.contract.member_usage(
                s.id, parse_address(member, what="member address")
            )
            data |= {"member_today": today, "member_month": month}
        return data


def parse_values(values: str | tuple[int, int]) -> tuple[int, int]:
    """``"1000:2500"`` (the quote's values, thousandths of the standard unit) -> (1000, 2500)."""
    parts = [str(v) for v in values] if isinstance(values, tuple) else values.strip().split(":")
    if len(parts) != 2:
        raise InputError(
            f"values {values!r} must be FROM_VALUE:TO_VALUE, as `vpl exchange quote` prints them"
        )
    return (
        parse_amount(parts[0], what="quoted from-value", maximum=2**64 - 1),
        parse_amount(parts[1], what="quoted to-value", maximum=2**64 - 1),
    )


def describe_limits(limits: ExchangeLimits) -> str:
    def show(v: int) -> str:
        return value_text(v) if v else "none"

    return (
        f"minimum {show(limits.min_value)}, member daily {show(limits.member_daily)}, member "
        f"monthly {show(limits.member_monthly)}, scheme daily out {show(limits.scheme_daily_out)}, "
        f"scheme daily in {show(limits.scheme_daily_in)} (standard units)"
    )


def quote_data(q: Quote) -> dict[str, Any]:
    """A quote as the CLI and the API show it."""
    return {
        "member": q.member,
        "from": q.from_scheme.code,
        "to": q.to_scheme.code,
        "amount": q.amount,
        "used": q.used,
        "kept": q.kept,
        "out": q.out,
        "value": q.value,
        "value_csu": value_text(q.value),
        "dust": q.dust,
        "from_value": q.from_value,
        "to_value": q.to_value,
        "values": q.values,
        "block": q.block,
        "from_next": None
        if q.from_next is None
        else {"value": q.from_next.unit_value, "from_block": q.from_next.from_block},
        "to_next": None
        if q.to_next is None
        else {"value": q.to_next.unit_value, "from_block": q.to_next.from_block},
        "ok": q.ok,
        "problem": None
        if q.problem is None
        else {"error": q.problem.error, "message": q.problem.message},
    }


def result_data(r: ExchangeResult) -> dict[str, Any]:
    """An exchange as the CLI and the API show it."""
    return {
        "exchange_id": r.exchange_id,
        "member": r.member,
        "from": r.from_scheme.code,
        "to": r.to_scheme.code,
        "amount": r.amount,
        "used": r.used,
        "out": r.out,
        "value": r.value,
        "value_csu": value_text(r.value),
        "dust": r.dust,
        "from_value": r.from_value,
        "to_value": r.to_value,
        "tx_hash": r.tx_hash,
        "block": r.block,
        "gas_used": r.gas_used,
    }


def limits_data(code: str, limits: ExchangeLimits) -> dict[str, Any]:
    """A scheme's exchange limits as the CLI and the API show them."""
    return {
        "scheme": code,
        "min_value": limits.min_value,
        "member_daily": limits.member_daily,
        "member_monthly": limits.member_monthly,
        "scheme_daily_out": limits.scheme_daily_out,
        "scheme_daily_in": limits.scheme_daily_in,
        "unit": "thousandths of the city standard unit; 0 = no limit",
    }


__all__ = [
    "Exchange",
    "ExchangeFigures",
    "ExchangeResult",
    "Quote",
    "describe_limits",
    "limits_data",
    "parse_values",
    "quote_data",
    "result_data",
]
