"""ledger.spending.gifts: gifts and community funds through the Ledger. Texts (memo, fund details, purpose)
stay in the store with only their salted hash on chain; every request is idempotent by its request
id; bad input is refused before anything is sent; a contract refusal leaves nothing behind but the
record of the refused attempt."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import func, select

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.errors import (
    InputError,
    InsufficientBalance,
    InvalidAmount,
    NotAuthorized,
    StateConflict,
)
from ledger.ledger import Ledger
from ledger.spending.gifts import FundView
from ledger.store import session
from ledger.store.gifts import FundDetails, GiftEntry
from ledger.store.records import details_hash
from tests.contracts.helpers import spare
from tests.earning_helpers import assert_unchanged, last_refusal_id, refusals_since
from tests.factories import Member, new_holder, new_scheme


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger)


@pytest.fixture(scope="module")
def worker(ledger: Ledger) -> LocalAccount:
    """A community worker, recorded as proxy of the members of these tests."""
    return spare(0)


@pytest.fixture(scope="module")
def manager() -> LocalAccount:
    return spare(1)


def resident(ledger: Ledger, scheme: Scheme, worker: LocalAccount, points: int = 0) -> Member:
    """A member holding `points`, with `worker` recorded as their proxy."""
    m = new_holder(ledger, scheme.id, points)
    ledger.members.grant_proxy(
        ledger.operator("registrar"), m.address, worker.address, b"\x01" * 32
    )
    return m


def pair(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount, points: int
) -> tuple[Member, Member]:
    """A giver holding `points` and a recipient holding none, both residents of `worker`."""
    return resident(ledger, scheme, worker, points), resident(ledger, scheme, worker)


def gift_args(
    worker: LocalAccount,
    scheme: int | str,
    giver: Member,
    recipient: Member,
    amount: Any,
    **more: Any,
) -> dict[str, Any]:
    """The arguments of ``ledger.gifts.give``: `worker` gives `amount` for `giver`."""
    return dict(
        operator=worker,
        scheme=scheme,
        giver=giver.address,
        recipient=recipient.address,
        amount=amount,
        **more,
    )


def new_fund(
    ledger: Ledger,
    scheme: int | str,
    manager: LocalAccount,
    name: str,
    *,
    issuer: LocalAccount | None = None,
    **more: Any,
) -> FundView:
    """``ledger.gifts.create_fund`` by `issuer` (issuer-vol unless given): a fund of `scheme`
    managed by `manager`."""
    return ledger.gifts.create_fund(
        issuer=issuer or ledger.operator("issuer-vol"),
        scheme=scheme,
        manager=manager.address,
        name=name,
        **more,
    )


def rows(ledger: Ledger) -> tuple[int, int]:
    with session(ledger.engine) as db:
        return (
            db.exec(select(func.count()).select_from(GiftEntry)).one(),
            db.exec(select(func.count()).select_from(FundDetails)).one(),
        )


def state(ledger: Ledger, scheme_id: int, *addresses: str) -> Any:
    g = ledger.gifts_contract
    return (
        [ledger.points.balance_of(a, scheme_id) for a in addresses],
        g.fund_count(),
        g.funds_balance(scheme_id),
        rows(ledger),
    )


def test_a_gift_keeps_its_memo_off_chain_with_a_salted_hash_on_chain(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    giver, recipient = pair(ledger, scheme, worker, 100)
    memo = "  谢谢您 陪我去医院  "
    receipt = ledger.gifts.give(**gift_args(worker, scheme.code, giver, recipient, "25", memo=memo))
    assert (receipt.kind, receipt.amount, receipt.text, receipt.repeated) == (
        "gift",
        25,
        "谢谢您 陪我去医院",
        False,
    )
    assert ledger.points.balance_of(recipient.address, scheme.id) == 25
    row = ledger.gifts.entry(receipt.request_id)
    stored = json.loads(row.text_json)
    assert stored["text"] == "谢谢您 陪我去医院" and len(stored["salt"]) == 32
    assert row.text_hash == "0x" + details_hash(stored).hex()
    (gift,) = [
        g
        for g in ledger.gifts_contract.gifts_of(giver=giver.address)
        if g.tx_hash == receipt.tx_hash
    ]
    assert gift.memo_hash.hex() == row.text_hash[2:]
    assert gift.operator == worker.address
    # the memo text itself is nowhere in the transaction
    tx = ledger.w3.eth.get_transaction(receipt.tx_hash)  # type: ignore[arg-type]
    assert "谢谢".encode().hex() not in bytes(tx["input"]).hex()


def test_a_repeated_request_id_returns_the_first_outcome(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    giver, recipient = pair(ledger, scheme, worker, 100)
    args = gift_args(worker, scheme.id, giver, recipient, 10, memo="生日快乐", request_id="gift-42")
    first = ledger.gifts.give(**args)
    again = ledger.gifts.give(**args)
    assert again.repeated and again.tx_hash == first.tx_hash
    assert ledger.points.balance_of(recipient.address, scheme.id) == 10
    with pytest.raises(InputError, match="already used for another request"):
        ledger.gifts.give(**{**args, "amount": 11})


def test_an_interrupted_gift_is_found_on_chain_and_not_sent_again(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    giver, recipient = pair(ledger, scheme, worker, 100)
    args = gift_args(worker, scheme.id, giver, recipient, 7, request_id="interrupted-gift")
    first = ledger.gifts.give(**args)
    with session(ledger.engine) as db:  # as if the answer had been lost
        row = db.exec(select(GiftEntry).where(GiftEntry.request_id == "interrupted-gift")).one()
        row.tx_hash = None
        db.add(row)
    again = ledger.gifts.give(**args)
    assert again.repeated and again.tx_hash == first.tx_hash
    assert ledger.points.balance_of(recipient.address, scheme.id) == 7


@pytest.mark.parametrize(
    ("amount", "kind", "match"),
    [
        ("0", InvalidAmount, "must be positive"),
        ("-5", InvalidAmount, "must be positive"),
        ("1.5", InvalidAmount, "not a whole number"),
        (2**88, InvalidAmount, "larger than the maximum"),
    ],
)
def test_bad_amounts_are_refused_before_anything_is_sent(
    ledger: Ledger,
    scheme: Scheme,
    worker: LocalAccount,
    amount: Any,
    kind: type[Exception],
    match: str,
) -> None:
    giver, recipient = pair(ledger, scheme, worker, 10)
    before = state(ledger, scheme.id, giver.address, recipient.address)
    with pytest.raises(kind, match=match):
        ledger.gifts.give(**gift_args(worker, scheme.id, giver, recipient, amount))
    assert_unchanged(before, state(ledger, scheme.id, giver.address, recipient.address))


def test_a_refused_gift_leaves_no_row_and_is_written_down(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount
) -> None:
    giver, recipient = pair(ledger, scheme, worker, 10)
    before = state(ledger, scheme.id, giver.address, recipient.address)
    last = last_refusal_id(ledger)
    with pytest.raises(InsufficientBalance) as info:
        ledger.gifts.give(**gift_args(worker, scheme.id, giver, recipient, 11, memo="too much"))
    assert "holds 10 points" in str(info.value)
    assert_unchanged(before, state(ledger, scheme.id, giver.address, recipient.address))
    (row,) = refusals_since(ledger, last)
    assert (row.actor, row.action, row.error) == (
        worker.address,
        "gift",
        "PointsInsufficientBalance",
    )


def test_a_scheme_without_gifts_is_refused_clearly(
    ledger: Ledger, worker: LocalAccount, manager: LocalAccount
) -> None:
    closed = new_scheme(ledger, flags=SchemeFlag.REDEMPTION)
    giver, recipient = pair(ledger, closed, worker, 10)
    before = state(ledger, closed.id, giver.address, recipient.address)
    with pytest.raises(StateConflict, match="does not allow gifts"):
        ledger.gifts.give(**gift_args(worker, closed.id, giver, recipient, 1))
    with pytest.raises(StateConflict, match="does not allow gifts"):
        new_fund(ledger, closed.id, manager, "不可")
    assert_unchanged(before, state(ledger, closed.id, giver.address, recipient.address))


def test_a_fund_is_created_once_by_name_and_shows_its_details(
    ledger: Ledger, scheme: Scheme, manager: LocalAccount
) -> None:
    description = "社区微改造与困难居民帮扶"
    view = new_fund(ledger, scheme.code, manager, "百瑞景共同缔造基金", description=description)
    assert (view.name, view.description, view.scheme_code) == (
        "百瑞景共同缔造基金",
        "社区微改造与困难居民帮扶",
        scheme.code,
    )
    assert view.fund.manager == manager.address and view.fund.balance == 0
    count = ledger.gifts_contract.fund_count()
    again = new_fund(ledger, scheme.code, manager, "百瑞景共同缔造基金")
    assert again.fund.id == view.fund.id and ledger.gifts_contract.fund_count() == count
    assert view.fund.id in [f.fund.id for f in ledger.gifts.funds(scheme=scheme.id)]


def test_an_interrupted_fund_creation_is_resumed_not_repeated(
    ledger: Ledger, scheme: Scheme, manager: LocalAccount
) -> None:
    view = new_fund(ledger, scheme.id, manager, "中断的基金")
    with session(ledger.engine) as db:
        row = db.exec(select(FundDetails).where(FundDetails.fund_id == view.fund.id)).one()
        row.fund_id = None
        db.add(row)
    count = ledger.gifts_contract.fund_count()
    again = new_fund(ledger, scheme.id, manager, "中断的基金")
    assert again.fund.id == view.fund.id and ledger.gifts_contract.fund_count() == count


def test_a_non_issuer_cannot_create_a_fund_and_nothing_is_kept(
    ledger: Ledger, scheme: Scheme, manager: LocalAccount
) -> None:
    before = state(ledger, scheme.id)
    with pytest.raises(NotAuthorized, match="neither the issuer"):
        new_fund(ledger, scheme.id, manager, "越权基金", issuer=ledger.operator("issuer-bee"))
    assert_unchanged(before, state(ledger, scheme.id))
    with pytest.raises(InputError, match="name is required"):
        new_fund(ledger, scheme.id, manager, " ", issuer=ledger.operator("issuer-vol"))


def test_donations_and_grants_make_a_visible_history_with_purposes(
    ledger: Ledger,
    scheme: Scheme,
    worker: LocalAccount,
    issuer: LocalAccount,
    manager: LocalAccount,
) -> None:
    fund_id = new_fund(ledger, scheme.id, manager, "助老基金").fund.id
    donor, elder = pair(ledger, scheme, worker, 80)
    d = ledger.gifts.donate(
        operator=worker, fund_id=fund_id, member=donor.address, amount=80, note="捐给助老"
    )
    assert (d.kind, d.fund_id, d.amount) == ("donation", fund_id, 80)
    with pytest.raises(InputError, match="purpose of a grant is required"):
        ledger.gifts.grant(
            manager=manager, fund_id=fund_id, recipient=elder.address, amount=5, purpose=""
        )
    g = ledger.gifts.grant(
        manager=manager,
        fund_id=fund_id,
        recipient=elder.address,
        amount=30,
        purpose="为独居老人购买助行器",
    )
    assert (g.kind, g.account, g.recipient) == ("grant", manager.address, elder.address)
    new_manager = ledger.operator("reviewer-2")
    view = ledger.gifts.set_manager(issuer=issuer, fund_id=fund_id, manager=new_manager.address)
    assert view.fund.manager == new_manager.address
    assert (
        ledger.gifts.set_manager(
            issuer=issuer, fund_id=fund_id, manager=new_manager.address
        ).fund.manager
        == new_manager.address
    )  # naming the current manager again is a no-op
    f = ledger.gifts.fund(fund_id).fund
    assert (f.balance, f.donated, f.granted) == (50, 80, 30)
    history = ledger.gifts.history(fund_id)
    assert [(h.entry.kind, h.entry.account, h.entry.amount, h.text) for h in history] == [
        ("created", manager.address, 0, "助老基金"),
        ("donation", donor.address, 80, "捐给助老"),
        ("grant", elder.address, 30, "为独居老人购买助行器"),
        ("manager", new_manager.address, 0, None),
    ]
    assert history[1].entry.operator == worker.address
    assert history[2].entry.tx_hash == g.tx_hash


def test_a_grant_beyond_the_fund_is_refused_and_nothing_changes(
    ledger: Ledger, scheme: Scheme, worker: LocalAccount, manager: LocalAccount
) -> None:
    fund_id = new_fund(ledger, scheme.id, manager, "小基金").fund.id
    donor, elder = pair(ledger, scheme, worker, 10)
    ledger.gifts.donate(operator=worker, fund_id=fund_id, member=donor.address, amount=10)
    before = state(ledger, scheme.id, elder.address), ledger.gifts_contract.fund(fund_id)
    with pytest.raises(InsufficientBalance, match=r"fund .* holds 10 points, fewer than the 11"):
        ledger.gifts.grant(
            manager=manager, fund_id=fund_id, recipient=elder.address, amount=11, purpose="买菜"
        )
    with pytest.raises(NotAuthorized, match="not the manager"):
        ledger.gifts.grant(
            manager=worker, fund_id=fund_id, recipient=elder.address, amount=1, purpose="买菜"
        )
    with pytest.raises(InputError, match="fund id"):
        ledger.gifts.fund(0)
    after = state(ledger, scheme.id, elder.address), ledger.gifts_contract.fund(fund_id)
    assert_unchanged(before, after)
