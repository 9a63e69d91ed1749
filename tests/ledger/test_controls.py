"""Emergency and compliance controls through ``ledger.spending.controls``: policy, pause, frozen points
and expiry, against a real node."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme
from ledger.chain.contracts.schemes import Policy
from ledger.errors import (
    InputError,
    InsufficientBalance,
    InvalidAmount,
    LimitExceeded,
    NotAuthorized,
    Paused,
    StateConflict,
)
from ledger.ledger import Ledger
from ledger.spending.controls import case_ref, month_of, month_start
from tests.contracts.governance import govern
from tests.contracts.helpers import events, send, source
from tests.contracts.refusals import reverts
from tests.earning_helpers import fund
from tests.factories import Member, new_member, new_scheme
from tests.probes import issue_points


def state(ledger: Ledger, scheme_id: int, *members: str) -> tuple[Any, ...]:
    p = ledger.points
    return (
        p.total_supply(scheme_id),
        p.issued(scheme_id),
        p.burned(scheme_id),
        tuple(
            (p.balance_of(m, scheme_id), p.available_of(m, scheme_id), p.frozen_of(m, scheme_id))
            for m in members
        ),
        tuple(tuple(p.lots_of(m, scheme_id)) for m in members),
    )


@pytest.fixture
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger)


def test_months_count_from_january_1970_in_china_standard_time() -> None:
    assert month_of(date(1970, 1, 31)) == 0
    assert month_of(date(2026, 11, 23)) == 56 * 12 + 10
    assert month_start(month_of(date(2028, 2, 29))) == date(2028, 2, 1)
    assert case_ref(" CASE-1 ") == case_ref("CASE-1")
    with pytest.raises(InputError, match="case reference"):
        case_ref("  ")


def test_the_contract_and_python_agree_on_the_month(ledger: Ledger) -> None:
    block = ledger.w3.eth.get_block("latest")
    # The ledger counts China Standard Time (UTC+8).
    cst = date.fromordinal(date(1970, 1, 1).toordinal() + (block["timestamp"] + 8 * 3600) // 86400)
    assert ledger.points.current_month() == month_of(cst)


# --- policy --------------------------------------------------------------------------------------


def test_the_council_sets_a_policy_and_options_left_out_keep_their_setting(
    ledger: Ledger, scheme: Scheme
) -> None:
    c = ledger.controls
    result = govern(ledger, [c.policy_call(scheme=scheme.code, max_balance=500, expiry_months=24)])
    assert ledger.schemes.policy_of(scheme.id) == Policy(500, 24, 0)
    assert events(ledger.schemes, result, "PolicyChanged") == [
        {"schemeId": scheme.id, "maxBalance": 500, "expiryMonths": 24, "supplyLimit": 0}
    ]
    govern(ledger, [c.policy_call(scheme=scheme.code, supply_limit=1_000)])
    assert ledger.schemes.policy_of(scheme.id) == Policy(500, 24, 1_000)
    govern(ledger, [c.policy_call(scheme=scheme.code, max_balance="none")])
    assert ledger.schemes.policy_of(scheme.id) == Policy(0, 24, 1_000)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("expiry_months", 1201, "larger than the maximum 1200"),
        ("max_balance", -1, "must be a whole number|positive"),
        ("supply_limit", "lots", "not a whole number"),
        ("max_balance", 2**88, "larger than the maximum"),
    ],
)
def test_a_bad_policy_is_refused_before_anything_is_sent(
    ledger: Ledger, scheme: Scheme, option: str, value: Any, message: str
) -> None:
    with pytest.raises(InvalidAmount, match=message):
        ledger.controls.policy_call(scheme=scheme.code, **{option: value})
    assert ledger.schemes.policy_of(scheme.id) == Policy()


def test_a_member_cannot_grow_past_the_maximum_balance_nor_a_scheme_past_its_supply_limit(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    c = ledger.controls
    govern(ledger, [c.policy_call(scheme=scheme.code, max_balance=100, supply_limit=150)])
    issue_points(ledger, member.address, scheme.id, 100, source())
    before = state(ledger, scheme.id, member.address)
    with reverts(
        LimitExceeded,
        "PointsMaxBalance",
        {"member": member.address, "schemeId": scheme.id, "balance": 101, "maxBalance": 100},
    ):
        issue_points(ledger, member.address, scheme.id, 1, source())
    other = new_member(ledger)
    with reverts(
        LimitExceeded,
        "PointsSupplyLimit",
        {"schemeId": scheme.id, "supply": 100, "requested": 51, "limit": 150},
    ):
        issue_points(ledger, other.address, scheme.id, 51, source())
    assert state(ledger, scheme.id, member.address) == before
    issue_points(ledger, other.address, scheme.id, 50, source())
    assert ledger.points.total_supply(scheme.id) == 150


# --- pause ---------------------------------------------------------------------------------------


def test_a_paused_scheme_refuses_writes_but_reads_work_until_the_council_resumes_it(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    c = ledger.controls
    issue_points(ledger, member.address, scheme.id, 10, source())
    result = govern(ledger, [c.pause_call(scheme.code)])
    assert events(ledger.schemes, result, "Paused") == [
        {"schemeId": scheme.id, "by": ledger.council.address}
    ]
    assert ledger.schemes.is_paused(scheme.id)
    before = state(ledger, scheme.id, member.address)
    with reverts(Paused, "PointsPaused", {"schemeId": scheme.id}):
        issue_points(ledger, member.address, scheme.id, 5, source())
    # Reads keep working.
    assert ledger.points.balance_of(member.address, scheme.id) == 10
    assert ledger.scheme(scheme.id).code == scheme.code
    assert state(ledger, scheme.id, member.address) == before
    # Another scheme is unaffected.
    other = new_scheme(ledger)
    issue_points(ledger, member.address, other.id, 5, source())

    govern(ledger, [c.resume_call(scheme.code)])
    assert not ledger.schemes.is_paused(scheme.id)
    issue_points(ledger, member.address, scheme.id, 5, source())
    assert ledger.points.balance_of(member.address, scheme.id) == 15


def test_pausing_every_scheme_stops_them_all_with_scheme_zero_named(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    c = ledger.controls
    govern(ledger, [c.pause_call("all")])
    try:
        assert ledger.schemes.is_paused(scheme.id) and ledger.schemes.is_paused(0)
        with reverts(Paused, "PointsPaused", {"schemeId": 0}):
            issue_points(ledger, member.address, scheme.id, 5, source())
    finally:
        govern(ledger, [c.resume_call("all")])
    issue_points(ledger, member.address, scheme.id, 5, source())


def test_a_pauser_pauses_at_once_but_only_the_council_resumes(
    ledger: Ledger, scheme: Scheme
) -> None:
    pauser = Account.create()
    fund(ledger, pauser.address)
    c = ledger.controls
    stranger = Account.create()
    fund(ledger, stranger.address)
    with pytest.raises(NotAuthorized, match="pauser"):
        c.pause(stranger, scheme.code)
    govern(ledger, [ledger.role_call(role_name="pauser", account=pauser.address, grant=True)])
    result = c.pause(pauser, scheme.code)
    assert events(ledger.schemes, result, "Paused") == [
        {"schemeId": scheme.id, "by": pauser.address}
    ]
    with reverts(StateConflict, "SchemeAlreadyPaused", {"schemeId": scheme.id}):
        c.pause(pauser, scheme.code)
    with pytest.raises(NotAuthorized):
        send(ledger, pauser, c.resume_call(scheme.code))
    assert ledger.schemes.is_paused(scheme.id)
    govern(ledger, [c.resume_call(scheme.code)])
    assert not ledger.schemes.is_paused(scheme.id)


# --- frozen points -------------------------------------------------------------------------------


def test_the_issuer_freezes_part_of_a_balance_and_releases_it(
    ledger: Ledger, scheme: Scheme, member: Member, issuer: LocalAccount
) -> None:
    c = ledger.controls
    issue_points(ledger, member.address, scheme.id, 100, source())
    result = c.freeze(
        issuer=issuer, member=member.address, scheme=scheme.code, amount=30, case="C-1"
    )
    assert events(ledger.points, result, "PointsFrozen") == [
        {
            "schemeId": scheme.id,
            "member": member.address,
            "caseRef": case_ref("C-1"),
            "frozen": 30,
            "by": issuer.address,
        }
    ]
    assert ledger.points.frozen_of(member.address, scheme.id) == 30
    assert ledger.points.available_of(member.address, scheme.id) == 70
    # The balance itself is untouched: frozen points are still the member's.
    assert ledger.points.balance_of(member.address, scheme.id) == 100
    [row] = [b for b in c.balances(member.address) if b.scheme.id == scheme.id]
    assert (row.balance, row.available, row.frozen, row.expiring) == (100, 70, 30, ())

    c.release(issuer=issuer, member=member.address, scheme=scheme.code, amount=10, case="C-1")
    assert ledger.points.frozen_of(member.address, scheme.id) == 20


def test_freezing_is_refused_beyond_the_available_points_and_to_anyone_but_the_issuer(
    ledger: Ledger, scheme: Scheme, member: Member, issuer: LocalAccount
) -> None:
    c = ledger.controls
    issue_points(ledger, member.address, scheme.id, 50, source())
    c.freeze(issuer=issuer, member=member.address, scheme=scheme.code, amount=20, case="C-2")
    before = state(ledger, scheme.id, member.address)
    with reverts(
        InsufficientBalance,
        "PointsInsufficientBalance",
        {"member": member.address, "schemeId": scheme.id, "balance": 30, "needed": 31},
    ):
        c.freeze(issuer=issuer, member=member.address, scheme=scheme.code, amount=31, case="C-2")
    with reverts(
        InsufficientBalance,
        "PointsNotFrozen",
        {"member": member.address, "schemeId": scheme.id, "frozen": 20, "requested": 21},
    ):
        c.release(issuer=issuer, member=member.address, scheme=scheme.code, amount=21, case="C-2")
    other = ledger.operator("issuer-bee")
    with reverts(NotAuthorized, "PointsUnauthorizedCaller", {"caller": other.address}):
        c.freeze(issuer=other, member=member.address, scheme=scheme.code, amount=1, case="C-2")
    with pytest.raises(InvalidAmount):
        c.freeze(issuer=issuer, member=member.address, scheme=scheme.code, amount=0, case="C-2")
    with pytest.raises(InputError, match="case reference"):
        c.freeze(issuer=issuer, member=member.address, scheme=scheme.code, amount=1, case="")
    assert state(ledger, scheme.id, member.address) == before


# --- expiry --------------------------------------------------------------------------------------


def test_points_expire_at_the_start_of_the_month_after_their_last_and_a_sweep_burns_them(
    anvil_ledger: Ledger,
) -> None:
    ledger = anvil_ledger
    c = ledger.controls
    scheme = new_scheme(ledger)
    member = new_member(ledger)
    keeper = new_member(ledger)
    govern(ledger, [c.policy_call(scheme=scheme.code, expiry_months=1)])
    month = ledger.points.current_month()
    issue_points(ledger, member.address, scheme.id, 40, source())
    issue_points(ledger, keeper.address, scheme.id, 5, source())

    [row] = [b for b in c.balances(member.address) if b.scheme.id == scheme.id]
    [lot] = row.expiring
    assert (lot.amount, lot.expires_on, lot.expired) == (40, month_start(month + 2), False)
    assert lot.last_day == date.fromordinal(month_start(month + 2).toordinal() - 1)
    # Nothing is due yet: a sweep sends nothing.
    assert c.expire_due(ledger.operator("council-1"), scheme.code).accounts == 0

    # Two months and a day later the lot's month has begun.
    # (on anvil's own chain; the ganache chain's tests keep their modest clock)
    ledger.w3.provider.make_request("evm_increaseTime", [62 * 86400])  # type: ignore[arg-type]
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert ledger.points.current_month() >= month + 2
    assert ledger.points.balance_of(member.address, scheme.id) == 40
    assert ledger.points.available_of(member.address, scheme.id) == 0
    supply = ledger.points.total_supply(scheme.id)

    sweep = c.expire_due(
        ledger.operator("council-1"), scheme.code, [member.address, keeper.address]
    )
    assert (sweep.accounts, sweep.expired, len(sweep.transactions)) == (2, 45, 1)
    assert ledger.points.balance_of(member.address, scheme.id) == 0
    assert ledger.points.lots_of(member.address, scheme.id) == []
    assert ledger.points.total_supply(scheme.id) == supply - 45
    assert ledger.points.burned(scheme.id) == 45
    # Run again: nothing more is due.
    again = c.expire_due(ledger.operator("council-1"), scheme.code, [member.address])
    assert (again.accounts, again.expired) == (0, 0)
