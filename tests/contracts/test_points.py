"""PointsLedger: every scheme's points per member, read as ERC-1155, issued only by the contracts
that hold ISSUANCE_ROLE, within each scheme's quota, to active members only; never transferable
through ERC-1155."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account

from ledger.chain.contracts import Scheme
from ledger.errors import (
    ContractRevert,
    InvalidRequest,
    NotAMember,
    NotAuthorized,
    QuotaExceeded,
    StateConflict,
    UnknownScheme,
)
from ledger.ledger import Ledger
from tests.contracts.governance import govern, open_proposal
from tests.contracts.helpers import (
    MAX_BALANCE,
    MAX_UINT128,
    NO_STANDING,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    events,
    raw_call,
    role_id,
    send,
    source,
)
from tests.contracts.refusals import points_frozen, points_over_max, reverts
from tests.factories import Member, new_member, new_scheme
from tests.probes import issue_points, minter, probe_address


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    """A scheme with a large quota, shared by tests that check only their own members' balances."""
    return new_scheme(ledger)


def points_state(ledger: Ledger, scheme_id: int, *addresses: str) -> tuple[Any, ...]:
    """What a refusal must leave as it was: balances, supply, issued total and quota left."""
    p = ledger.points
    return (
        [p.balance_of(a, scheme_id) for a in addresses],
        p.total_supply(scheme_id),
        p.issued(scheme_id),
        p.remaining_quota(scheme_id),
    )


def current_period(ledger: Ledger, scheme_id: int) -> int:
    return ledger.points.current_period(scheme_id)


def issued_in_period(ledger: Ledger, scheme_id: int, period: int) -> int:
    assert period == current_period(ledger, scheme_id), "only the current window is kept"
    return ledger.points.quota_used(scheme_id)


# --- ERC-1155 reads ------------------------------------------------------------------------------


def test_balances_read_through_erc1155(ledger: Ledger, scheme: Scheme) -> None:
    other = new_scheme(ledger)
    first, second = new_member(ledger), new_member(ledger)
    issue_points(ledger, first.address, scheme.id, 10, source())
    issue_points(ledger, first.address, other.id, 3, source())
    issue_points(ledger, second.address, scheme.id, 4, source())
    fns = ledger.points.contract.functions

    assert fns.balanceOf(first.address, scheme.id).call() == 10
    assert fns.balanceOf(second.address, other.id).call() == 0
    assert fns.balanceOfBatch(
        [first.address, first.address, second.address, second.address],
        [scheme.id, other.id, scheme.id, other.id],
    ).call() == [10, 3, 4, 0]
    assert ledger.points.total_supply(other.id) == 3
    assert fns.exists(other.id).call() is True
    assert fns.isApprovedForAll(first.address, second.address).call() is False


def test_a_scheme_without_points_does_not_exist_as_a_token(ledger: Ledger) -> None:
    fresh = new_scheme(ledger)
    fns = ledger.points.contract.functions

    assert (ledger.points.total_supply(fresh.id), fns.exists(fresh.id).call()) == (0, False)

    issue_points(ledger, new_member(ledger).address, fresh.id, 1, source())

    assert (ledger.points.total_supply(fresh.id), fns.exists(fresh.id).call()) == (1, True)


def test_the_metadata_uri_is_the_apis_http_template(ledger: Ledger, scheme: Scheme) -> None:
    """Deployed under VPL_PUBLIC_URL, with `{id}` left for wallets to fill in (EIP-1155)."""
    expected = f"{ledger.settings.public_url}/v1/metadata/{{id}}.json"
    assert ledger.points.uri(scheme.id) == ledger.network.metadata_uri == expected


@pytest.mark.parametrize(
    ("interface", "supported"),
    [
        ("0xd9b67a26", True),  # ERC-1155
        ("0x0e89341c", True),  # ERC-1155 metadata URI
        ("0x01ffc9a7", True),  # ERC-165
        ("0x7965db0b", True),  # AccessControl
        ("0xffffffff", False),  # never, per ERC-165
        ("0x80ac58cd", False),  # ERC-721
    ],
)
def test_supported_interfaces(ledger: Ledger, interface: str, supported: bool) -> None:
    fn = ledger.points.contract.functions.supportsInterface(bytes.fromhex(interface[2:]))
    assert fn.call() is supported


# --- issuance ------------------------------------------------------------------------------------


def test_an_issuance_emits_transfer_single_and_points_issued_with_its_source(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    cause = source()
    before = points_state(ledger, scheme.id, member.address)

    result = issue_points(ledger, member.address, scheme.id, 25, cause)

    assert events(ledger.points, result, "TransferSingle") == [
        {
            "operator": probe_address(ledger),
            "from": ZERO_ADDRESS,
            "to": member.address,
            "id": scheme.id,
            "value": 25,
        }
    ]
    assert events(ledger.points, result, "PointsIssued") == [
        {
            "schemeId": scheme.id,
            "member": member.address,
            "source": cause,
            "amount": 25,
            "period": current_period(ledger, scheme.id),
            "operator": probe_address(ledger),
        }
    ]
    balances, supply, issued, remaining = before
    assert points_state(ledger, scheme.id, member.address) == (
        [balances[0] + 25],
        supply + 25,
        issued + 25,
        remaining - 25,
    )


@pytest.mark.parametrize("who", ["issuer-vol", "council-1", "registrar"])
def test_only_the_issuance_role_issues_points(
    ledger: Ledger, scheme: Scheme, member: Member, who: str
) -> None:
    """Not even the scheme's own issuer: points are due only through an approved record."""
    sender = ledger.operator(who)
    before = points_state(ledger, scheme.id, member.address)

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": sender.address, "neededRole": role_id("issuance")},
    ):
        ledger.points.issue(sender, member.address, scheme.id, 10, source())

    assert points_state(ledger, scheme.id, member.address) == before


def test_points_cannot_be_issued_to_an_unregistered_address(ledger: Ledger, scheme: Scheme) -> None:
    stranger = Account.create().address
    before = points_state(ledger, scheme.id, stranger)

    with reverts(NotAMember, "PointsNotAMember", {"account": stranger}):
        issue_points(ledger, stranger, scheme.id, 10, source())

    assert points_state(ledger, scheme.id, stranger) == before


def test_points_cannot_be_issued_to_a_frozen_member_until_unfrozen(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    registrar = ledger.operator("registrar")
    ledger.freeze_member(registrar=registrar, address=member.address, reason=2)
    before = points_state(ledger, scheme.id, member.address)

    with reverts(*points_frozen(member.address)):
        issue_points(ledger, member.address, scheme.id, 10, source())

    assert points_state(ledger, scheme.id, member.address) == before
    ledger.unfreeze_member(registrar=registrar, address=member.address, reason=1)
    issue_points(ledger, member.address, scheme.id, 10, source())
    assert ledger.points.balance_of(member.address, scheme.id) == 10


@pytest.mark.parametrize(
    "amount", [0, MAX_BALANCE + 1, MAX_UINT128], ids=["zero", "2^88", "2^128-1"]
)
def test_an_amount_outside_1_to_2_88_minus_1_is_refused(
    ledger: Ledger, scheme: Scheme, member: Member, amount: int
) -> None:
    before = points_state(ledger, scheme.id, member.address)

    with reverts(InvalidRequest, "PointsInvalidAmount", {"amount": amount}):
        issue_points(ledger, member.address, scheme.id, amount, source())

    assert points_state(ledger, scheme.id, member.address) == before


def test_the_largest_balance_is_issued_within_a_quota_as_large_and_cannot_grow(
    ledger: Ledger, member: Member
) -> None:
    """A balance is 88 bits of the member's account word: it never wraps into the standing."""
    huge = new_scheme(ledger, quota=MAX_UINT128)

    issue_points(ledger, member.address, huge.id, MAX_BALANCE, source())

    assert points_state(ledger, huge.id, member.address) == (
        [MAX_BALANCE],
        MAX_BALANCE,
        MAX_BALANCE,
        MAX_UINT128 - MAX_BALANCE,
    )
    assert ledger.points.standing(member.address, huge.id) == replace(
        NO_STANDING, balance=MAX_BALANCE
    )
    before = points_state(ledger, huge.id, member.address)
    with reverts(*points_over_max(member.address, huge.id, MAX_BALANCE + 1, MAX_BALANCE)):
        issue_points(ledger, member.address, huge.id, 1, source())
    assert points_state(ledger, huge.id, member.address) == before


def test_points_without_a_source_are_refused(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    before = points_state(ledger, scheme.id, member.address)

    with reverts(ContractRevert, "PointsInvalidSource", {"source": ZERO_BYTES32}):
        issue_points(ledger, member.address, scheme.id, 10, b"\x00" * 32)

    assert points_state(ledger, scheme.id, member.address) == before


def test_points_of_an_unknown_scheme_are_refused(ledger: Ledger, member: Member) -> None:
    unknown = ledger.schemes.scheme_count() + 1

    with reverts(UnknownScheme, "SchemeUnknown", {"schemeId": unknown}):
        issue_points(ledger, member.address, unknown, 10, source())

    assert ledger.points.balance_of(member.address, unknown) == 0


# --- quota ---------------------------------------------------------------------------------------


def test_a_scheme_cannot_issue_past_its_quota_in_a_period(ledger: Ledger) -> None:
    capped = new_scheme(ledger, quota=100)
    first, second = new_member(ledger), new_member(ledger)
    period = current_period(ledger, capped.id)

    issue_points(ledger, first.address, capped.id, 60, source())

    assert ledger.points.remaining_quota(capped.id) == 40
    assert issued_in_period(ledger, capped.id, period) == 60
    before = points_state(ledger, capped.id, first.address, second.address)
    with reverts(
        QuotaExceeded,
        "PointsQuotaExceeded",
        {"schemeId": capped.id, "period": period, "requested": 41, "remaining": 40},
    ):
        issue_points(ledger, second.address, capped.id, 41, source())
    assert points_state(ledger, capped.id, first.address, second.address) == before

    issue_points(ledger, second.address, capped.id, 40, source())

    assert ledger.points.remaining_quota(capped.id) == 0
    assert issued_in_period(ledger, capped.id, period) == 100
    with reverts(
        QuotaExceeded,
        "PointsQuotaExceeded",
        {"schemeId": capped.id, "period": period, "requested": 1, "remaining": 0},
    ):
        issue_points(ledger, first.address, capped.id, 1, source())
    assert points_state(ledger, capped.id, first.address, second.address) == ([60, 40], 100, 100, 0)


def test_a_quota_change_by_the_council_applies_to_the_current_period(
    ledger: Ledger, member: Member
) -> None:
    capped = new_scheme(ledger, quota=100)
    period = current_period(ledger, capped.id)
    issue_points(ledger, member.address, capped.id, 100, source())

    govern(ledger, [ledger.schemes.set_quota_call(capped.id, 80, capped.quota_period)])

    assert ledger.points.remaining_quota(capped.id) == 0
    with reverts(
        QuotaExceeded,
        "PointsQuotaExceeded",
        {"schemeId": capped.id, "period": period, "requested": 1, "remaining": 0},
    ):
        issue_points(ledger, member.address, capped.id, 1, source())

    govern(ledger, [ledger.schemes.set_quota_call(capped.id, 150, capped.quota_period)])

    assert ledger.points.remaining_quota(capped.id) == 50
    issue_points(ledger, member.address, capped.id, 50, source())
    assert points_state(ledger, capped.id, member.address) == ([150], 150, 150, 0)


def test_a_changed_quota_period_carries_the_use_of_the_running_window(
    ledger: Ledger, member: Member
) -> None:
    capped = new_scheme(ledger, quota=100)
    issue_points(ledger, member.address, capped.id, 100, source())

    govern(ledger, [ledger.schemes.set_quota_call(capped.id, 100, capped.quota_period * 2)])

    assert ledger.points.quota_used(capped.id) == 100
    assert ledger.points.remaining_quota(capped.id) == 0
    with reverts(
        QuotaExceeded,
        "PointsQuotaExceeded",
        {
            "schemeId": capped.id,
            "period": current_period(ledger, capped.id),
            "requested": 1,
            "remaining": 0,
        },
    ):
        issue_points(ledger, member.address, capped.id, 1, source())


def test_a_source_is_paid_once(ledger: Ledger, scheme: Scheme, member: Member) -> None:
    paid = source()
    issue_points(ledger, member.address, scheme.id, 5, paid)
    before = points_state(ledger, scheme.id, member.address)

    with reverts(StateConflict, "PointsSourceAlreadyPaid", {"source": "0x" + paid.hex()}):
        issue_points(ledger, member.address, scheme.id, 5, paid)

    assert ledger.points.is_paid(paid)
    assert points_state(ledger, scheme.id, member.address) == before


def test_total_supply_is_the_sum_of_balances_after_several_issuances(ledger: Ledger) -> None:
    fresh = new_scheme(ledger, quota=10_000)
    members = [new_member(ledger) for _ in range(3)]
    amounts = [(0, 5), (1, 70), (0, 11), (2, 300), (1, 1)]

    for who, amount in amounts:
        issue_points(ledger, members[who].address, fresh.id, amount, source())

    held = [ledger.points.balance_of(m.address, fresh.id) for m in members]
    assert held == [16, 71, 300]
    assert ledger.points.total_supply(fresh.id) == sum(held) == ledger.points.issued(fresh.id)
    assert ledger.points.burned(fresh.id) == 0
    assert ledger.points.remaining_quota(fresh.id) == 10_000 - sum(held)


def all_supplies(ledger: Ledger) -> dict[int, tuple[int, int, int]]:
    """Every scheme's (totalSupply, issued, burned)."""
    p = ledger.points
    return {
        sid: (p.total_supply(sid), p.issued(sid), p.burned(sid))
        for sid in range(1, ledger.schemes.scheme_count() + 1)
    }


def test_total_supply_of_a_scheme_is_issued_minus_burned_and_the_total_sums_every_scheme(
    ledger: Ledger,
) -> None:
    """Holds for every scheme on the chain, including those other tests corrected downwards."""
    first, second = new_scheme(ledger), new_scheme(ledger)
    member = new_member(ledger)
    total = ledger.points.contract.functions.totalSupply()
    before = total.call()

    issue_points(ledger, member.address, first.id, 40, source())
    issue_points(ledger, member.address, second.id, 2, source())
    issue_points(ledger, member.address, first.id, 3, source())

    supplies = all_supplies(ledger)
    assert (supplies[first.id], supplies[second.id]) == ((43, 43, 0), (2, 2, 0))
    # points created by exchanges (exchange-in) count too: supply = issued + minted - burned
    minted = {sid: ledger.points.minted(sid) for sid in supplies}
    assert all(
        supply == issued + minted[sid] - burned
        for sid, (supply, issued, burned) in supplies.items()
    )
    assert total.call() == sum(supply for supply, _, _ in supplies.values()) == before + 45


# --- no free transfers ---------------------------------------------------------------------------


def _transfer(fn: str, giver: str, taker: str, scheme_id: int) -> tuple[list[Any], dict[str, str]]:
    """The arguments of an ERC-1155 transfer function, and the refusal's (from, to)."""
    if fn == "safeTransferFrom":
        return [giver, taker, scheme_id, 1, b""], {"from": giver, "to": taker}
    if fn == "safeBatchTransferFrom":
        return [giver, taker, [scheme_id], [1], b""], {"from": giver, "to": taker}
    return [taker, True], {"from": giver, "to": taker}  # setApprovalForAll: (owner, operator)


@pytest.mark.parametrize("fn", ["safeTransferFrom", "safeBatchTransferFrom", "setApprovalForAll"])
def test_erc1155_transfers_are_refused_even_between_members(
    ledger: Ledger, scheme: Scheme, fn: str
) -> None:
    giver, taker = new_member(ledger), new_member(ledger)
    issue_points(ledger, giver.address, scheme.id, 10, source())
    a, b = giver.address, taker.address
    args, refused = _transfer(fn, a, b, scheme.id)
    call = raw_call(ledger.points, fn, *args)
    before = points_state(ledger, scheme.id, a, b)

    with reverts(ContractRevert, "PointsTransferNotAllowed", refused):
        send(ledger, giver.account, call)

    assert points_state(ledger, scheme.id, a, b) == before
    assert ledger.points.contract.functions.isApprovedForAll(a, b).call() is False


def test_a_mined_transfer_is_refused_by_the_chain_itself(ledger: Ledger, scheme: Scheme) -> None:
    """Past the simulation, the transaction is mined and reverts: the chain enforces it."""
    giver, taker = new_member(ledger), new_member(ledger)
    issue_points(ledger, giver.address, scheme.id, 10, source())
    call = raw_call(
        ledger.points, "safeTransferFrom", giver.address, taker.address, scheme.id, 5, b""
    )
    before = points_state(ledger, scheme.id, giver.address, taker.address)

    with reverts(
        ContractRevert, "PointsTransferNotAllowed", {"from": giver.address, "to": taker.address}
    ) as refused:
        send(ledger, minter(), call, mined=True)

    assert "tx_hash" in refused.value.details
    assert points_state(ledger, scheme.id, giver.address, taker.address) == before


@pytest.mark.parametrize("who", ["council-1", "registrar", "issuer-vol", "member"])
def test_balances_are_moved_only_by_the_member_registry(
    ledger: Ledger, scheme: Scheme, member: Member, who: str
) -> None:
    issue_points(ledger, member.address, scheme.id, 10, source())
    caller = member.account if who == "member" else ledger.operator(who)
    successor = Account.create().address
    call = raw_call(ledger.points, "recoverBalances", member.address, successor)
    before = points_state(ledger, scheme.id, member.address, successor)

    with reverts(ContractRevert, "PointsUnauthorizedCaller", {"caller": caller.address}):
        send(ledger, caller, call)

    assert points_state(ledger, scheme.id, member.address, successor) == before


def test_not_even_the_council_moves_balances_without_a_recovery(
    ledger: Ledger, scheme: Scheme, member: Member
) -> None:
    issue_points(ledger, member.address, scheme.id, 10, source())
    successor = Account.create().address
    pid = open_proposal(
        ledger, [raw_call(ledger.points, "recoverBalances", member.address, successor)]
    )
    before = points_state(ledger, scheme.id, member.address, successor)

    with reverts(ContractRevert, "PointsUnauthorizedCaller", {"caller": ledger.council.address}):
        ledger.execute(member=ledger.operator("council-1"), proposal_id=pid)

    assert points_state(ledger, scheme.id, member.address, successor) == before
