"""Specification of ``ledger.spending.exchange``: quotes in plain words, execution at the quoted values,
limits in standard units, settlements, and the clearing statement from the contract's events."""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest
from eth_utils import keccak
from sqlmodel import select

from ledger.chain.contracts.exchange import ExchangeLimits, SettlementStatus
from ledger.errors import (
    ContractRevert,
    InputError,
    InvalidAmount,
    NotAuthorized,
    StaleQuote,
)
from ledger.ledger import Ledger
from ledger.spending.clearing import parse_value, reference_hash
from ledger.spending.exchange import parse_values
from ledger.store import session
from ledger.store.clearing import PaymentReference
from ledger.values import CST
from tests.earning_helpers import assert_refusal_logged, assert_unchanged, last_refusal_id
from tests.exchange_helpers import (
    change_value,
    exchange,
    exchange_scheme,
    exchange_state,
    grant_proxy,
    holder,
    set_limits,
)


def test_parse_value_reads_standard_units_with_at_most_three_decimals() -> None:
    assert parse_value("12") == 12_000
    assert parse_value("12.5") == 12_500
    assert parse_value("０.００１") == 1
    assert parse_value(3) == 3000
    for bad in ("-1", "1.2345", "abc", "", "1e3"):
        with pytest.raises(InvalidAmount):
            parse_value(bad)
    assert parse_values("1000:2500") == (1000, 2500)
    for bad in ("1000", "1000:-1", "a:b", "1:2:3"):
        with pytest.raises(InputError):
            parse_values(bad)
    assert reference_hash(" 转账 2026-11-23 #17 ") == keccak(text="转账 2026-11-23 #17")


def test_quote_states_the_exact_result_and_execute_gives_it(ledger: Ledger) -> None:
    a = exchange_scheme(ledger, value=3000)
    b = exchange_scheme(ledger, value=2000, issuer="issuer-culture")
    member = holder(ledger, a, 10)
    proxy = ledger.operator("issuer-vol")
    grant_proxy(ledger, member.address)
    q = ledger.exchange.quote(
        member=member.address, from_scheme=a.code, to_scheme=b.code, amount="4", actor=proxy.address
    )
    assert q.ok and (q.used, q.out, q.kept, q.value, q.dust) == (4, 6, 0, 12000, 0)
    q = ledger.exchange.quote(
        member=member.address, from_scheme=a.code, to_scheme=b.code, amount=3, actor=proxy.address
    )
    assert (q.used, q.out, q.kept, q.value, q.dust) == (3, 4, 0, 8000, 1000)
    text = "\n".join(q.lines())
    assert f"gives 3 {a.code} points and receives 4 {b.code} points" in text
    assert (
        f"1.000 standard units are below one {b.code} point and stay with {a.code}'s issuer" in text
    )
    assert "--values 3000:2000" in text
    r = exchange(ledger, member, a.code, b.code, 3, values=q.values, actor=proxy)
    assert (r.used, r.out, r.value, r.dust) == (q.used, q.out, q.value, q.dust)
    assert ledger.points.balances(member.address, [a.id, b.id]) == {a.id: 7, b.id: 4}


def test_a_quote_for_an_actor_without_the_grant_names_the_refusal(ledger: Ledger) -> None:
    a = exchange_scheme(ledger)
    b = exchange_scheme(ledger, issuer="issuer-culture")
    member = holder(ledger, a, 10)
    stranger = ledger.operator("issuer-bee").address
    q = ledger.exchange.quote(
        member=member.address, from_scheme=a.id, to_scheme=b.id, amount=5, actor=stranger
    )
    assert not q.ok and q.problem is not None
    assert isinstance(q.problem, NotAuthorized) and q.problem.error == "ExchangeUnauthorized"
    assert "refused: " in "\n".join(q.lines())


def test_a_stale_quote_fails_nothing_changes_and_the_refusal_is_written_down(
    ledger: Ledger,
) -> None:
    a = exchange_scheme(ledger, value=1000)
    b = exchange_scheme(ledger, value=1000, issuer="issuer-culture")
    member = holder(ledger, a, 30)
    proxy = ledger.operator("issuer-vol")
    grant_proxy(ledger, member.address)
    q = ledger.exchange.quote(member=member.address, from_scheme=a.id, to_scheme=b.id, amount=10)
    change_value(ledger, a, 1500)
    before = exchange_state(ledger, [a, b], [member.address])
    last = last_refusal_id(ledger)
    with pytest.raises(StaleQuote, match="the quote is stale") as info:
        exchange(ledger, member, a.id, b.id, 10, values=q.values, actor=proxy)
    assert info.value.args_by_name["fromValue"] == 1500
    assert_unchanged(before, exchange_state(ledger, [a, b], [member.address]))
    assert_refusal_logged(ledger, last, actor=proxy.address, action="exchange", exc=info.value)
    fresh = ledger.exchange.quote(
        member=member.address, from_scheme=a.id, to_scheme=b.id, amount=10
    )
    assert fresh.out == 15
    exchange(ledger, member, a.id, b.id, 10, values=fresh.values, actor=proxy)
    assert ledger.points.balance_of(member.address, b.id) == 15


@pytest.mark.parametrize("amount", ["0", "-5", "abc", str(2**88), "1.5"])
def test_bad_amounts_are_refused_before_anything_is_sent(ledger: Ledger, amount: str) -> None:
    a = exchange_scheme(ledger)
    b = exchange_scheme(ledger, issuer="issuer-culture")
    member = holder(ledger, a, 10)
    grant_proxy(ledger, member.address)
    before = exchange_state(ledger, [a, b], [member.address])
    with pytest.raises(InvalidAmount):
        exchange(ledger, member, a.id, b.id, amount, values="1000:1000")
    with pytest.raises(InvalidAmount):
        ledger.exchange.quote(
            member=member.address, from_scheme=a.id, to_scheme=b.id, amount=amount
        )
    assert_unchanged(before, exchange_state(ledger, [a, b], [member.address]))


def test_limits_in_standard_units_keep_what_is_not_given(ledger: Ledger) -> None:
    a = exchange_scheme(ledger)
    assert set_limits(ledger, a, min_value="1.5", member_daily=20) == ExchangeLimits(
        min_value=1500, member_daily=20_000
    )
    assert set_limits(ledger, a, scheme_daily_in="0.001") == ExchangeLimits(
        min_value=1500, member_daily=20_000, scheme_daily_in=1
    )
    with pytest.raises(InvalidAmount, match="larger than the maximum"):
        ledger.exchange.limits_call(scheme=a.id, member_daily=str(2**48))
    with pytest.raises(InvalidAmount):
        ledger.exchange.limits_call(scheme=a.id, member_daily="-1")


def chain_day(ledger: Ledger, block: int | str) -> str:
    """The day in China of a block's timestamp."""
    stamp = ledger.w3.eth.get_block(block)["timestamp"]  # type: ignore[arg-type]
    return datetime.fromtimestamp(stamp, CST).date().isoformat()


def test_settlements_and_the_clearing_statement(ledger: Ledger) -> None:
    a = exchange_scheme(ledger, value=1000, issuer="issuer-green")
    b = exchange_scheme(ledger, value=500, issuer="issuer-culture")
    member = holder(ledger, a, 100, (b, 100))
    grant_proxy(ledger, member.address)
    green, culture = ledger.operator("issuer-green"), ledger.operator("issuer-culture")

    start_block = ledger.w3.eth.block_number
    exchange(ledger, member, a.id, b.id, 10)  # green owes culture 10.000
    exchange(ledger, member, b.id, a.id, 4)  # culture owes green 2.000: netted
    assert ledger.exchange_contract.owed(a.id, b.id) == (8000, 0)
    s = ledger.exchange.record_settlement(
        issuer=green, payer=a.code, payee=b.code, amount="5.5", reference="银行转账 0001"
    )
    assert (s.status, s.amount, s.payment_ref) == (
        SettlementStatus.PENDING,
        5500,
        keccak(text="银行转账 0001"),
    )
    before = exchange_state(ledger, [a, b], [member.address])
    with pytest.raises(NotAuthorized, match="is not the issuer of scheme"):
        ledger.exchange.confirm_settlement(issuer=green, settlement_id=s.id)
    assert_unchanged(before, exchange_state(ledger, [a, b], [member.address]))
    with pytest.raises(InvalidAmount):
        ledger.exchange.record_settlement(
            issuer=green, payer=a.code, payee=b.code, amount="0", reference="x"
        )
    with pytest.raises(InputError, match="reference"):
        ledger.exchange.record_settlement(
            issuer=green, payer=a.code, payee=b.code, amount="1", reference="  "
        )
    assert ledger.exchange.confirm_settlement(issuer=culture, settlement_id=s.id).status is (
        SettlementStatus.CONFIRMED
    )
    assert next(x.id for x in ledger.exchange.settlements(status="confirmed")) == s.id
    with pytest.raises(InputError, match="settlement status"):
        ledger.exchange.settlements(status="done")

    st = ledger.exchange.statement(from_block=start_block)
    by_issuer = {ln.issuer: ln for ln in st.lines}
    g, c = by_issuer[green.address], by_issuer[culture.address]
    # the day of the chain's clock (the shared node's runs ahead of this machine's; near midnight
    # in China the two name different days)
    assert g.period in {chain_day(ledger, start_block + 1), chain_day(ledger, "latest")}
    assert (g.owed_by, g.owed_to, g.paid, g.received, g.net) == (10_000, 2000, 5500, 0, -2500)
    assert (c.owed_by, c.owed_to, c.paid, c.received, c.net) == (2000, 10_000, 0, 5500, 2500)
    positions = {p.scheme.id: p.net for p in st.positions}
    assert (positions[a.id], positions[b.id]) == (-2500, 2500)
    assert sum(positions.values()) == 0
    assert (a.code, b.code, 2500, 0) in st.owed
    month = ledger.exchange.statement(period="month", from_block=start_block)
    assert {ln.issuer: ln.net for ln in month.lines} == {
        green.address: -2500,
        culture.address: 2500,
    }
    assert ledger.exchange.statement(from_block=start_block, start="2099-01-01").lines == ()
    with pytest.raises(InputError):
        ledger.exchange.statement(period="week")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="before its --from"):
        ledger.exchange.statement(start="2026-11-02", end="2026-11-01")


def test_a_payment_reference_names_one_payment(ledger: Ledger) -> None:
    a = exchange_scheme(ledger, value=1000, issuer="issuer-green")
    b = exchange_scheme(ledger, value=1000, issuer="issuer-culture")
    member = holder(ledger, a, 50)
    grant_proxy(ledger, member.address)
    exchange(ledger, member, a.id, b.id, 20)
    green = ledger.operator("issuer-green")
    reference = f"网银转账 {secrets.token_hex(4)}"
    first = ledger.exchange.record_settlement(
        issuer=green, payer=a.id, payee=b.id, amount=3, reference=reference
    )
    again = ledger.exchange.record_settlement(
        issuer=green, payer=a.id, payee=b.id, amount="3.000", reference=reference
    )
    assert again.id == first.id
    assert ledger.exchange_contract.owed(a.id, b.id) == (20_000, 3000)
    assert ledger.exchange.reference_of(first) == reference
    with pytest.raises(InputError, match="already names a payment"):
        ledger.exchange.record_settlement(
            issuer=green, payer=a.id, payee=b.id, amount=4, reference=reference
        )
    ledger.exchange.cancel_settlement(issuer=green, settlement_id=first.id)
    renewed = ledger.exchange.record_settlement(
        issuer=green, payer=a.id, payee=b.id, amount=3, reference=reference
    )
    assert renewed.id != first.id and renewed.status is SettlementStatus.PENDING

    # a refused settlement leaves nothing behind, and is written down
    other = f"转账 {secrets.token_hex(4)}"
    before = exchange_state(ledger, [a, b], [member.address])
    last = last_refusal_id(ledger)
    with pytest.raises(ContractRevert, match="is more") as info:
        ledger.exchange.record_settlement(
            issuer=green, payer=a.id, payee=b.id, amount=100, reference=other
        )
    assert_unchanged(before, exchange_state(ledger, [a, b], [member.address]))
    assert_refusal_logged(
        ledger, last, actor=green.address, action="record-settlement", exc=info.value
    )
    with session(ledger.engine) as db:
        key = "0x" + keccak(text=other).hex()
        assert (
            db.exec(select(PaymentReference).where(PaymentReference.reference_hash == key)).first()
            is None
        )
