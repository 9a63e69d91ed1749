"""Specification of the Exchange contract: cross-scheme exchange (积分通兑) at the council's values,
rounding that never creates value, limits, and real-time clearing between issuers (实时清算)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.exchange import MAX_AMOUNT, SettlementStatus, exchange_ref
from ledger.chain.tx import TxResult
from ledger.errors import (
    ContractRevert,
    ExchangeDeclined,
    InvalidRequest,
    LimitExceeded,
    NotAuthorized,
    StaleQuote,
    StateConflict,
)
from ledger.ledger import Ledger
from tests.contracts.helpers import COUNCIL_ROLE, events, raw_call, send
from tests.contracts.refusals import points_frozen, points_short, reverts, reverts_unchanged
from tests.earning_helpers import fund
from tests.exchange_helpers import (
    change_value,
    exchange_scheme,
    exchange_state,
    grant_proxy,
    holder,
    set_limits,
)
from tests.factories import Member

LIMIT_MEMBER_DAILY, LIMIT_MEMBER_MONTHLY, LIMIT_SCHEME_OUT, LIMIT_SCHEME_IN = range(4)


def run(
    ledger: Ledger,
    member: str,
    a: int,
    b: int,
    amount: int,
    *,
    by: str = "issuer-vol",
    values: tuple[int, int] | None = None,
) -> TxResult:
    """Exchange as operator `by` (the member's proxy) at the values in force (or `values`)."""
    if values is None:
        q = ledger.exchange_contract.quote(member, a, b, amount)
        values = (q.from_value, q.to_value)
    return ledger.exchange_contract.exchange(
        ledger.operator(by), member, a, b, amount, values[0], values[1]
    )


def valued_pair(
    ledger: Ledger, from_value: int, to_value: int, points: int
) -> tuple[Scheme, Scheme, Member]:
    """Two fresh schemes worth `from_value` and `to_value` thousandths of the standard unit (of
    issuer-green and issuer-culture), and a member holding `points` of the first whose proxy is
    issuer-vol."""
    a = exchange_scheme(ledger, value=from_value)
    b = exchange_scheme(ledger, value=to_value, issuer="issuer-culture")
    member = holder(ledger, a, points)
    grant_proxy(ledger, member.address)
    return a, b, member


def refused_exchange(
    ledger: Ledger,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    state: Callable[[], Any],
    act: Callable[[], Any],
    *,
    quote: tuple[str, int, int, int] | None = None,
) -> None:
    """`act` is refused with exactly `error(args)`, nothing changed, and (given the quote's
    arguments) the quote reports the same refusal first."""
    if quote is not None:
        raw = ledger.exchange_contract.quote(*quote)
        decoded = ledger.decoder.decode(raw.problem)
        assert isinstance(decoded, ContractRevert), decoded
        assert (decoded.error, decoded.args_by_name) == (error, args)
    with reverts_unchanged(kind, error, args, state):
        act()


def refused_in_pair(
    ledger: Ledger,
    pair: dict[str, Any],
    amount: int,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *,
    into: Scheme | None = None,
    quoted: bool = True,
    **run_options: Any,
) -> None:
    """Exchanging `amount` of the pair's A into B (or `into`) for its member is refused as
    `refused_exchange` says; with `quoted`, the quote reports the refusal first."""
    a, m = pair["a"], pair["member"].address
    b = into or pair["b"]
    refused_exchange(
        ledger,
        kind,
        error,
        args,
        pair["state"],
        lambda: run(ledger, m, a.id, b.id, amount, **run_options),
        quote=(m, a.id, b.id, amount) if quoted else None,
    )


# --- exchanging ----------------------------------------------------------------------------------


def test_exchange_converts_at_the_values_in_force_and_keeps_the_remainder_with_the_member(
    ledger: Ledger,
) -> None:
    a, b, member = valued_pair(ledger, 1000, 2500, 100)
    proxy = ledger.operator("issuer-vol").address  # the member's proxy
    q = ledger.exchange_contract.quote(member.address, a.id, b.id, 7)
    # 7 x 1.000 = 7.000 -> 2 points of 2.500 (5.000); 5 points of A suffice, 2 stay.
    assert (q.used, q.out, q.value, q.dust, q.from_value, q.to_value, q.problem) == (
        5,
        2,
        5000,
        0,
        1000,
        2500,
        b"",
    )
    count = ledger.exchange_contract.exchange_count()
    result = run(ledger, member.address, a.id, b.id, 7)
    exchange_id = count + 1
    assert ledger.points.balance_of(member.address, a.id) == 95
    assert ledger.points.balance_of(member.address, b.id) == 2
    assert (ledger.points.burned(a.id), ledger.points.minted(b.id)) == (5, 2)
    assert events(ledger.exchange_contract, result, "Exchanged") == [
        {
            "member": member.address,
            "fromScheme": a.id,
            "toScheme": b.id,
            "exchangeId": exchange_id,
            "used": 5,
            "out": 2,
            "fromValue": 1000,
            "toValue": 2500,
            "value": 5000,
            "dust": 0,
            "operator": proxy,
        }
    ]
    ref = exchange_ref(exchange_id)
    burned = events(ledger.points, result, "PointsBurned")
    minted = events(ledger.points, result, "PointsMinted")
    assert [(e["schemeId"], e["amount"], e["ref"]) for e in burned] == [(a.id, 5, ref)]
    assert [(e["schemeId"], e["amount"], e["ref"]) for e in minted] == [(b.id, 2, ref)]
    # A's issuer now owes B's 5.000 standard units.
    x = ledger.exchange_contract
    assert x.owed(a.id, b.id) == (5000, 0)
    assert (x.position_of(a.id), x.position_of(b.id)) == (-5000, 5000)


def test_dust_below_one_target_point_stays_with_the_source_issuer(ledger: Ledger) -> None:
    a, b, member = valued_pair(ledger, 3000, 2000, 10)
    result = run(ledger, member.address, a.id, b.id, 3)
    (e,) = events(ledger.exchange_contract, result, "Exchanged")
    # 3 x 3.000 = 9.000 -> 4 points of 2.000 (8.000); all 3 points are needed; 1.000 is dust.
    assert (e["used"], e["out"], e["value"], e["dust"]) == (3, 4, 8000, 1000)
    assert e["used"] * 3000 - e["out"] * 2000 == e["dust"]
    assert ledger.exchange_contract.owed(a.id, b.id) == (8000, 0)


def test_the_member_may_sign_for_themselves(ledger: Ledger) -> None:
    a = exchange_scheme(ledger)
    b = exchange_scheme(ledger, issuer="issuer-culture")
    member = holder(ledger, a, 10)
    fund(ledger, member.address)
    ledger.exchange_contract.exchange(member.account, member.address, a.id, b.id, 4, 1000, 1000)
    assert ledger.points.balances(member.address, [a.id, b.id]) == {a.id: 6, b.id: 4}


def test_rounding_never_creates_value_over_random_values_and_amounts(ledger: Ledger) -> None:
    rng = random.Random(4)
    values = [1, 7, 333, 1000, 2999, 10_007]
    schemes = [exchange_scheme(ledger, value=v) for v in values]
    member = holder(ledger, schemes[0], 1)
    checked = 0
    for _ in range(150):
        a, b = rng.sample(schemes, 2)
        amount = rng.choice([1, 2, 3, rng.randrange(1, 10_000), rng.randrange(1, 2**60)])
        q = ledger.exchange_contract.quote(member.address, a.id, b.id, amount)
        va, vb = a.unit_value, b.unit_value
        assert q.out == amount * va // vb
        assert q.value == q.out * vb
        if q.out == 0:
            continue
        checked += 1
        assert q.used <= amount
        assert q.out * vb <= q.used * va  # value is never created
        assert q.dust == q.used * va - q.out * vb < va  # and less than one source point is lost
        assert (q.used - 1) * va < q.out * vb  # one point fewer would not pay for the result
    assert checked > 60


def test_a_quote_shows_a_scheduled_value_change_and_an_old_quote_is_then_stale(
    ledger: Ledger,
) -> None:
    a, b, member = valued_pair(ledger, 1000, 1000, 50)
    old = ledger.exchange_contract.quote(member.address, a.id, b.id, 10)
    from_block = ledger.w3.eth.block_number + 30
    ledger.govern([ledger.unit_value_call(scheme=b.id, unit_value=2000, from_block=from_block)])
    pending = ledger.exchange_contract.quote(member.address, a.id, b.id, 10)
    assert (pending.to_value, pending.to_next_value, pending.to_next_block) == (
        1000,
        2000,
        from_block,
    )
    assert pending.out == 10  # still the value in force: never retroactive
    change_value(ledger, b, 2000, lead=2)  # reschedules the change nearer and mines to it
    state = lambda: exchange_state(ledger, [a, b], [member.address])  # noqa: E731
    refused_exchange(
        ledger,
        StaleQuote,
        "ExchangeStaleQuote",
        {
            "fromScheme": a.id,
            "toScheme": b.id,
            "quotedFromValue": 1000,
            "quotedToValue": 1000,
            "fromValue": 1000,
            "toValue": 2000,
        },
        state,
        lambda: run(ledger, member.address, a.id, b.id, 10, values=(old.from_value, old.to_value)),
    )
    new = ledger.exchange_contract.quote(member.address, a.id, b.id, 10)
    assert (new.out, new.to_value) == (5, 2000)
    run(ledger, member.address, a.id, b.id, 10, values=(1000, 2000))
    assert ledger.points.balance_of(member.address, b.id) == 5


# --- bad input: a clear error, nothing changed -----------------------------------------------------


@pytest.fixture
def pair(ledger: Ledger) -> dict[str, Any]:
    a, b, member = valued_pair(ledger, 1000, 500, 20)
    return {
        "a": a,
        "b": b,
        "member": member,
        "state": lambda: exchange_state(ledger, [a, b], [member.address]),
    }


def test_insufficient_balance_is_refused(ledger: Ledger, pair: dict[str, Any]) -> None:
    a, m = pair["a"], pair["member"].address
    refused_in_pair(ledger, pair, 21, *points_short(m, a.id, 20, 21))


def test_frozen_points_are_not_available(ledger: Ledger, pair: dict[str, Any]) -> None:
    a, m = pair["a"], pair["member"].address
    ledger.points.set_frozen(
        ledger.operator("issuer-green"),
        a.id,
        m,
        15,
        increase=True,
        case_ref=secrets.token_bytes(32),
    )
    refused_in_pair(ledger, pair, 6, *points_short(m, a.id, 5, 6))


def test_acting_from_a_frozen_account_is_refused(ledger: Ledger, pair: dict[str, Any]) -> None:
    m = pair["member"].address
    ledger.freeze_member(registrar=ledger.operator("registrar"), address=m, reason=3)
    refused_in_pair(ledger, pair, 5, *points_frozen(m))


def test_a_proxy_without_the_grant_is_refused(ledger: Ledger, pair: dict[str, Any]) -> None:
    m = pair["member"].address
    stranger = ledger.operator("issuer-bee").address
    args = {"member": m, "sender": stranger}
    refused_in_pair(
        ledger, pair, 5, NotAuthorized, "ExchangeUnauthorized", args, quoted=False, by="issuer-bee"
    )
    # a revoked proxy is refused the same way
    proxy = ledger.operator("issuer-vol").address
    ledger.members.revoke_proxy(ledger.operator("registrar"), m, proxy)
    args = {"member": m, "sender": proxy}
    refused_in_pair(ledger, pair, 5, NotAuthorized, "ExchangeUnauthorized", args, quoted=False)


@pytest.mark.parametrize("declines", ["out", "in"])
def test_a_scheme_that_declines_is_refused_with_its_own_error(
    ledger: Ledger, declines: str
) -> None:
    a = exchange_scheme(
        ledger, flags=SchemeFlag.EXCHANGE_IN if declines == "out" else SchemeFlag.EXCHANGE_OUT
    )
    b = exchange_scheme(
        ledger,
        flags=SchemeFlag.EXCHANGE_OUT if declines == "in" else SchemeFlag.EXCHANGE_IN,
        issuer="issuer-culture",
    )
    member = holder(ledger, a, 20)
    grant_proxy(ledger, member.address)
    m = member.address
    error, scheme = ("ExchangeOutDeclined", a) if declines == "out" else ("ExchangeInDeclined", b)
    refused_exchange(
        ledger,
        ExchangeDeclined,
        error,
        {"schemeId": scheme.id},
        lambda: exchange_state(ledger, [a, b], [m]),
        lambda: run(ledger, m, a.id, b.id, 5),
        quote=(m, a.id, b.id, 5),
    )


@pytest.mark.parametrize("amount", [0, MAX_AMOUNT + 1, 2**256 - 1])
def test_zero_and_overflowing_amounts_are_refused(
    ledger: Ledger, pair: dict[str, Any], amount: int
) -> None:
    args = {"amount": amount}
    refused_in_pair(
        ledger, pair, amount, InvalidRequest, "ExchangeInvalidAmount", args, values=(1000, 500)
    )


def test_a_result_too_large_for_a_balance_is_refused(ledger: Ledger) -> None:
    a, b, member = valued_pair(ledger, 10**9, 1, 1)
    m, amount = member.address, MAX_AMOUNT
    refused_exchange(
        ledger,
        InvalidRequest,
        "ExchangeTooLarge",
        {"out": amount * 10**9, "maximum": MAX_AMOUNT},
        lambda: exchange_state(ledger, [a, b], [m]),
        lambda: run(ledger, m, a.id, b.id, amount),
        quote=(m, a.id, b.id, amount),
    )


def test_exchanging_into_the_same_scheme_is_refused(ledger: Ledger, pair: dict[str, Any]) -> None:
    a = pair["a"]
    args = {"schemeId": a.id}
    refused_in_pair(ledger, pair, 5, InvalidRequest, "ExchangeSameScheme", args, into=a)


def test_less_than_one_target_point_is_below_the_minimum(ledger: Ledger) -> None:
    a, b, member = valued_pair(ledger, 300, 1000, 20)
    m = member.address
    refused_exchange(
        ledger,
        LimitExceeded,
        "ExchangeBelowMinimum",
        {"schemeId": a.id, "value": 0, "minValue": 0},
        lambda: exchange_state(ledger, [a, b], [m]),
        lambda: run(ledger, m, a.id, b.id, 3),
        quote=(m, a.id, b.id, 3),
    )


def test_paused_schemes_refuse_exchanges(ledger: Ledger, pair: dict[str, Any]) -> None:
    b = pair["b"]
    ledger.govern([ledger.schemes.pause_call(b.id)])
    try:
        refused_in_pair(ledger, pair, 5, ContractRevert, "PointsPaused", {"schemeId": b.id})
    finally:
        ledger.govern([ledger.schemes.unpause_call(b.id)])


# --- limits --------------------------------------------------------------------------------------


def test_only_the_council_sets_limits(ledger: Ledger, pair: dict[str, Any]) -> None:
    a = pair["a"]
    outsider = ledger.operator("issuer-green")
    call = raw_call(ledger.exchange_contract, "setLimits", a.id, (1, 2, 3, 4, 5))
    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": outsider.address, "neededRole": COUNCIL_ROLE},
    ):
        send(ledger, outsider, call)


def test_limits_minimum_member_daily_and_monthly_scheme_daily_out_and_in(
    ledger: Ledger, pair: dict[str, Any]
) -> None:
    a, b, m = pair["a"], pair["b"], pair["member"].address
    set_limits(ledger, a, min_value="2", member_daily="6", member_monthly="8")

    def over_limit(amount: int, scheme_id: int, limit_kind: int, used: int, limit: int) -> None:
        args = {
            "schemeId": scheme_id,
            "limitKind": limit_kind,
            "used": used,
            "requested": amount * 1000,
            "limit": limit,
        }
        refused_in_pair(ledger, pair, amount, LimitExceeded, "ExchangeLimit", args)

    # minimum: 1 point of A (1.000) is below 2.000
    args = {"schemeId": a.id, "value": 1000, "minValue": 2000}
    refused_in_pair(ledger, pair, 1, LimitExceeded, "ExchangeBelowMinimum", args)
    run(ledger, m, a.id, b.id, 4)
    assert ledger.exchange_contract.member_usage(a.id, m) == (4000, 4000)
    over_limit(3, a.id, LIMIT_MEMBER_DAILY, 4000, 6000)
    set_limits(ledger, a, member_daily="0")
    over_limit(5, a.id, LIMIT_MEMBER_MONTHLY, 4000, 8000)
    out_before, _ = ledger.exchange_contract.scheme_usage(a.id)
    set_limits(ledger, a, member_monthly="0", scheme_daily_out=f"{(out_before + 5000) / 1000}")
    over_limit(6, a.id, LIMIT_SCHEME_OUT, out_before, out_before + 5000)
    _, in_before = ledger.exchange_contract.scheme_usage(b.id)
    set_limits(ledger, b, scheme_daily_in=f"{(in_before + 2000) / 1000}")
    over_limit(3, b.id, LIMIT_SCHEME_IN, in_before, in_before + 2000)
    run(ledger, m, a.id, b.id, 2)  # exactly the day's room into B is allowed
    assert ledger.exchange_contract.scheme_usage(b.id)[1] == in_before + 2000


# --- clearing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cleared:
    """A (green) owes B (culture) 8.000 after two exchanges of the member's."""

    a: Scheme
    b: Scheme
    member: Member
    #: The issuers of A and B: A's pays what it owes, B's confirms.
    payer: LocalAccount
    payee: LocalAccount
    state: Callable[[], Any]


@pytest.fixture
def cleared(ledger: Ledger) -> Cleared:
    a = exchange_scheme(ledger, value=1000, issuer="issuer-green")
    b = exchange_scheme(ledger, value=1000, issuer="issuer-culture")
    member = holder(ledger, a, 20, (b, 20))
    grant_proxy(ledger, member.address)
    run(ledger, member.address, a.id, b.id, 5)
    run(ledger, member.address, a.id, b.id, 3)
    payer, payee = ledger.operator("issuer-green"), ledger.operator("issuer-culture")
    state = lambda: exchange_state(ledger, [a, b], [member.address])  # noqa: E731
    return Cleared(a, b, member, payer, payee, state)


def refused_as_closed(
    ledger: Ledger, c: Cleared, settlement_id: int, status: SettlementStatus
) -> None:
    """Confirming the settlement is refused: it is `status` already."""
    args = {"settlementId": settlement_id, "status": int(status)}
    refused_exchange(
        ledger,
        StateConflict,
        "ExchangeSettlementClosed",
        args,
        c.state,
        lambda: ledger.exchange_contract.confirm_settlement(c.payee, settlement_id),
    )


def test_obligations_are_netted_in_real_time(ledger: Ledger, cleared: Cleared) -> None:
    a, b, x = cleared.a, cleared.b, ledger.exchange_contract
    assert x.owed(a.id, b.id) == (8000, 0) and x.owed(b.id, a.id) == (0, 0)
    run(ledger, cleared.member.address, b.id, a.id, 10)
    assert x.owed(a.id, b.id) == (0, 0) and x.owed(b.id, a.id) == (2000, 0)
    assert (x.position_of(a.id), x.position_of(b.id)) == (2000, -2000)


def test_settlement_recorded_by_the_payer_confirmed_by_the_payee(
    ledger: Ledger, cleared: Cleared
) -> None:
    c, x = cleared, ledger.exchange_contract
    a, b, payer, payee = c.a, c.b, c.payer, c.payee
    ref = secrets.token_bytes(32)
    result = x.record_settlement(payer, a.id, b.id, 5000, ref)
    sid = x.recorded_id(result)
    assert events(x, result, "SettlementRecorded") == [
        {
            "settlementId": sid,
            "payerScheme": a.id,
            "payeeScheme": b.id,
            "amount": 5000,
            "paymentRef": ref,
            "by": payer.address,
        }
    ]
    assert x.owed(a.id, b.id) == (8000, 5000)
    assert x.position_of(a.id) == -8000  # nothing counts before the payee confirms
    # more than is owed and not yet covered by pending settlements
    refused_exchange(
        ledger,
        InvalidRequest,
        "ExchangeSettlementExceedsOwed",
        {"payerScheme": a.id, "payeeScheme": b.id, "amount": 3001, "owed": 3000},
        c.state,
        lambda: x.record_settlement(payer, a.id, b.id, 3001, ref),
    )
    # the wrong issuer confirms: refused, nothing changed
    refused_exchange(
        ledger,
        NotAuthorized,
        "ExchangeNotIssuer",
        {"schemeId": b.id, "account": payer.address},
        c.state,
        lambda: x.confirm_settlement(payer, sid),
    )
    result = x.confirm_settlement(payee, sid)
    assert events(x, result, "SettlementConfirmed") == [
        {
            "settlementId": sid,
            "payerScheme": a.id,
            "payeeScheme": b.id,
            "amount": 5000,
            "by": payee.address,
        }
    ]
    assert x.settlement(sid).status is SettlementStatus.CONFIRMED
    assert x.owed(a.id, b.id) == (3000, 0)
    assert (x.position_of(a.id), x.position_of(b.id)) == (-3000, 3000)
    refused_as_closed(ledger, c, sid, SettlementStatus.CONFIRMED)


def test_settlement_refusals(ledger: Ledger, cleared: Cleared) -> None:
    c, x = cleared, ledger.exchange_contract
    a, b, payer, payee = c.a, c.b, c.payer, c.payee
    ref = secrets.token_bytes(32)
    cases: list[tuple[type[ContractRevert], str, dict[str, Any], Callable[[], Any]]] = [
        (
            NotAuthorized,
            "ExchangeNotIssuer",
            {"schemeId": a.id, "account": payee.address},
            lambda: x.record_settlement(payee, a.id, b.id, 1000, ref),
        ),
        (
            InvalidRequest,
            "ExchangeSettlementExceedsOwed",
            {"payerScheme": b.id, "payeeScheme": a.id, "amount": 1, "owed": 0},
            lambda: x.record_settlement(payee, b.id, a.id, 1, ref),
        ),
        (
            InvalidRequest,
            "ExchangeInvalidSettlement",
            {"payerScheme": a.id, "payeeScheme": b.id, "amount": 0},
            lambda: x.record_settlement(payer, a.id, b.id, 0, ref),
        ),
        (
            InvalidRequest,
            "ExchangeInvalidSettlement",
            {"payerScheme": a.id, "payeeScheme": b.id, "amount": 10},
            lambda: x.record_settlement(payer, a.id, b.id, 10, bytes(32)),
        ),
        (
            InvalidRequest,
            "ExchangeUnknownSettlement",
            {"settlementId": 10**9},
            lambda: x.confirm_settlement(payee, 10**9),
        ),
    ]
    for kind, error, args, act in cases:
        refused_exchange(ledger, kind, error, args, c.state, act)
    sid = x.recorded_id(x.record_settlement(payer, a.id, b.id, 8000, ref))
    refused_exchange(
        ledger,
        NotAuthorized,
        "ExchangeNotProposer",
        {"settlementId": sid, "account": payee.address, "proposer": payer.address},
        c.state,
        lambda: x.cancel_settlement(payee, sid),
    )
    result = x.cancel_settlement(payer, sid)
    assert events(x, result, "SettlementCancelled")[0]["amount"] == 8000
    assert x.owed(a.id, b.id) == (8000, 0)
    refused_as_closed(ledger, c, sid, SettlementStatus.CANCELLED)


def test_a_payment_larger_than_the_debt_netted_since_reverses_the_debt(
    ledger: Ledger, cleared: Cleared
) -> None:
    c, x = cleared, ledger.exchange_contract
    a, b = c.a, c.b
    sid = x.recorded_id(x.record_settlement(c.payer, a.id, b.id, 8000, secrets.token_bytes(32)))
    run(ledger, c.member.address, b.id, a.id, 3)  # B now owes A 3.000 of it back
    x.confirm_settlement(c.payee, sid)
    assert x.owed(a.id, b.id) == (0, 0) and x.owed(b.id, a.id) == (3000, 0)
    assert x.position_of(a.id) + x.position_of(b.id) == 0


# --- invariants over random sequences ------------------------------------------------------------


def test_random_sequences_conserve_value_and_positions_sum_to_zero(ledger: Ledger) -> None:
    rng = random.Random(2026)
    issuers = ["issuer-green", "issuer-culture", "issuer-traffic", "issuer-time"]
    values = [1000, 250, 3333, 7]
    schemes = [
        exchange_scheme(ledger, value=v, issuer=i) for v, i in zip(values, issuers, strict=True)
    ]
    members = [
        holder(ledger, schemes[0], 5000, *((s, 5000) for s in schemes[1:])) for _ in range(3)
    ]
    for m in members:
        grant_proxy(ledger, m.address)
    x, p = ledger.exchange_contract, ledger.points
    supply0 = {s.id: p.total_supply(s.id) for s in schemes}
    pos0 = {s.id: x.position_of(s.id) for s in schemes}
    carried = {s.id: 0 for s in schemes}  # value in minus value out, per scheme
    given_value = taken_value = 0
    done = 0
    for _ in range(50):
        if rng.random() < 0.75:
            a, b = rng.sample(schemes, 2)
            m = rng.choice(members).address
            amount = rng.randrange(1, 400)
            q = x.quote(m, a.id, b.id, amount)
            if q.problem:
                continue
            result = run(ledger, m, a.id, b.id, amount)
            (e,) = events(x, result, "Exchanged")
            assert e["out"] * b.unit_value <= e["used"] * a.unit_value
            assert e["used"] * a.unit_value - e["out"] * b.unit_value < a.unit_value
            given_value += e["used"] * a.unit_value
            taken_value += e["value"]
            carried[a.id] -= e["value"]
            carried[b.id] += e["value"]
            done += 1
        else:
            a, b = rng.sample(schemes, 2)
            owed_now, pending = x.owed(a.id, b.id)
            if owed_now - pending <= 0:
                continue
            issuer_a = issuers[schemes.index(a)]
            issuer_b = issuers[schemes.index(b)]
            amount = rng.randrange(1, owed_now - pending + 1)
            sid = x.recorded_id(
                x.record_settlement(
                    ledger.operator(issuer_a), a.id, b.id, amount, secrets.token_bytes(32)
                )
            )
            x.confirm_settlement(ledger.operator(issuer_b), sid)
            carried[a.id] += amount
            carried[b.id] -= amount
        positions = {s.id: x.position_of(s.id) for s in schemes}
        assert sum(positions.values()) == sum(pos0.values())
        for s in schemes:
            assert positions[s.id] - pos0[s.id] == carried[s.id]
            # each pair owes in one direction at most
            for t in schemes:
                if s.id < t.id:
                    assert x.owed(s.id, t.id)[0] == 0 or x.owed(t.id, s.id)[0] == 0
    assert done >= 15
    assert taken_value <= given_value
    # supply: issued - burned + minted, and every point is someone's
    for s in schemes:
        holders = sum(p.balance_of(m.address, s.id) for m in members)
        assert p.total_supply(s.id) == holders
        assert p.total_supply(s.id) - supply0[s.id] == p.minted(s.id) - p.burned(s.id)
    # value: what members hold in standard units fell by exactly the dust
    assert given_value - taken_value >= 0


def test_quote_problem_data_decodes_like_the_transaction(ledger: Ledger) -> None:
    a = exchange_scheme(ledger)
    member = holder(ledger, a, 1)
    raw = ledger.exchange_contract.quote(member.address, a.id, a.id, 1)
    (scheme_id,) = abi_decode(["uint256"], raw.problem[4:])
    assert scheme_id == a.id
    assert "from one scheme into another" in str(ledger.decoder.decode(raw.problem))


def test_gas_per_exchange(ledger: Ledger, record_property: Any) -> None:
    """Gas of an exchange: the first of a member in a scheme pair (new storage words) and later."""
    a = exchange_scheme(ledger)
    b = exchange_scheme(ledger, issuer="issuer-culture")
    member = holder(ledger, a, 100, (b, 1))
    grant_proxy(ledger, member.address)
    first = run(ledger, member.address, a.id, b.id, 5).gas_used
    later = [run(ledger, member.address, a.id, b.id, 5).gas_used for _ in range(3)]
    record_property("gas_first_exchange", first)
    record_property("gas_later_exchange", later)
    print(f"\ngas per exchange: first {first}, later {later}")
    assert max(later) < 250_000
