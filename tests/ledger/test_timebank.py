"""The time-bank service (``ledger.spending.timebank``) and proxies (``ledger.identity.proxies``):
elderly members without keys act through a community worker recorded as their proxy; the needs and
address stay in the store (the address shown only to those involved); every refusal changes
nothing on chain or in the store and is written down for auditors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlmodel import func, select

from ledger.chain.contracts import Scheme
from ledger.chain.contracts.timebank import RequestStatus, source_of
from ledger.errors import (
    InputError,
    InsufficientBalance,
    InvalidAmount,
    InvalidRequest,
    MemberFrozen,
    NotAuthorized,
    StateConflict,
    UnknownName,
)
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.proxies import ProxyConsent
from ledger.store.timebank import TimeBankDetails
from tests.contracts.helpers import source, spare
from tests.earning_helpers import refused, refused_off_chain
from tests.factories import Member, new_member, new_scheme, timebank_scheme
from tests.probes import issue_points

_HOLDERS: set[str] = set()


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Iterator[Scheme]:
    s = timebank_scheme(ledger)
    yield s
    p = ledger.points
    assert p.total_supply(s.id) == sum(p.balance_of(m, s.id) for m in _HOLDERS) + p.held_total(s.id)


@pytest.fixture
def worker() -> LocalAccount:
    """A community worker who acts for members once a registrar records the grant."""
    return spare(0)


def elderly(ledger: Ledger, scheme: Scheme, hours: int, worker: LocalAccount) -> Member:
    """A member without a phone holding `hours`, with `worker` recorded as their proxy."""
    m = new_member(ledger)
    _HOLDERS.add(m.address)
    if hours:
        issue_points(ledger, m.address, scheme.id, hours, source())
    ledger.proxies.grant(
        actor=ledger.operator("registrar"),
        member=m.address,
        proxy=worker.address,
        consent=f"本人同意社区工作者代为操作爱心银行账户 {m.address}",
    )
    return m


def store_rows(ledger: Ledger) -> tuple[int, int]:
    with session(ledger.engine) as db:
        return (
            db.exec(select(func.count()).select_from(TimeBankDetails)).one(),
            db.exec(select(func.count()).select_from(ProxyConsent)).one(),
        )


def snapshot(ledger: Ledger, scheme: Scheme, *members: str) -> Callable[[], Any]:
    tb, p = ledger.timebank_contract, ledger.points

    def take() -> Any:
        count = tb.request_count()
        return {
            "count": count,
            "last": tb.request(count) if count else None,
            "balances": [p.balance_of(m, scheme.id) for m in members],
            "held": p.held_total(scheme.id),
            "supply": p.total_supply(scheme.id),
            "store": store_rows(ledger),
        }

    return take


def post(
    ledger: Ledger, scheme: Scheme, member: Member, actor: LocalAccount, hours: int = 2, **kw: Any
) -> int:
    view = ledger.timebank.post(
        actor=actor,
        member=member.address,
        scheme=scheme.code,
        kind=kw.pop("kind", "cleaning"),
        hours=hours,
        needs=kw.pop("needs", "打扫厨房和客厅"),
        address=kw.pop("address", "祖庙街道 12 号 3 楼"),
        **kw,
    )
    return view.request.id


def disputed(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount, *, holds: int, hours: int, reason: int
) -> tuple[Member, Member, int]:
    """A request for `hours` by an elderly member holding `holds`, accepted by another and then
    disputed for `reason`, all through `worker`: the requester, the helper and the request."""
    requester = elderly(ledger, scheme, holds, worker)
    helper = elderly(ledger, scheme, 0, worker)
    request_id = post(ledger, scheme, requester, worker, hours=hours)
    ledger.timebank.accept(actor=worker, request_id=request_id, helper=helper.address)
    ledger.timebank.dispute(actor=worker, request_id=request_id, reason=reason)
    return requester, helper, request_id


# --- the whole path through proxies --------------------------------------------------------------


def test_an_elderly_member_asks_for_help_through_a_community_worker(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    helper = elderly(ledger, scheme, 0, worker)
    tb = ledger.timebank

    view = tb.post(
        actor=worker,
        member=requester.address,
        scheme=scheme.code,
        kind="保洁",
        hours=3,
        needs="打扫厨房",
        address="祖庙街道 12 号",
    )
    request_id = view.request.id
    assert (view.kind and view.kind.name, view.needs, view.address, view.posted_by) == (
        "cleaning",
        "打扫厨房",
        "祖庙街道 12 号",
        worker.address,
    )
    with session(ledger.engine) as db:
        row = db.exec(select(TimeBankDetails).where(TimeBankDetails.request_id == request_id)).one()
    assert keccak(row.details_json.encode()).hex() == view.request.details_hash[2:]
    assert "祖庙街道" not in json.dumps(ledger.timebank_contract.request(request_id).__dict__)

    tb.accept(actor=worker, request_id=request_id, helper=helper.address)
    assert ledger.points.balance_of(requester.address, scheme.id) == 2
    done = tb.confirm(actor=worker, request_id=request_id)

    assert done.request.status is RequestStatus.COMPLETED
    assert ledger.points.balance_of(helper.address, scheme.id) == 3
    records = tb.service_records(helper.address)
    assert [(r.request_id, r.hours, r.requester, r.source) for r in records] == [
        (request_id, 3, requester.address, "0x" + source_of(request_id).hex())
    ]
    steps = [(h.event, h.by) for h in tb.history(request_id)]
    assert steps == [
        ("RequestPosted", worker.address),
        ("RequestAccepted", worker.address),
        ("RequestConfirmed", worker.address),
        ("TimeBankServiceRecorded", None),
    ]
    mine = tb.requests(member=helper.address)
    assert [v.request.id for v in mine] == [request_id]


def test_the_address_is_shown_only_to_those_involved(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    request_id = post(ledger, scheme, requester, worker, address="祖庙街道 8 号")
    tb = ledger.timebank
    stranger = spare(1).address
    for viewer in (None, stranger):
        view = tb.request(request_id, viewer=viewer)
        assert (view.needs, view.address, view.address_hidden) == ("打扫厨房和客厅", None, True)
    for viewer in (
        requester.address,
        worker.address,
        ledger.operator("issuer-time").address,
        ledger.operator("reviewer-1").address,
    ):
        assert tb.request(request_id, viewer=viewer).address == "祖庙街道 8 号"


def test_posting_the_same_open_request_again_returns_it(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    first = post(ledger, scheme, requester, worker, needs="每周买菜", kind="shopping")
    before = snapshot(ledger, scheme, requester.address)()
    again = post(ledger, scheme, requester, worker, needs="每周买菜", kind="shopping")
    assert again == first and snapshot(ledger, scheme, requester.address)() == before
    ledger.timebank.cancel(actor=worker, request_id=first)
    assert post(ledger, scheme, requester, worker, needs="每周买菜", kind="shopping") != first


def test_a_dispute_settled_by_a_reviewer(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester, helper, request_id = disputed(ledger, scheme, worker, holds=6, hours=4, reason=2)
    tb = ledger.timebank
    view = tb.resolve(reviewer=ledger.operator("reviewer-1"), request_id=request_id, helper_hours=1)
    assert view.request.status is RequestStatus.RESOLVED
    assert ledger.points.balance_of(helper.address, scheme.id) == 1
    assert ledger.points.balance_of(requester.address, scheme.id) == 5


# --- bad input: a clear error, nothing changed, the refusal written down --------------------------


def test_insufficient_balance_at_posting_and_at_acceptance(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 3, worker)
    helper = elderly(ledger, scheme, 0, worker)
    state = snapshot(ledger, scheme, requester.address, helper.address)
    with refused(ledger, InsufficientBalance, "TimeBankInsufficientBalance",
                 {"member": requester.address, "schemeId": scheme.id, "available": 3, "needed": 4},
                 actor=worker.address, action="timebank-post", state=state) as info:  # fmt: skip
        post(ledger, scheme, requester, worker, hours=4)
    assert "3 hours of scheme" in str(info.value) and "fewer than the 4 offered" in str(info.value)

    first = post(ledger, scheme, requester, worker, hours=2, needs="陪诊")
    second = post(ledger, scheme, requester, worker, hours=2, needs="陪伴")
    ledger.timebank.accept(actor=worker, request_id=first, helper=helper.address)
    with refused(ledger, InsufficientBalance, "PointsInsufficientBalance",
                 {"member": requester.address, "schemeId": scheme.id, "balance": 1, "needed": 2},
                 actor=worker.address, action="timebank-accept", state=state):  # fmt: skip
        ledger.timebank.accept(actor=worker, request_id=second, helper=helper.address)


def test_a_proxy_without_the_grant_is_refused_and_again_after_revocation(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    other = spare(1)
    state = snapshot(ledger, scheme, requester.address)
    args = {"member": requester.address, "account": other.address}
    with refused(ledger, NotAuthorized, "TimeBankNotMemberOrProxy",
                 args,
                 actor=other.address, action="timebank-post", state=state) as info:  # fmt: skip
        post(ledger, scheme, requester, other)
    assert "`vpl proxy grant`" in str(info.value)

    ledger.proxies.grant(
        actor=ledger.operator("registrar"),
        member=requester.address,
        proxy=other.address,
        consent=b"%PDF-1.4 signed consent",
        file_name="consent.pdf",
    )
    request_id = post(ledger, scheme, requester, other)
    revoked = ledger.proxies.revoke(
        actor=ledger.operator("registrar"), member=requester.address, proxy=other.address
    )
    assert not revoked.active
    args = {"member": requester.address, "account": other.address}
    with refused(ledger, NotAuthorized, "TimeBankNotMemberOrProxy",
                 args,
                 actor=other.address, action="timebank-cancel", state=state):  # fmt: skip
        ledger.timebank.cancel(actor=other, request_id=request_id)


def test_accepting_ones_own_request_and_confirming_twice_or_as_the_helper(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    helper = new_member(ledger)
    _HOLDERS.add(helper.address)
    helpers_worker = spare(1)
    ledger.proxies.grant(
        actor=ledger.operator("registrar"),
        member=helper.address,
        proxy=helpers_worker.address,
        consent="同意",
    )
    request_id = post(ledger, scheme, requester, worker)
    state = snapshot(ledger, scheme, requester.address, helper.address)
    tb = ledger.timebank
    with refused(ledger, InvalidRequest, "TimeBankSelfHelp",
                 {"requestId": request_id, "helper": requester.address},
                 actor=worker.address, action="timebank-accept", state=state):  # fmt: skip
        tb.accept(actor=worker, request_id=request_id, helper=requester.address)

    tb.accept(actor=helpers_worker, request_id=request_id, helper=helper.address)
    with refused(ledger, NotAuthorized, "TimeBankNotMemberOrProxy",
                 {"member": requester.address, "account": helpers_worker.address},
                 actor=helpers_worker.address, action="timebank-confirm", state=state):  # fmt: skip
        tb.confirm(actor=helpers_worker, request_id=request_id)
    tb.confirm(actor=worker, request_id=request_id)
    with refused(ledger, StateConflict, "TimeBankInvalidStatus",
                 {"requestId": request_id, "status": RequestStatus.COMPLETED},
                 actor=worker.address, action="timebank-confirm", state=state) as info:  # fmt: skip
        tb.confirm(actor=worker, request_id=request_id)
    assert f"request {request_id} is completed" in str(info.value)


def test_resolving_by_a_party_or_a_non_reviewer_or_beyond_the_hold(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester, helper, request_id = disputed(ledger, scheme, worker, holds=5, hours=2, reason=1)
    tb = ledger.timebank
    state = snapshot(ledger, scheme, requester.address, helper.address)
    with refused(ledger, NotAuthorized, "TimeBankNotReviewer",
                 {"schemeId": scheme.id, "account": worker.address},
                 actor=worker.address, action="timebank-resolve", state=state):  # fmt: skip
        tb.resolve(reviewer=worker, request_id=request_id, helper_hours=2)
    reviewer = ledger.operator("reviewer-1")
    with refused(ledger, InvalidRequest, "TimeBankSplitExceeded",
                 {"requestId": request_id, "hoursHeld": 2, "helperHours": 3},
                 actor=reviewer.address, action="timebank-resolve", state=state):  # fmt: skip
        tb.resolve(reviewer=reviewer, request_id=request_id, helper_hours=3)
    tb.resolve(reviewer=reviewer, request_id=request_id, helper_hours=2)


def test_acting_for_a_frozen_member_is_refused(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    registrar = ledger.operator("registrar")
    ledger.freeze_member(registrar=registrar, address=requester.address, reason=3)
    try:
        with refused(ledger, MemberFrozen, "TimeBankMemberFrozen",
                     {"member": requester.address},
                     actor=worker.address, action="timebank-post",
                     state=snapshot(ledger, scheme, requester.address)):  # fmt: skip
            post(ledger, scheme, requester, worker)
    finally:
        ledger.unfreeze_member(registrar=registrar, address=requester.address, reason=3)


@pytest.mark.parametrize(
    ("hours", "kind", "match", "error"),
    [
        (0, "cleaning", "must be 1 to 1000", InvalidAmount),
        (-1, "cleaning", "must be 1 to 1000", InvalidAmount),
        (1001, "cleaning", "must be 1 to 1000", InvalidAmount),
        (2**256, "cleaning", "must be 1 to 1000", InvalidAmount),
        ("1.5", "cleaning", "whole number", InvalidAmount),
        (1, "cleanin", "Did you mean 'cleaning'", UnknownName),
    ],
)
def test_bad_hours_or_kind_are_refused_before_anything_is_sent(
    ledger: Ledger,
    scheme: Scheme,
    worker: LocalAccount,
    hours: Any,
    kind: str,
    match: str,
    error: type[InputError],
) -> None:
    requester = elderly(ledger, scheme, 5, worker)
    with refused_off_chain(ledger, error, match, state=snapshot(ledger, scheme, requester.address)):
        post(ledger, scheme, requester, worker, hours=hours, kind=kind)


def test_a_scheme_that_is_not_a_time_bank_is_refused(
    ledger: Ledger, worker: LocalAccount, scheme: Scheme
) -> None:
    requester = elderly(ledger, scheme, 1, worker)
    other = new_scheme(ledger)
    with refused_off_chain(
        ledger, InputError, "not a time-bank scheme", state=snapshot(ledger, scheme)
    ):
        post(ledger, other, requester, worker, hours=1)


# --- proxies -------------------------------------------------------------------------------------


def test_a_proxy_grant_keeps_the_consent_off_chain_and_lists_from_events(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    member = new_member(ledger)
    consent = "本人王某某同意由社区工作者代为办理爱心银行事务"
    registrar = ledger.operator("registrar")
    grant = ledger.proxies.grant(
        actor=registrar, member=member.address, proxy=worker.address, consent=consent
    )
    assert (grant.consent_hash, grant.granted_by, grant.active, grant.consent_on_file) == (
        "0x" + keccak(consent.encode()).hex(),
        registrar.address,
        True,
        True,
    )
    again = ledger.proxies.grant(
        actor=registrar, member=member.address, proxy=worker.address, consent=consent
    )
    assert again == grant  # the same grant again is a no-op
    stored = ledger.proxies.consent(
        member=member.address, proxy=worker.address, consent_hash=grant.consent_hash
    )
    assert stored is not None and stored.document == consent
    assert [g.proxy for g in ledger.proxies.proxies(member.address)] == [worker.address]

    ledger.proxies.revoke(actor=registrar, member=member.address, proxy=worker.address)
    assert ledger.proxies.proxies(member.address) == []
    history = ledger.proxies.proxies(member.address, include_revoked=True)
    assert [(g.proxy, g.active, g.revoked_by) for g in history] == [
        (worker.address, False, registrar.address)
    ]
    with refused(ledger, StateConflict, "MemberNotProxy",
                 {"member": member.address, "proxy": worker.address},
                 actor=registrar.address, action="proxy-revoke",
                 state=lambda: store_rows(ledger)):  # fmt: skip
        ledger.proxies.revoke(actor=registrar, member=member.address, proxy=worker.address)


def test_only_a_registrar_the_council_or_the_member_grants_a_proxy(
    ledger: Ledger, worker: LocalAccount
) -> None:
    member = new_member(ledger)
    stranger = spare(1)
    with refused(ledger, NotAuthorized, "MemberUnauthorized",
                 {"account": stranger.address},
                 actor=stranger.address, action="proxy-grant",
                 state=lambda: (store_rows(ledger), ledger.proxies.proxies(member.address))):  # fmt: skip
        ledger.proxies.grant(
            actor=stranger, member=member.address, proxy=worker.address, consent="同意"
        )
    with refused_off_chain(
        ledger, InputError, "consent is empty", state=lambda: store_rows(ledger)
    ):
        ledger.proxies.grant(
            actor=ledger.operator("registrar"), member=member.address, proxy=worker.address,
            consent="  ",
        )  # fmt: skip


def test_a_binary_consent_without_its_file_name_is_refused_and_nothing_is_granted(
    ledger: Ledger, worker: LocalAccount
) -> None:
    member = new_member(ledger)
    with pytest.raises(InputError, match="file name"):
        ledger.proxies.grant(
            actor=ledger.operator("registrar"),
            member=member.address,
            proxy=worker.address,
            consent=b"\x89PNG\r\n\x1a\n\xff\xfe",
        )
    assert not ledger.members.is_proxy(member.address, worker.address)
    assert ledger.proxies.proxies(member.address, include_revoked=True) == []


def test_listed_requests_show_their_details_read_from_their_events_in_one_request(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time bank keeps a request's details hash in its RequestPosted event only: a listed
    page reads the hashes of all its requests in one log request, and each request's details
    (kept off chain) show where they match that hash. A member's requests are found from their
    events (posted by them, or accepted by them), not by reading every request on chain."""
    requester = elderly(ledger, scheme, 6, worker)
    ids = [post(ledger, scheme, requester, worker, needs=f"第 {n} 次: 买菜") for n in range(3)]
    contract = ledger.timebank_contract
    asked: list[Any] = []
    logs = contract.logs

    def counting(event: str, **filters: object) -> Any:
        asked.append((event, filters))
        return logs(event, **filters)

    monkeypatch.setattr(contract, "logs", counting)
    listed = ledger.timebank.requests(member=requester.address, viewer=worker.address)
    assert [v.request.id for v in listed] == ids[::-1]
    assert [v.needs for v in listed] == [f"第 {n} 次: 买菜" for n in (2, 1, 0)]
    assert asked == [
        ("RequestPosted", {"requester": requester.address}),  # which requests may be theirs
        ("RequestAccepted", {"helper": requester.address}),
        ("RequestPosted", {"requestId": ids[::-1]}),  # the page's details hashes, at once
    ]
    assert all(v.request.details_hash.startswith("0x") for v in listed)
    assert len({v.request.details_hash for v in listed}) == 3
    assert contract.request(ids[0], details=False).details_hash == ""
