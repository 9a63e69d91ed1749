"""Gifts: members give points to one another, or donate them to a community fund (共同缔造基金)
whose manager grants them out for a stated purpose; only where the scheme allows gifts, only by the
member or their recorded proxy, and every donation and grant recorded and visible. Per scheme, the
gifts contract's balance in the points ledger is always the sum of the scheme's fund balances."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.points import Lot
from ledger.chain.contracts.schemes import Policy
from ledger.errors import (
    ContractRevert,
    InsufficientBalance,
    InvalidRequest,
    MemberFrozen,
    NotAMember,
    NotAuthorized,
    StateConflict,
    UnknownScheme,
)
from ledger.ledger import Ledger
from tests.contracts.governance import govern
from tests.contracts.helpers import MAX_BALANCE, events, raw_call, source, spare
from tests.contracts.refusals import (
    points_over_max,
    points_paused,
    points_short,
    refusals_leaving,
    reverts,
)
from tests.earning_helpers import fund
from tests.factories import Member, new_member, new_scheme
from tests.probes import issue_points


def memo() -> bytes:
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class Setup:
    scheme: Scheme
    issuer: LocalAccount
    manager: LocalAccount
    #: A community worker recorded as proxy of the members made by `member()`.
    proxy: LocalAccount


@pytest.fixture(scope="module")
def s(ledger: Ledger) -> Setup:
    return Setup(
        scheme=new_scheme(ledger),
        issuer=ledger.operator("issuer-vol"),
        manager=spare(1),
        proxy=spare(0),
    )


def member(ledger: Ledger, s: Setup, points: int = 0, *, proxy: bool = True) -> Member:
    """A fresh funded member holding `points` of the scheme, with `s.proxy` as recorded proxy."""
    m = new_member(ledger)
    fund(ledger, m.address)
    if points:
        issue_points(ledger, m.address, s.scheme.id, points, source())
    if proxy:
        ledger.members.grant_proxy(ledger.operator("registrar"), m.address, s.proxy.address, memo())
    return m


def new_fund(ledger: Ledger, s: Setup, scheme_id: int | None = None) -> int:
    g = ledger.gifts_contract
    result = g.create_fund(s.issuer, scheme_id or s.scheme.id, s.manager.address, memo())
    return g.created_fund_id(result)


def state(ledger: Ledger, scheme_id: int, *addresses: str, funds: tuple[int, ...] = ()) -> Any:
    """What a refusal must leave as it was."""
    p, g = ledger.points, ledger.gifts_contract
    return (
        [p.balance_of(a, scheme_id) for a in addresses],
        p.balance_of(g.address, scheme_id),
        p.total_supply(scheme_id),
        [g.fund(f) for f in funds],
        g.fund_count(),
        g.funds_balance(scheme_id),
    )


#: `reverts`, and nothing in `state` changed.
refused = refusals_leaving(state)


def refused_giving(
    ledger: Ledger,
    s: Setup,
    giver: Member,
    to: Member | int,
    amount: int,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *,
    sender: LocalAccount | None = None,
    scheme_id: int | None = None,
) -> None:
    """A gift of `amount` to a member, or a donation to a fund (by id), is refused with exactly
    `error` and `args` and changes nothing; sent by the giver unless `sender` is given, in `s`'s
    scheme unless `scheme_id` is."""
    g, sender = ledger.gifts_contract, sender or giver.account
    scheme_id = scheme_id or s.scheme.id
    if isinstance(to, int):
        with refused(ledger, kind, error, args, scheme_id, giver.address, funds=(to,)):
            g.donate(sender, to, giver.address, amount, memo())
    else:
        with refused(ledger, kind, error, args, scheme_id, giver.address, to.address):
            g.give(sender, scheme_id, giver.address, to.address, amount, memo())


def scheme_under(ledger: Ledger, policy: Policy) -> Scheme:
    """A fresh scheme that the council put under `policy`."""
    scheme = new_scheme(ledger)
    govern(ledger, [ledger.schemes.set_policy_call(scheme.id, policy)])
    return scheme


def assert_funds_reconcile(ledger: Ledger, scheme_id: int) -> None:
    """The invariant: the gifts contract's ledger balance is the sum of the scheme's funds."""
    g = ledger.gifts_contract
    total = sum(
        g.fund(f).balance for f in range(1, g.fund_count() + 1) if g.fund(f).scheme_id == scheme_id
    )
    assert g.funds_balance(scheme_id) == total
    assert ledger.points.balance_of(g.address, scheme_id) == total


# --- gifts ---------------------------------------------------------------------------------------


def test_a_member_gives_points_to_another_member_with_a_memo_hash(ledger: Ledger, s: Setup) -> None:
    giver, recipient = member(ledger, s, 100), member(ledger, s)
    supply = ledger.points.total_supply(s.scheme.id)
    memo_hash = memo()
    result = ledger.gifts_contract.give(
        giver.account, s.scheme.id, giver.address, recipient.address, 30, memo_hash
    )
    assert ledger.points.balance_of(giver.address, s.scheme.id) == 70
    assert ledger.points.balance_of(recipient.address, s.scheme.id) == 30
    assert ledger.points.total_supply(s.scheme.id) == supply
    assert events(ledger.gifts_contract, result, "PointsGiven") == [
        {
            "schemeId": s.scheme.id,
            "from": giver.address,
            "to": recipient.address,
            "amount": 30,
            "memoHash": memo_hash,
            "operator": giver.address,
        }
    ]
    moved = events(ledger.points, result, "PointsMoved")
    assert [(m["from"], m["to"], m["amount"], m["ref"]) for m in moved] == [
        (giver.address, recipient.address, 30, memo_hash)
    ]
    transfers = events(ledger.points, result, "TransferSingle")
    assert [(t["from"], t["to"], t["id"], t["value"]) for t in transfers] == [
        (giver.address, recipient.address, s.scheme.id, 30)
    ]


def test_a_recorded_proxy_gives_for_the_member_and_not_after_the_grant_is_revoked(
    ledger: Ledger, s: Setup
) -> None:
    giver, recipient = member(ledger, s, 50), member(ledger, s)
    result = ledger.gifts_contract.give(
        s.proxy, s.scheme.id, giver.address, recipient.address, 20, memo()
    )
    assert events(ledger.gifts_contract, result, "PointsGiven")[0]["operator"] == s.proxy.address
    assert ledger.points.balance_of(recipient.address, s.scheme.id) == 20
    ledger.members.revoke_proxy(giver.account, giver.address, s.proxy.address)
    args = {"member": giver.address, "sender": s.proxy.address}
    refused_giving(
        ledger, s, giver, recipient, 1, NotAuthorized, "GiftsUnauthorized", args, sender=s.proxy
    )


def test_someone_without_a_proxy_grant_cannot_give_a_members_points(
    ledger: Ledger, s: Setup
) -> None:
    giver, recipient = member(ledger, s, 50), member(ledger, s)
    # the recipient is a member, but not the giver's proxy: a proxy of one is no proxy of another
    args = {"member": giver.address, "sender": recipient.address}
    refused_giving(
        ledger,
        s,
        giver,
        recipient,
        10,
        NotAuthorized,
        "GiftsUnauthorized",
        args,
        sender=recipient.account,
    )


def test_a_scheme_without_gifts_refuses_gifts_and_funds(ledger: Ledger, s: Setup) -> None:
    closed = new_scheme(ledger, flags=SchemeFlag.REDEMPTION)
    giver, recipient = member(ledger, s), member(ledger, s)
    issue_points(ledger, giver.address, closed.id, 40, source())
    args = {"schemeId": closed.id}
    refused_giving(
        ledger, s, giver, recipient, 10, StateConflict, "GiftsNotAllowed", args, scheme_id=closed.id
    )
    with refused(ledger, StateConflict, "GiftsNotAllowed", args, closed.id):
        ledger.gifts_contract.create_fund(s.issuer, closed.id, s.manager.address, memo())


def test_an_unknown_scheme_is_refused(ledger: Ledger, s: Setup) -> None:
    giver, recipient = member(ledger, s, 10), member(ledger, s)
    with reverts(UnknownScheme, "SchemeUnknown", {"schemeId": 10_000}):
        ledger.gifts_contract.give(
            giver.account, 10_000, giver.address, recipient.address, 1, memo()
        )


def test_a_gift_beyond_the_available_balance_is_refused(ledger: Ledger, s: Setup) -> None:
    giver, recipient = member(ledger, s, 30), member(ledger, s)
    short = points_short(giver.address, s.scheme.id, 30, 31)
    refused_giving(ledger, s, giver, recipient, 31, *short)


def test_points_frozen_by_the_issuer_cannot_be_given(ledger: Ledger, s: Setup) -> None:
    giver, recipient = member(ledger, s, 50), member(ledger, s)
    ledger.points.set_frozen(
        s.issuer, s.scheme.id, giver.address, 40, increase=True, case_ref=memo()
    )
    short = points_short(giver.address, s.scheme.id, 10, 11)
    refused_giving(ledger, s, giver, recipient, 11, *short)
    ledger.gifts_contract.give(
        giver.account, s.scheme.id, giver.address, recipient.address, 10, memo()
    )
    assert ledger.points.balance_of(giver.address, s.scheme.id) == 40
    assert ledger.points.frozen_of(giver.address, s.scheme.id) == 40


@pytest.mark.parametrize("amount", [0, MAX_BALANCE + 1, 2**256 - 1])
def test_an_amount_outside_1_to_2_88_minus_1_is_refused(
    ledger: Ledger, s: Setup, amount: int
) -> None:
    giver, recipient = member(ledger, s, 10), member(ledger, s)
    args = {"amount": amount}
    refused_giving(ledger, s, giver, recipient, amount, InvalidRequest, "GiftsInvalidAmount", args)


def test_giving_to_oneself_is_refused(ledger: Ledger, s: Setup) -> None:
    giver = member(ledger, s, 10)
    with refused(
        ledger,
        InvalidRequest,
        "GiftsInvalidRecipient",
        {"account": giver.address},
        s.scheme.id,
        giver.address,
    ):
        ledger.gifts_contract.give(
            giver.account, s.scheme.id, giver.address, giver.address, 5, memo()
        )


def test_giving_to_a_non_member_or_to_a_spending_contract_is_refused(
    ledger: Ledger, s: Setup
) -> None:
    giver = member(ledger, s, 10)
    stranger = spare(2).address
    gifts = ledger.gifts_contract.address
    for to in (stranger, gifts):
        with refused(
            ledger,
            NotAMember,
            "GiftsNotAMember",
            {"account": to},
            s.scheme.id,
            giver.address,
            to,
        ):
            ledger.gifts_contract.give(giver.account, s.scheme.id, giver.address, to, 5, memo())


def test_giving_to_a_frozen_member_is_refused(ledger: Ledger, s: Setup) -> None:
    giver, recipient = member(ledger, s, 10), member(ledger, s)
    ledger.members.freeze(ledger.operator("registrar"), recipient.address, 3)
    args = {"account": recipient.address}
    refused_giving(ledger, s, giver, recipient, 5, MemberFrozen, "GiftsMemberFrozen", args)


def test_a_frozen_member_cannot_give_not_even_through_a_proxy(ledger: Ledger, s: Setup) -> None:
    giver, recipient = member(ledger, s, 10), member(ledger, s)
    ledger.members.freeze(ledger.operator("registrar"), giver.address, 3)
    args = {"account": giver.address}
    for account in (giver.account, s.proxy):
        refused_giving(
            ledger, s, giver, recipient, 5, MemberFrozen, "GiftsMemberFrozen", args, sender=account
        )


def test_a_paused_scheme_refuses_gifts_and_reads_still_work(ledger: Ledger, s: Setup) -> None:
    scheme = new_scheme(ledger)
    giver, recipient = member(ledger, s), member(ledger, s)
    issue_points(ledger, giver.address, scheme.id, 10, source())
    govern(ledger, [ledger.schemes.pause_call(scheme.id)])
    try:
        paused = points_paused(scheme.id)
        refused_giving(ledger, s, giver, recipient, 5, *paused, scheme_id=scheme.id)
        assert ledger.points.balance_of(giver.address, scheme.id) == 10
    finally:
        govern(ledger, [ledger.schemes.unpause_call(scheme.id)])
    ledger.gifts_contract.give(
        giver.account, scheme.id, giver.address, recipient.address, 5, memo()
    )


def test_a_gift_over_the_recipients_maximum_balance_is_refused(ledger: Ledger, s: Setup) -> None:
    scheme = scheme_under(ledger, Policy(max_balance=100))
    giver, recipient = member(ledger, s), member(ledger, s)
    issue_points(ledger, giver.address, scheme.id, 60, source())
    issue_points(ledger, recipient.address, scheme.id, 60, source())
    over = points_over_max(recipient.address, scheme.id, 110, 100)
    refused_giving(ledger, s, giver, recipient, 50, *over, scheme_id=scheme.id)


# --- community funds -----------------------------------------------------------------------------


def test_the_issuer_creates_a_fund_with_a_manager(ledger: Ledger, s: Setup) -> None:
    g = ledger.gifts_contract
    details = memo()
    count = g.fund_count()
    result = g.create_fund(s.issuer, s.scheme.id, s.manager.address, details)
    fund_id = g.created_fund_id(result)
    assert fund_id == count + 1
    f = g.fund(fund_id)
    assert (f.scheme_id, f.manager, f.details_hash, f.balance, f.donated, f.granted) == (
        s.scheme.id,
        s.manager.address,
        details,
        0,
        0,
        0,
    )
    assert events(g, result, "FundCreated") == [
        {
            "fundId": fund_id,
            "schemeId": s.scheme.id,
            "manager": s.manager.address,
            "detailsHash": details,
            "by": s.issuer.address,
        }
    ]


def test_the_council_may_create_a_fund(ledger: Ledger, s: Setup) -> None:
    g = ledger.gifts_contract
    count = g.fund_count()
    govern(ledger, [raw_call(g, "createFund", s.scheme.id, s.manager.address, memo())])
    assert g.fund_count() == count + 1
    assert g.fund(count + 1).manager == s.manager.address


def test_only_the_issuer_or_council_creates_a_fund(ledger: Ledger, s: Setup) -> None:
    other = ledger.operator("issuer-bee")
    with refused(
        ledger,
        NotAuthorized,
        "GiftsNotIssuer",
        {"schemeId": s.scheme.id, "account": other.address},
        s.scheme.id,
    ):
        ledger.gifts_contract.create_fund(other, s.scheme.id, s.manager.address, memo())


def test_a_fund_needs_a_manager_and_details(ledger: Ledger, s: Setup) -> None:
    g = ledger.gifts_contract
    zero = "0x" + "00" * 20
    with refused(ledger, InvalidRequest, "GiftsInvalidManager", {"manager": zero}, s.scheme.id):
        g.create_fund(s.issuer, s.scheme.id, zero, memo())
    with refused(ledger, InvalidRequest, "GiftsInvalidHash", {}, s.scheme.id):
        g.create_fund(s.issuer, s.scheme.id, s.manager.address, bytes(32))


def test_members_donate_and_the_manager_grants_for_a_stated_purpose(
    ledger: Ledger, s: Setup
) -> None:
    g = ledger.gifts_contract
    fund_id = new_fund(ledger, s)
    donor, other, resident = member(ledger, s, 100), member(ledger, s, 50), member(ledger, s)
    ref = memo()
    result = g.donate(donor.account, fund_id, donor.address, 60, ref)
    assert events(g, result, "FundDonated") == [
        {
            "fundId": fund_id,
            "member": donor.address,
            "amount": 60,
            "ref": ref,
            "operator": donor.address,
        }
    ]
    moved = events(ledger.points, result, "PointsMoved")
    assert [(m["from"], m["to"], m["amount"]) for m in moved] == [(donor.address, g.address, 60)]
    result = g.donate(s.proxy, fund_id, other.address, 40, memo())
    assert events(g, result, "FundDonated")[0]["operator"] == s.proxy.address
    f = g.fund(fund_id)
    assert (f.balance, f.donated, f.granted) == (100, 100, 0)
    assert_funds_reconcile(ledger, s.scheme.id)

    purpose = memo()
    result = g.grant(s.manager, fund_id, resident.address, 70, purpose)
    assert events(g, result, "FundGranted") == [
        {
            "fundId": fund_id,
            "to": resident.address,
            "amount": 70,
            "purposeHash": purpose,
            "manager": s.manager.address,
        }
    ]
    moved = events(ledger.points, result, "PointsMoved")
    assert [(m["from"], m["to"], m["amount"], m["ref"]) for m in moved] == [
        (g.address, resident.address, 70, purpose)
    ]
    f = g.fund(fund_id)
    assert (f.balance, f.donated, f.granted) == (30, 100, 70)
    assert ledger.points.balance_of(resident.address, s.scheme.id) == 70
    assert_funds_reconcile(ledger, s.scheme.id)


def test_a_fund_grants_no_more_than_it_holds_even_when_other_funds_hold_more(
    ledger: Ledger, s: Setup
) -> None:
    g = ledger.gifts_contract
    small, large = new_fund(ledger, s), new_fund(ledger, s)
    donor, resident = member(ledger, s, 100), member(ledger, s)
    g.donate(donor.account, small, donor.address, 10, memo())
    g.donate(donor.account, large, donor.address, 90, memo())

    def refused_grant(requested: int, balance: int) -> None:
        args = {"fundId": small, "balance": balance, "requested": requested}
        unchanged = (s.scheme.id, resident.address)
        with refused(
            ledger,
            InsufficientBalance,
            "GiftsFundInsufficient",
            args,
            *unchanged,
            funds=(small, large),
        ):
            g.grant(s.manager, small, resident.address, requested, memo())

    refused_grant(11, 10)
    g.grant(s.manager, small, resident.address, 10, memo())
    refused_grant(1, 0)
    assert_funds_reconcile(ledger, s.scheme.id)


def test_only_the_manager_grants(ledger: Ledger, s: Setup) -> None:
    g = ledger.gifts_contract
    fund_id = new_fund(ledger, s)
    donor, resident = member(ledger, s, 20), member(ledger, s)
    g.donate(donor.account, fund_id, donor.address, 20, memo())
    for intruder in (s.issuer, donor.account, s.proxy):
        with refused(
            ledger,
            NotAuthorized,
            "GiftsNotManager",
            {"fundId": fund_id, "account": intruder.address},
            s.scheme.id,
            resident.address,
            funds=(fund_id,),
        ):
            g.grant(intruder, fund_id, resident.address, 5, memo())


def test_a_grant_needs_a_purpose_an_active_member_and_a_valid_amount(
    ledger: Ledger, s: Setup
) -> None:
    g = ledger.gifts_contract
    fund_id = new_fund(ledger, s)
    donor, resident, frozen = member(ledger, s, 20), member(ledger, s), member(ledger, s)
    g.donate(donor.account, fund_id, donor.address, 20, memo())
    ledger.members.freeze(ledger.operator("registrar"), frozen.address, 3)
    cases: list[tuple[type[ContractRevert], str, dict[str, Any], str, int, bytes]] = [
        (InvalidRequest, "GiftsInvalidHash", {}, resident.address, 5, bytes(32)),
        (MemberFrozen, "GiftsMemberFrozen", {"account": frozen.address}, frozen.address, 5, memo()),
        (NotAMember, "GiftsNotAMember", {"account": g.address}, g.address, 5, memo()),
        (
            InvalidRequest,
            "GiftsInvalidRecipient",
            {"account": s.manager.address},
            s.manager.address,
            5,
            memo(),
        ),
        (InvalidRequest, "GiftsInvalidAmount", {"amount": 0}, resident.address, 0, memo()),
        (
            InvalidRequest,
            "GiftsInvalidAmount",
            {"amount": 2**256 - 1},
            resident.address,
            2**256 - 1,
            memo(),
        ),
    ]
    for kind, error, args, to, amount, purpose in cases:
        with refused(
            ledger,
            kind,
            error,
            args,
            s.scheme.id,
            resident.address,
            frozen.address,
            funds=(fund_id,),
        ):
            g.grant(s.manager, fund_id, to, amount, purpose)


def test_donations_are_refused_like_gifts(ledger: Ledger, s: Setup) -> None:
    g = ledger.gifts_contract
    fund_id = new_fund(ledger, s)
    donor, stranger = member(ledger, s, 20), member(ledger, s, proxy=False)
    args: dict[str, Any] = {"member": donor.address, "sender": stranger.address}
    refused_giving(
        ledger,
        s,
        donor,
        fund_id,
        5,
        NotAuthorized,
        "GiftsUnauthorized",
        args,
        sender=stranger.account,
    )
    refused_giving(ledger, s, donor, fund_id, 21, *points_short(donor.address, s.scheme.id, 20, 21))
    for amount in (0, MAX_BALANCE + 1):
        args = {"amount": amount}
        refused_giving(
            ledger, s, donor, fund_id, amount, InvalidRequest, "GiftsInvalidAmount", args
        )
    with refused(ledger, InvalidRequest, "GiftsUnknownFund", {"fundId": 10**9}, s.scheme.id):
        g.donate(donor.account, 10**9, donor.address, 5, memo())
    ledger.members.freeze(ledger.operator("registrar"), donor.address, 3)
    args = {"account": donor.address}
    refused_giving(
        ledger, s, donor, fund_id, 5, MemberFrozen, "GiftsMemberFrozen", args, sender=s.proxy
    )


def test_the_issuer_names_a_new_manager_and_the_old_one_can_no_longer_grant(
    ledger: Ledger, s: Setup
) -> None:
    g = ledger.gifts_contract
    fund_id = new_fund(ledger, s)
    donor, resident = member(ledger, s, 20), member(ledger, s)
    g.donate(donor.account, fund_id, donor.address, 20, memo())
    successor = ledger.operator("reviewer-2")
    with refused(
        ledger,
        NotAuthorized,
        "GiftsNotIssuer",
        {"schemeId": s.scheme.id, "account": s.manager.address},
        s.scheme.id,
        funds=(fund_id,),
    ):
        g.set_manager(s.manager, fund_id, successor.address)
    with refused(
        ledger,
        InvalidRequest,
        "GiftsInvalidManager",
        {"manager": s.manager.address},
        s.scheme.id,
        funds=(fund_id,),
    ):
        g.set_manager(s.issuer, fund_id, s.manager.address)
    result = g.set_manager(s.issuer, fund_id, successor.address)
    assert events(g, result, "FundManagerChanged") == [
        {
            "fundId": fund_id,
            "previousManager": s.manager.address,
            "manager": successor.address,
            "by": s.issuer.address,
        }
    ]
    with refused(
        ledger,
        NotAuthorized,
        "GiftsNotManager",
        {"fundId": fund_id, "account": s.manager.address},
        s.scheme.id,
        funds=(fund_id,),
    ):
        g.grant(s.manager, fund_id, resident.address, 5, memo())
    g.grant(successor, fund_id, resident.address, 5, memo())
    assert g.fund(fund_id).granted == 5


def test_after_gifts_are_closed_a_fund_takes_no_donations_but_still_grants(
    ledger: Ledger, s: Setup
) -> None:
    scheme = new_scheme(ledger)
    g = ledger.gifts_contract
    fund_id = new_fund(ledger, s, scheme.id)
    donor, resident = member(ledger, s), member(ledger, s)
    issue_points(ledger, donor.address, scheme.id, 30, source())
    g.donate(donor.account, fund_id, donor.address, 20, memo())
    govern(ledger, [ledger.flags_call(scheme=scheme.id, flags=SchemeFlag.REDEMPTION)])
    args = {"schemeId": scheme.id}
    refused_giving(
        ledger, s, donor, fund_id, 5, StateConflict, "GiftsNotAllowed", args, scheme_id=scheme.id
    )
    g.grant(s.manager, fund_id, resident.address, 20, memo())
    assert ledger.points.balance_of(resident.address, scheme.id) == 20
    assert_funds_reconcile(ledger, scheme.id)


def test_points_in_a_fund_do_not_expire_and_count_as_new_when_granted(
    ledger: Ledger, s: Setup
) -> None:
    """Expiry is FIFO per ledger account and the funds of a scheme share one: so points donated
    stop expiring there (every fund's balance stays exact), and a grant gives the recipient
    points that expire as newly created ones."""
    scheme = scheme_under(ledger, Policy(expiry_months=24))
    g = ledger.gifts_contract
    first, second = new_fund(ledger, s, scheme.id), new_fund(ledger, s, scheme.id)
    donor, resident = member(ledger, s), member(ledger, s)
    issue_points(ledger, donor.address, scheme.id, 30, source())
    [lot] = ledger.points.lots_of(donor.address, scheme.id)
    g.donate(donor.account, first, donor.address, 10, memo())
    g.donate(donor.account, second, donor.address, 5, memo())
    assert ledger.points.lots_of(g.address, scheme.id) == []
    assert ledger.points.lots_of(donor.address, scheme.id) == [
        Lot(expiry_month=lot.expiry_month, amount=15)
    ]
    g.grant(s.manager, first, resident.address, 4, memo())
    month = ledger.points.current_month()
    assert ledger.points.lots_of(resident.address, scheme.id) == [
        Lot(expiry_month=month + 24 + 1, amount=4)
    ]
    assert (g.fund(first).balance, g.fund(second).balance) == (6, 5)
    assert_funds_reconcile(ledger, scheme.id)


def test_the_funds_pool_is_held_to_the_schemes_maximum_balance(ledger: Ledger, s: Setup) -> None:
    """A known limit: the funds of a scheme share one ledger account, which the ledger holds to
    the scheme's maximum balance like any other account."""
    scheme = scheme_under(ledger, Policy(max_balance=50))
    g = ledger.gifts_contract
    first, second = new_fund(ledger, s, scheme.id), new_fund(ledger, s, scheme.id)
    a, b = member(ledger, s), member(ledger, s)
    issue_points(ledger, a.address, scheme.id, 40, source())
    issue_points(ledger, b.address, scheme.id, 40, source())
    g.donate(a.account, first, a.address, 40, memo())
    over = points_over_max(g.address, scheme.id, 60, 50)
    with refused(ledger, *over, scheme.id, b.address, funds=(first, second)):
        g.donate(b.account, second, b.address, 20, memo())


def test_funds_reconcile_with_the_ledger_over_random_operations(ledger: Ledger, s: Setup) -> None:
    scheme = new_scheme(ledger)
    g = ledger.gifts_contract
    funds = [new_fund(ledger, s, scheme.id) for _ in range(3)]
    members = [member(ledger, s) for _ in range(3)]
    for m in members:
        issue_points(ledger, m.address, scheme.id, 200, source())
    rng = random.Random(4)
    expected = dict.fromkeys(funds, 0)
    for _ in range(24):
        fund_id, m = rng.choice(funds), rng.choice(members)
        amount = rng.randint(1, 60)
        try:
            if rng.random() < 0.55:
                g.donate(s.proxy, fund_id, m.address, amount, memo())
                expected[fund_id] += amount
            else:
                g.grant(s.manager, fund_id, m.address, amount, memo())
                expected[fund_id] -= amount
        except (InsufficientBalance, InvalidRequest):
            pass
        assert {f: g.fund(f).balance for f in funds} == expected
        assert_funds_reconcile(ledger, scheme.id)
    supply = ledger.points.total_supply(scheme.id)
    held = sum(ledger.points.balance_of(m.address, scheme.id) for m in members)
    assert held + g.funds_balance(scheme.id) == supply == 600
