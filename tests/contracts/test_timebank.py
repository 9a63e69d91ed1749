"""TimeBank: requests for help paid in hours of a time-bank scheme. Posting checks the requester's
balance; acceptance holds the hours; confirmation pays them to the helper as a service record;
cancel, withdraw and a reviewer's split return them. A recorded proxy acts for a member; anybody
else is refused; every refusal changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.points import Lot
from ledger.chain.contracts.timebank import RequestStatus, TimeBankClient, source_of
from ledger.chain.deploy import DEFAULT_ADMIN_ROLE, SPENDING_ROLE
from ledger.errors import (
    ContractRevert,
    InsufficientBalance,
    InvalidRequest,
    MemberFrozen,
    NotAMember,
    NotAuthorized,
    StateConflict,
)
from ledger.ledger import Ledger
from tests.contracts.governance import govern, issue_in_lots
from tests.contracts.helpers import events, send, source, spare
from tests.contracts.refusals import (
    Refusal,
    points_frozen,
    points_paused,
    points_short,
    reverts,
    reverts_unchanged,
)
from tests.earning_helpers import advance, fund, now
from tests.factories import Member, new_member, new_scheme, timebank_scheme
from tests.probes import issue_points

MAX_HOURS = 1000
ZERO = "0x0000000000000000000000000000000000000000"
CLEANING = 3
#: TimeBank's error for a request of more hours than the requester has available.
SHORT = "TimeBankInsufficientBalance"
#: Every member of the module's scheme that ever held hours: the invariant sums their balances.
_HOLDERS: set[str] = set()


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Iterator[Scheme]:
    """A time-bank scheme (1 point = 1 hour) with reviewer-1 as its reviewer."""
    s = timebank_scheme(ledger, flags=SchemeFlag.TIME_BANK | SchemeFlag.GIFTS)
    yield s
    # Per scheme, total supply = sum of balances + held amounts, after every scenario of the module.
    p = ledger.points
    balances = sum(p.balance_of(m, s.id) for m in _HOLDERS)
    assert p.total_supply(s.id) == balances + p.held_total(s.id)


@pytest.fixture
def tb(ledger: Ledger) -> TimeBankClient:
    return ledger.timebank_contract


def member_with(ledger: Ledger, scheme: Scheme, hours: int = 0) -> Member:
    """A fresh member who can sign, holding `hours` of the scheme."""
    m = new_member(ledger)
    fund(ledger, m.address)
    _HOLDERS.add(m.address)
    if hours:
        issue_points(ledger, m.address, scheme.id, hours, source())
    return m


def details() -> bytes:
    return secrets.token_bytes(32)


def post(
    ledger: Ledger, scheme: Scheme, requester: Member, hours: int, *, deadline: int = 0
) -> int:
    tb = ledger.timebank_contract
    result = tb.post(
        requester.account, requester.address, scheme.id, CLEANING, hours, details(), deadline
    )
    return tb.posted_id(result)


def accepted(
    ledger: Ledger, scheme: Scheme, hours: int = 3, balance: int = 10
) -> tuple[int, Member, Member]:
    requester, helper = member_with(ledger, scheme, balance), member_with(ledger, scheme)
    request_id = post(ledger, scheme, requester, hours)
    ledger.timebank_contract.accept(helper.account, request_id, helper.address)
    return request_id, requester, helper


def state(ledger: Ledger, scheme: Scheme, *members: str) -> Callable[[], Any]:
    """What a refusal must leave as it was: requests, balances, holds and supply."""
    tb, p = ledger.timebank_contract, ledger.points

    def snapshot() -> Any:
        count = tb.request_count()
        return (
            count,
            [tb.request(i) for i in range(max(1, count - 5), count + 1)],
            [p.balance_of(m, scheme.id) for m in members],
            p.held_total(scheme.id),
            p.total_supply(scheme.id),
            p.held_by(scheme.id, tb.address),
        )

    return snapshot


def refused(
    ledger: Ledger,
    scheme: Scheme,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *members: str,
) -> AbstractContextManager[Any]:
    """`reverts` plus: nothing in `state` changed."""
    return reverts_unchanged(kind, error, args, state(ledger, scheme, *members))


def not_member_or_proxy(member: str, account: str) -> Refusal:
    """`account` is neither `member` nor their recorded proxy."""
    return NotAuthorized, "TimeBankNotMemberOrProxy", {"member": member, "account": account}


def refused_post(
    ledger: Ledger,
    scheme: Scheme,
    requester: Member,
    hours: int,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
) -> None:
    """A request for `hours` of help is refused with exactly `error` and `args`."""
    with refused(ledger, scheme, kind, error, args, requester.address):
        ledger.timebank_contract.post(
            requester.account, requester.address, scheme.id, CLEANING, hours, details(), 0
        )


def in_status(request_id: int, status: RequestStatus) -> Refusal:
    """The request is `status`, which the step does not take."""
    return StateConflict, "TimeBankInvalidStatus", {"requestId": request_id, "status": status}


# --- the whole path --------------------------------------------------------------------------------


def test_post_accept_confirm_pays_the_helper_as_a_service_record(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester, helper = member_with(ledger, scheme, 10), member_with(ledger, scheme)
    digest = details()
    posted = tb.post(requester.account, requester.address, scheme.id, CLEANING, 3, digest, 0)
    request_id = tb.posted_id(posted)

    assert events(tb, posted, "RequestPosted") == [
        {
            "requestId": request_id,
            "schemeId": scheme.id,
            "requester": requester.address,
            "kind": CLEANING,
            "hoursOffered": 3,
            "detailsHash": digest,
            "deadline": 0,
            "by": requester.address,
        }
    ]
    r = tb.request(request_id)
    assert (r.status, r.hours, r.helper, r.hold_id, r.details_hash) == (
        RequestStatus.OPEN,
        3,
        None,
        None,
        "0x" + digest.hex(),
    )
    assert ledger.points.balance_of(requester.address, scheme.id) == 10  # nothing held yet

    accept = tb.accept(helper.account, request_id, helper.address)
    hold_id = tb.request(request_id).hold_id
    assert hold_id == request_id  # a request numbers its own hold
    held_before = ledger.points.held_by(scheme.id, tb.address)
    assert events(tb, accept, "RequestAccepted") == [
        {"requestId": request_id, "helper": helper.address, "holdId": hold_id, "by": helper.address}
    ]
    assert events(ledger.points, accept, "PointsHeld")[0]["ref"] == source_of(request_id)
    assert ledger.points.balance_of(requester.address, scheme.id) == 7
    held = events(ledger.points, accept, "PointsHeld")[0]
    assert (held["holdId"], held["owner"], held["holder"], held["amount"]) == (
        request_id,
        requester.address,
        tb.address,
        3,
    )
    assert tb.request_lots(request_id) == []  # the scheme's hours never expire

    confirm = tb.confirm(requester.account, request_id)

    assert events(tb, confirm, "RequestConfirmed") == [
        {"requestId": request_id, "by": requester.address}
    ]
    assert events(tb, confirm, "TimeBankServiceRecorded") == [
        {
            "requestId": request_id,
            "schemeId": scheme.id,
            "helper": helper.address,
            "requester": requester.address,
            "hoursPaid": 3,
            "source": source_of(request_id),
        }
    ]
    assert source_of(request_id) == (3 << 248 | request_id).to_bytes(32, "big")
    assert bytes(tb.contract.functions.sourceOf(request_id).call()) == source_of(request_id)
    assert ledger.points.balance_of(helper.address, scheme.id) == 3
    assert ledger.points.balance_of(requester.address, scheme.id) == 7
    assert ledger.points.held_by(scheme.id, tb.address) == held_before - 3
    assert tb.request(request_id).hold_id is None
    assert tb.request(request_id).status is RequestStatus.COMPLETED
    assert [r.request_id for r in tb.service_records(helper=helper.address)] == [request_id]


def test_a_withdrawal_gives_back_the_lots_the_hours_came_from(ledger: Ledger) -> None:
    scheme = timebank_scheme(ledger, flags=SchemeFlag.TIME_BANK)
    requester, helper = member_with(ledger, scheme, 2), member_with(ledger, scheme)
    issue_in_lots(ledger, scheme.id, requester.address, [(12, 3), (24, 4)])
    tb, p = ledger.timebank_contract, ledger.points
    lots = p.lots_of(requester.address, scheme.id)
    for hours, taken in (
        (2, [Lot(lots[0].expiry_month, 2)]),
        (5, [lots[0], Lot(lots[1].expiry_month, 2)]),
    ):
        request_id = post(ledger, scheme, requester, hours)
        tb.accept(helper.account, request_id, helper.address)
        assert tb.request_lots(request_id) == taken  # the oldest lots first
        tb.withdraw(helper.account, request_id)
        assert tb.request_lots(request_id) == []
        assert p.lots_of(requester.address, scheme.id) == lots  # back with their own expiry
        assert p.balance_of(requester.address, scheme.id) == 9


def test_gas_per_post_accept_and_confirm(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient, capsys: pytest.CaptureFixture[str]
) -> None:
    requester, helper = member_with(ledger, scheme, 10), member_with(ledger, scheme, 1)
    gas = {}
    posted = tb.post(requester.account, requester.address, scheme.id, CLEANING, 2, details(), 0)
    gas["post"] = posted.gas_used
    request_id = tb.posted_id(posted)
    gas["accept"] = tb.accept(helper.account, request_id, helper.address).gas_used
    gas["confirm"] = tb.confirm(requester.account, request_id).gas_used
    with capsys.disabled():
        print(f"\ntime bank gas: {gas}")
    assert gas["post"] < 150_000 and gas["accept"] < 250_000 and gas["confirm"] < 150_000


# --- posting -----------------------------------------------------------------------------------


def test_posting_needs_the_hours_available_now(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester = member_with(ledger, scheme, 2)
    args = {"member": requester.address, "schemeId": scheme.id, "available": 2, "needed": 3}
    refused_post(ledger, scheme, requester, 3, InsufficientBalance, SHORT, args)


def test_frozen_points_are_not_available_for_a_request(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester = member_with(ledger, scheme, 5)
    ledger.points.set_frozen(
        ledger.operator("issuer-time"), scheme.id, requester.address, 4, increase=True,
        case_ref=source(),
    )  # fmt: skip
    args = {"member": requester.address, "schemeId": scheme.id, "available": 1, "needed": 2}
    refused_post(ledger, scheme, requester, 2, InsufficientBalance, SHORT, args)


@pytest.mark.parametrize("hours", [0, MAX_HOURS + 1, 2**256 - 1])
def test_zero_or_overflowing_hours_are_refused(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient, hours: int
) -> None:
    requester = member_with(ledger, scheme, 5)
    args = {"hoursOffered": hours, "maxHours": MAX_HOURS}
    refused_post(ledger, scheme, requester, hours, InvalidRequest, "TimeBankInvalidHours", args)


def test_a_request_needs_a_kind_details_and_a_deadline_ahead(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    r = member_with(ledger, scheme, 5)
    a, s = r.account, r.address
    with refused(ledger, scheme, InvalidRequest, "TimeBankInvalidKind", {"kind": 0}, s):
        tb.post(a, s, scheme.id, 0, 1, details(), 0)
    with refused(ledger, scheme, InvalidRequest, "TimeBankInvalidDetails", {}, s):
        tb.post(a, s, scheme.id, CLEANING, 1, bytes(32), 0)
    past = now(ledger) - 10
    with pytest.raises(InvalidRequest) as info:
        tb.post(a, s, scheme.id, CLEANING, 1, details(), past)
    assert info.value.error == "TimeBankInvalidDeadline"
    assert info.value.args_by_name["deadline"] == past


def test_only_time_bank_schemes_take_requests(ledger: Ledger, tb: TimeBankClient) -> None:
    other = new_scheme(ledger, flags=SchemeFlag.GIFTS)
    requester = new_member(ledger)
    fund(ledger, requester.address)
    issue_points(ledger, requester.address, other.id, 5, source())
    with reverts(InvalidRequest, "TimeBankNotTimeBankScheme", {"schemeId": other.id}):
        tb.post(requester.account, requester.address, other.id, CLEANING, 1, details(), 0)


def test_a_frozen_or_unregistered_member_cannot_post(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester = member_with(ledger, scheme, 5)
    registrar = ledger.operator("registrar")
    ledger.freeze_member(registrar=registrar, address=requester.address, reason=1)
    with refused(
        ledger, scheme, MemberFrozen, "TimeBankMemberFrozen", {"member": requester.address}
    ):
        tb.post(requester.account, requester.address, scheme.id, CLEANING, 1, details(), 0)
    ledger.unfreeze_member(registrar=registrar, address=requester.address, reason=1)
    stranger = spare(1)
    with refused(
        ledger, scheme, NotAMember, "TimeBankMemberNotActive", {"member": stranger.address}
    ):
        tb.post(stranger, stranger.address, scheme.id, CLEANING, 1, details(), 0)


# --- accepting -----------------------------------------------------------------------------------


def test_accepting_ones_own_request_is_refused(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester = member_with(ledger, scheme, 5)
    request_id = post(ledger, scheme, requester, 2)
    with refused(
        ledger,
        scheme,
        InvalidRequest,
        "TimeBankSelfHelp",
        {"requestId": request_id, "helper": requester.address},
        requester.address,
    ):
        tb.accept(requester.account, request_id, requester.address)


def test_acceptance_needs_the_hours_still_available(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester, helper = member_with(ledger, scheme, 4), member_with(ledger, scheme)
    first, second = post(ledger, scheme, requester, 3), post(ledger, scheme, requester, 3)
    tb.accept(helper.account, first, helper.address)
    short = points_short(requester.address, scheme.id, 1, 3)
    with refused(ledger, scheme, *short, requester.address, helper.address):
        tb.accept(helper.account, second, helper.address)


def test_a_frozen_helper_or_requester_cannot_take_part(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester, helper = member_with(ledger, scheme, 5), member_with(ledger, scheme)
    request_id = post(ledger, scheme, requester, 2)
    registrar = ledger.operator("registrar")
    parties = (requester.address, helper.address)

    ledger.freeze_member(registrar=registrar, address=helper.address, reason=1)
    with refused(
        ledger, scheme, MemberFrozen, "TimeBankMemberFrozen", {"member": helper.address}, *parties
    ):
        tb.accept(helper.account, request_id, helper.address)
    ledger.unfreeze_member(registrar=registrar, address=helper.address, reason=1)

    ledger.freeze_member(registrar=registrar, address=requester.address, reason=1)
    with refused(ledger, scheme, *points_frozen(requester.address), *parties):
        tb.accept(helper.account, request_id, helper.address)
    ledger.unfreeze_member(registrar=registrar, address=requester.address, reason=1)
    tb.accept(helper.account, request_id, helper.address)
    assert tb.request(request_id).status is RequestStatus.ACCEPTED


def test_a_request_past_its_deadline_cannot_be_accepted(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester, helper = member_with(ledger, scheme, 5), member_with(ledger, scheme)
    deadline = now(ledger) + 600
    request_id = post(ledger, scheme, requester, 2, deadline=deadline)
    advance(ledger, 601)
    with refused(
        ledger,
        scheme,
        StateConflict,
        "TimeBankRequestExpired",
        {"requestId": request_id, "deadline": deadline},
        requester.address,
    ):
        tb.accept(helper.account, request_id, helper.address)
    tb.cancel(requester.account, request_id)  # the requester can still close it


def test_a_paused_scheme_holds_nothing(ledger: Ledger, scheme: Scheme, tb: TimeBankClient) -> None:
    requester, helper = member_with(ledger, scheme, 5), member_with(ledger, scheme)
    request_id = post(ledger, scheme, requester, 2)
    govern(ledger, [ledger.schemes.pause_call(scheme.id)])
    try:
        with refused(ledger, scheme, *points_paused(scheme.id), requester.address):
            tb.accept(helper.account, request_id, helper.address)
    finally:
        govern(ledger, [ledger.schemes.unpause_call(scheme.id)])


def test_an_unknown_request_is_refused(ledger: Ledger, scheme: Scheme, tb: TimeBankClient) -> None:
    helper = member_with(ledger, scheme)
    missing = tb.request_count() + 1
    with reverts(InvalidRequest, "TimeBankUnknownRequest", {"requestId": missing}):
        tb.accept(helper.account, missing, helper.address)


# --- withdraw and cancel -------------------------------------------------------------------------


def test_a_helper_who_withdraws_returns_the_hours_and_reopens_the_request(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme, hours=3, balance=5)
    assert ledger.points.balance_of(requester.address, scheme.id) == 2

    result = tb.withdraw(helper.account, request_id)

    assert events(tb, result, "HelperWithdrew") == [
        {"requestId": request_id, "helper": helper.address, "by": helper.address}
    ]
    r = tb.request(request_id)
    assert (r.status, r.helper, r.hold_id) == (RequestStatus.OPEN, None, None)
    assert ledger.points.balance_of(requester.address, scheme.id) == 5
    other = member_with(ledger, scheme)
    tb.accept(other.account, request_id, other.address)
    assert tb.request(request_id).helper == other.address


def test_only_the_helper_withdraws_and_only_an_accepted_request(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme)
    with refused(
        ledger, scheme, *not_member_or_proxy(helper.address, requester.address), requester.address
    ):
        tb.withdraw(requester.account, request_id)
    open_id = post(ledger, scheme, requester, 1)
    with refused(ledger, scheme, *in_status(open_id, RequestStatus.OPEN)):
        tb.withdraw(helper.account, open_id)


def test_the_requester_cancels_only_while_open(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    requester, helper = member_with(ledger, scheme, 5), member_with(ledger, scheme)
    request_id = post(ledger, scheme, requester, 2)
    with refused(ledger, scheme, *not_member_or_proxy(requester.address, helper.address)):
        tb.cancel(helper.account, request_id)

    result = tb.cancel(requester.account, request_id)

    assert events(tb, result, "RequestCancelled") == [
        {"requestId": request_id, "by": requester.address}
    ]
    with refused(ledger, scheme, *in_status(request_id, RequestStatus.CANCELLED)):
        tb.accept(helper.account, request_id, helper.address)
    with refused(ledger, scheme, *in_status(request_id, RequestStatus.CANCELLED)):
        tb.cancel(requester.account, request_id)

    taken, requester, _ = accepted(ledger, scheme)
    with refused(ledger, scheme, *in_status(taken, RequestStatus.ACCEPTED), requester.address):
        tb.cancel(requester.account, taken)


# --- confirming ----------------------------------------------------------------------------------


def test_confirming_twice_is_refused(ledger: Ledger, scheme: Scheme, tb: TimeBankClient) -> None:
    request_id, requester, helper = accepted(ledger, scheme)
    tb.confirm(requester.account, request_id)
    parties = (requester.address, helper.address)
    with refused(ledger, scheme, *in_status(request_id, RequestStatus.COMPLETED), *parties):
        tb.confirm(requester.account, request_id)


def test_the_helper_cannot_confirm_their_own_help(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme)
    helping_themselves = not_member_or_proxy(requester.address, helper.address)
    with refused(ledger, scheme, *helping_themselves, requester.address, helper.address):
        tb.confirm(helper.account, request_id)


def test_a_frozen_helper_is_not_paid_until_unfrozen(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme)
    registrar = ledger.operator("registrar")
    ledger.freeze_member(registrar=registrar, address=helper.address, reason=1)
    with refused(ledger, scheme, *points_frozen(helper.address), requester.address, helper.address):
        tb.confirm(requester.account, request_id)
    ledger.unfreeze_member(registrar=registrar, address=helper.address, reason=1)
    tb.confirm(requester.account, request_id)
    assert ledger.points.balance_of(helper.address, scheme.id) == 3


# --- disputes ------------------------------------------------------------------------------------


def test_a_reviewer_splits_a_disputed_request(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme, hours=4, balance=10)
    disputed = tb.dispute(helper.account, request_id, 4)
    assert events(tb, disputed, "RequestDisputed") == [
        {"requestId": request_id, "by": helper.address, "reason": 4}
    ]
    with refused(ledger, scheme, *in_status(request_id, RequestStatus.DISPUTED), requester.address):
        tb.confirm(requester.account, request_id)

    reviewer = ledger.operator("reviewer-1")
    result = tb.resolve(reviewer, request_id, 1)

    assert events(tb, result, "DisputeResolved") == [
        {
            "requestId": request_id,
            "reviewer": reviewer.address,
            "helperHours": 1,
            "returnedHours": 3,
        }
    ]
    assert events(tb, result, "TimeBankServiceRecorded")[0]["hoursPaid"] == 1
    assert ledger.points.balance_of(helper.address, scheme.id) == 1
    assert ledger.points.balance_of(requester.address, scheme.id) == 9
    assert tb.request(request_id).status is RequestStatus.RESOLVED


def test_a_dispute_resolved_with_nothing_for_the_helper_records_no_service(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme, hours=2, balance=2)
    tb.dispute(requester.account, request_id, 1)
    result = tb.resolve(ledger.operator("reviewer-1"), request_id, 0)
    assert events(tb, result, "TimeBankServiceRecorded") == []
    assert ledger.points.balance_of(requester.address, scheme.id) == 2
    assert ledger.points.balance_of(helper.address, scheme.id) == 0


def test_only_a_party_disputes_an_accepted_request_with_a_reason(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, _ = accepted(ledger, scheme)
    stranger = spare(1)
    with refused(ledger, scheme, *not_member_or_proxy(requester.address, stranger.address)):
        tb.dispute(stranger, request_id, 1)
    with refused(ledger, scheme, InvalidRequest, "TimeBankInvalidReason", {"reason": 0}):
        tb.dispute(requester.account, request_id, 0)
    open_id = post(ledger, scheme, requester, 1)
    with refused(ledger, scheme, *in_status(open_id, RequestStatus.OPEN)):
        tb.dispute(requester.account, open_id, 1)


def test_resolving_needs_a_reviewer_who_is_no_party_and_no_more_than_is_held(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    request_id, requester, helper = accepted(ledger, scheme, hours=3)
    tb.dispute(requester.account, request_id, 3)
    parties = (requester.address, helper.address)
    with refused(
        ledger,
        scheme,
        NotAuthorized,
        "TimeBankNotReviewer",
        {"schemeId": scheme.id, "account": helper.address},
        *parties,
    ):
        tb.resolve(helper.account, request_id, 3)
    issuer = ledger.operator("issuer-time")

    def refused_as_party(account: LocalAccount) -> None:
        args = {"requestId": request_id, "account": account.address}
        with refused(ledger, scheme, NotAuthorized, "TimeBankPartyCannotResolve", args, *parties):
            tb.resolve(account, request_id, 3)

    # a reviewer who is a party, or a party's proxy, is refused too
    ledger.set_scheme_role(
        issuer=issuer, scheme=scheme.id, role_name="reviewer", account=helper.address, grant=True
    )
    try:
        refused_as_party(helper.account)
    finally:
        ledger.set_scheme_role(
            issuer=issuer,
            scheme=scheme.id,
            role_name="reviewer",
            account=helper.address,
            grant=False,
        )
    reviewer = ledger.operator("reviewer-1")
    ledger.members.grant_proxy(
        ledger.operator("registrar"), requester.address, reviewer.address, source()
    )
    try:
        refused_as_party(reviewer)
    finally:
        ledger.members.revoke_proxy(
            ledger.operator("registrar"), requester.address, reviewer.address
        )
    with refused(
        ledger,
        scheme,
        InvalidRequest,
        "TimeBankSplitExceeded",
        {"requestId": request_id, "hoursHeld": 3, "helperHours": 4},
        *parties,
    ):
        tb.resolve(reviewer, request_id, 4)
    tb.resolve(reviewer, request_id, 3)
    with refused(ledger, scheme, *in_status(request_id, RequestStatus.RESOLVED), *parties):
        tb.resolve(reviewer, request_id, 0)


# --- proxies -------------------------------------------------------------------------------------


@pytest.fixture
def worker() -> LocalAccount:
    """A community worker: a funded key that is nobody's proxy until a registrar records it."""
    return spare(0)


def test_a_proxy_acts_for_an_elderly_member_only_while_granted(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient, worker: LocalAccount
) -> None:
    elderly = new_member(ledger)  # no native coin, never signs
    _HOLDERS.add(elderly.address)
    issue_points(ledger, elderly.address, scheme.id, 6, source())
    helper = member_with(ledger, scheme)
    with refused(
        ledger, scheme, *not_member_or_proxy(elderly.address, worker.address), elderly.address
    ):
        tb.post(worker, elderly.address, scheme.id, CLEANING, 2, details(), 0)

    registrar = ledger.operator("registrar")
    ledger.members.grant_proxy(registrar, elderly.address, worker.address, source())
    posted = tb.post(worker, elderly.address, scheme.id, CLEANING, 2, details(), 0)
    request_id = tb.posted_id(posted)
    assert events(tb, posted, "RequestPosted")[0]["by"] == worker.address
    tb.accept(helper.account, request_id, helper.address)
    confirmed = tb.confirm(worker, request_id)
    assert events(tb, confirmed, "RequestConfirmed") == [
        {"requestId": request_id, "by": worker.address}
    ]
    assert ledger.points.balance_of(helper.address, scheme.id) == 2

    ledger.members.revoke_proxy(registrar, elderly.address, worker.address)
    with refused(
        ledger, scheme, *not_member_or_proxy(elderly.address, worker.address), elderly.address
    ):
        tb.post(worker, elderly.address, scheme.id, CLEANING, 2, details(), 0)


def test_a_proxy_accepts_and_withdraws_for_a_helper(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient, worker: LocalAccount
) -> None:
    requester = member_with(ledger, scheme, 4)
    helper = new_member(ledger)
    _HOLDERS.add(helper.address)
    request_id = post(ledger, scheme, requester, 2)
    with refused(
        ledger, scheme, *not_member_or_proxy(helper.address, worker.address), requester.address
    ):
        tb.accept(worker, request_id, helper.address)
    ledger.members.grant_proxy(
        ledger.operator("registrar"), helper.address, worker.address, source()
    )
    accepted_tx = tb.accept(worker, request_id, helper.address)
    assert events(tb, accepted_tx, "RequestAccepted")[0]["by"] == worker.address
    tb.withdraw(worker, request_id)
    assert tb.request(request_id).status is RequestStatus.OPEN


def test_a_mined_refusal_changes_nothing(
    ledger: Ledger, scheme: Scheme, tb: TimeBankClient
) -> None:
    """The chain itself refuses, not only the simulation before sending."""
    request_id, requester, helper = accepted(ledger, scheme)
    call = tb._call("confirm", request_id, summary="confirm")
    snapshot = state(ledger, scheme, requester.address, helper.address)
    before = snapshot()
    with pytest.raises(NotAuthorized):
        send(ledger, helper.account, call, mined=True)
    assert snapshot() == before
    assert tb.request(request_id).helper == helper.address
    assert ZERO not in (tb.request(request_id).requester,)


def test_the_time_bank_is_wired_holds_the_spending_role_and_is_governed_by_the_council(
    ledger: Ledger, tb: TimeBankClient
) -> None:
    fns = tb.contract.functions
    assert (
        fns.schemeRegistry().call(),
        fns.memberRegistry().call(),
        fns.pointsLedger().call(),
    ) == (
        ledger.schemes.address,
        ledger.members.address,
        ledger.points.address,
    )
    assert ledger.points.has_role(SPENDING_ROLE, tb.address)
    assert tb.has_role(DEFAULT_ADMIN_ROLE, ledger.council.address)
    assert not tb.has_role(DEFAULT_ADMIN_ROLE, ledger.operator("deployer").address)
