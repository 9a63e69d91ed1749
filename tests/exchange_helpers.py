"""Shared by the exchange and clearing specifications: schemes with values, members holding points,
proxies, limits, value changes, and a snapshot of everything an exchange could change."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.exchange import ExchangeLimits
from ledger.ledger import Ledger
from ledger.spending.exchange import ExchangeResult
from tests.contracts.helpers import source
from tests.factories import Member, new_holder, new_scheme
from tests.probes import issue_points

BOTH = SchemeFlag.EXCHANGE_OUT | SchemeFlag.EXCHANGE_IN


def exchange_scheme(
    ledger: Ledger,
    *,
    value: int = 1000,
    flags: SchemeFlag = BOTH,
    issuer: str = "issuer-green",
) -> Scheme:
    """A fresh scheme worth `value` thousandths of the standard unit, issued by operator `issuer`."""
    return new_scheme(
        ledger, issuer=ledger.operator(issuer).address, quota=10**12, flags=flags, unit_value=value
    )


def holder(ledger: Ledger, scheme: Scheme, amount: int, *more: tuple[Scheme, int]) -> Member:
    """A fresh member holding `amount` points of `scheme` (and of each further (scheme, amount))."""
    member = new_holder(ledger, scheme.id, amount)
    for s, n in more:
        if n:
            issue_points(ledger, member.address, s.id, n, source())
    return member


def grant_proxy(ledger: Ledger, member: str, proxy: str = "issuer-vol") -> str:
    """Record operator `proxy` as acting for `member` (by the registrar, with a consent hash)."""
    address = ledger.operator(proxy).address
    ledger.members.grant_proxy(
        ledger.operator("registrar"), member, address, secrets.token_bytes(32)
    )
    return address


def exchange(
    ledger: Ledger,
    member: Member,
    from_scheme: int | str,
    to_scheme: int | str,
    amount: int | str,
    *,
    values: str | tuple[int, int] | None = None,
    actor: LocalAccount | None = None,
) -> ExchangeResult:
    """`actor` (issuer-vol, the member's proxy, unless given) exchanges `amount` of `member`'s
    points of `from_scheme` into `to_scheme` (ids or codes) at `values` (a quote's of now unless
    given)."""
    if values is None:
        values = ledger.exchange.quote(
            member=member.address, from_scheme=from_scheme, to_scheme=to_scheme, amount=amount
        ).values
    return ledger.exchange.execute(
        actor=actor or ledger.operator("issuer-vol"),
        member=member.address,
        from_scheme=from_scheme,
        to_scheme=to_scheme,
        amount=amount,
        values=values,
    )


def exchanged(ledger: Ledger) -> tuple[Scheme, Scheme, Member, int]:
    """A member paid 300 points of scheme a who exchanged 100 of them into scheme b (at half the
    value: 200 points of b) through their proxy; and the last block before the exchange."""
    a = exchange_scheme(ledger, value=1000)
    b = exchange_scheme(ledger, value=500)
    member = holder(ledger, a, 300)
    grant_proxy(ledger, member.address)
    before = ledger.w3.eth.block_number
    exchange(ledger, member, a.id, b.id, 100, values=(1000, 500))
    return a, b, member, before


def set_limits(ledger: Ledger, scheme: Scheme, **limits: Any) -> ExchangeLimits:
    """Council: `scheme`'s exchange limits in standard units (see Exchange.limits_call)."""
    ledger.govern([ledger.exchange.limits_call(scheme=scheme.id, **limits)])
    return ledger.exchange.limits(scheme.id)


def mine(ledger: Ledger, blocks: int = 1) -> None:
    for _ in range(blocks):
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def change_value(ledger: Ledger, scheme: Scheme, value: int, *, lead: int = 5) -> int:
    """Council: `scheme` is worth `value` from a block `lead` blocks ahead; mines up to it."""
    from_block = ledger.w3.eth.block_number + lead + 4  # the proposal takes three blocks
    ledger.govern(
        [ledger.unit_value_call(scheme=scheme.id, unit_value=value, from_block=from_block)]
    )
    while ledger.w3.eth.block_number < from_block:
        mine(ledger)
    return from_block


def exchange_state(
    ledger: Ledger, schemes: Sequence[Scheme], members: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything an exchange or a settlement could change."""
    p, x = ledger.points, ledger.exchange_contract
    ids = [s.id for s in schemes]
    return {
        "balances": {(m, i): p.balance_of(m, i) for m in members for i in ids},
        "supply": {i: (p.total_supply(i), p.issued(i), p.burned(i), p.minted(i)) for i in ids},
        "positions": {i: x.position_of(i) for i in ids},
        "owed": {(a, b): x.owed(a, b) for a in ids for b in ids if a != b},
        "member_usage": {(m, i): x.member_usage(i, m) for m in members for i in ids},
        "scheme_usage": {i: x.scheme_usage(i) for i in ids},
        "counts": (x.exchange_count(), x.settlement_count()),
    }
