"""Shared by the exchange and clearing specifications: schemes with values, members holding points,
proxies, limits, value changes, and a snapshot of everything an exchange could change."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from typing import Any

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.exchange import ExchangeLimits
from ledger.ledger import Ledger
from tests.conftest import issue_points
from tests.contracts.helpers import source
from tests.factories import Member, new_member

BOTH = SchemeFlag.EXCHANGE_OUT | SchemeFlag.EXCHANGE_IN
_serial = itertools.count(1)


def exchange_scheme(
    ledger: Ledger,
    *,
    value: int = 1000,
    flags: SchemeFlag = BOTH,
    issuer: str = "issuer-green",
) -> Scheme:
    """A fresh scheme worth `value` thousandths of the standard unit, issued by operator `issuer`."""
    code = f"X{next(_serial)}{secrets.token_hex(3).upper()}"
    call = ledger.add_scheme_call(
        code=code,
        name=f"通兑测试 {code}",
        unit="分",
        issuer=ledger.operator(issuer).address,
        unit_value=value,
        quota=10**12,
        quota_period=30 * 24 * 3600,
        flags=flags,
    )
    ledger.govern([call])
    return ledger.scheme(code)


def holder(ledger: Ledger, scheme: Scheme, amount: int, *more: tuple[Scheme, int]) -> Member:
    """A fresh member holding `amount` points of `scheme` (and of each further (scheme, amount))."""
    member = new_member(ledger)
    for s, n in ((scheme, amount), *more):
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
