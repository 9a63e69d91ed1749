"""Catalogue: a scheme's merchants list items; members (or their proxies) redeem them, which holds
their points and lowers the stock; the merchant fulfils (the points are burned) or the order is
cancelled or expires (the points return). Every refusal names its reason and changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain.contracts import OrderStatus, SchemeFlag
from ledger.chain.contracts.points import Lot
from ledger.chain.revert_messages import MESSAGES
from ledger.chain.tx import TxResult
from ledger.errors import (
    CatalogueInvalid,
    CatalogueUnauthorized,
    ContractRevert,
    MemberLimitReached,
    OrderConflict,
    PriceChanged,
    SoldOut,
)
from ledger.ledger import Ledger
from tests.catalogue_helpers import (
    Shop,
    assert_supply_invariant,
    catalogue_state,
    community_worker,
    grant_proxy,
    holder,
    list_item,
    new_shop,
)
from tests.conftest import _start
from tests.contracts.governance import govern, issue_in_lots
from tests.contracts.helpers import MAX_BALANCE, events, send, spare
from tests.contracts.refusals import (
    points_frozen,
    points_paused,
    points_short,
    reverts,
    reverts_unchanged,
)
from tests.earning_helpers import DAY, HOUR, advance, now
from tests.factories import Member

CODE = bytes.fromhex("c0de" * 16)


@pytest.fixture
def shop(ledger: Ledger) -> Shop:
    return new_shop(ledger)


def redeem(
    ledger: Ledger, signer: LocalAccount, member: str, item_id: int, quantity: int, price: int
) -> TxResult:
    return ledger.catalogue_contract.redeem(signer, member, item_id, quantity, price)


def refused(
    ledger: Ledger,
    shop: Shop,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *members: str,
    items: Sequence[int] = (),
    orders: Sequence[int] = (),
) -> AbstractContextManager[Any]:
    """`reverts`, and nothing of the catalogue, the `members`, `items` and `orders` changed."""
    return reverts_unchanged(
        kind,
        error,
        args,
        lambda: catalogue_state(ledger, shop.id, members, items=items, orders=orders),
    )


def refused_redeem(
    ledger: Ledger,
    shop: Shop,
    member: Member,
    item_id: int,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *,
    quantity: int = 1,
    price: int | None = None,
    signer: LocalAccount | None = None,
) -> None:
    """Redeeming `quantity` of the item (at its price unless another `price` is given, by the
    member unless `signer` is given) is refused with exactly `error` and `args`, changing
    nothing."""
    if price is None:
        price = ledger.catalogue_contract.item(item_id).price
    with refused(ledger, shop, kind, error, args, member.address, items=[item_id]):
        redeem(ledger, signer or member.account, member.address, item_id, quantity, price)


def order_refused(
    ledger: Ledger,
    shop: Shop,
    order_id: int,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
) -> AbstractContextManager[Any]:
    """`refused`, and nothing of the order, its item and its member changed either."""
    order = ledger.catalogue_contract.order(order_id)
    return refused(
        ledger, shop, kind, error, args, order.member, items=[order.item_id], orders=[order_id]
    )


def list_directly(
    ledger: Ledger, merchant: LocalAccount, scheme_id: int, start: int, end: int, **terms: Any
) -> TxResult:
    """List an item straight through the contract client, open from `start` to `end`: one unit
    at one point, one a member, unless `terms` say otherwise."""
    fields = {
        "price": 1,
        "stock": 1,
        "per_member": 1,
        "collection_period": HOUR,
        "details_hash": CODE,
    }
    return ledger.catalogue_contract.list_item(
        merchant, scheme_id, available_from=start, available_until=end, **{**fields, **terms}
    )


def update_directly(
    ledger: Ledger, signer: LocalAccount, item_id: int, start: int, end: int, **terms: Any
) -> TxResult:
    """Change an item straight through the contract client: one unit at one point, one a member,
    open from `start` to `end`, unless `terms` say otherwise."""
    fields = {"price": 1, "stock": 1, "per_member": 1, **terms}
    return ledger.catalogue_contract.update_item(
        signer, item_id, available_from=start, available_until=end, **fields
    )


# --- listing -------------------------------------------------------------------------------------


def test_a_merchant_lists_an_item_of_a_scheme_that_allows_redemption(
    ledger: Ledger, shop: Shop
) -> None:
    t = now(ledger)
    c = ledger.catalogue_contract
    result = list_directly(
        ledger, shop.merchant, shop.id, t, t + DAY, price=200, stock=50, per_member=2
    )
    item_id = c.listed_id(result)
    item = c.item(item_id)
    assert (item.scheme_id, item.merchant, item.price, item.stock, item.per_member) == (
        shop.id,
        shop.merchant.address,
        200,
        50,
        2,
    )
    assert (item.available_from, item.available_until, item.collection_period) == (
        t,
        t + DAY,
        HOUR,
    )
    assert item.details_hash == CODE and not item.delisted
    [listed] = events(c, result, "ItemListed")
    assert listed["itemId"] == item_id and listed["merchant"] == shop.merchant.address


def test_only_a_merchant_of_the_scheme_lists(ledger: Ledger, shop: Shop) -> None:
    t = now(ledger)
    for stranger in (shop.issuer, ledger.operator("issuer-bee")):
        args = {"schemeId": shop.id, "account": stranger.address}
        with refused(ledger, shop, CatalogueUnauthorized, "CatalogueNotMerchant", args):
            list_directly(ledger, stranger, shop.id, t, t + DAY)


def test_a_scheme_without_redemption_has_no_catalogue(ledger: Ledger) -> None:
    closed = new_shop(ledger, flags=SchemeFlag.GIFTS)
    t = now(ledger)
    with reverts(OrderConflict, "CatalogueRedemptionClosed", {"schemeId": closed.id}):
        list_directly(ledger, closed.merchant, closed.id, t, t + DAY)


@pytest.mark.parametrize(
    ("change", "error", "args"),
    [
        ({"price": 0}, "CatalogueInvalidPrice", {"price": 0}),
        ({"price": MAX_BALANCE + 1}, "CatalogueInvalidPrice", {"price": MAX_BALANCE + 1}),
        ({"stock": 0}, "CatalogueInvalidStock", {"stock": 0}),
        ({"stock": 1_000_001}, "CatalogueInvalidStock", {"stock": 1_000_001}),
        ({"stock": 2**256 - 1}, "CatalogueInvalidStock", {"stock": 2**256 - 1}),
        ({"per_member": 0}, "CatalogueInvalidLimit", {"perMember": 0}),
        ({"collection_period": 0}, "CatalogueInvalidPeriod", {"collectionPeriod": 0}),
        ({"details_hash": bytes(32)}, "CatalogueInvalidDetails", {}),
    ],
)
def test_listing_refuses_figures_out_of_range(
    ledger: Ledger, shop: Shop, change: dict[str, Any], error: str, args: dict[str, Any]
) -> None:
    t = now(ledger)
    terms = {"price": 10, "stock": 10, **change}
    with refused(ledger, shop, CatalogueInvalid, error, args):
        list_directly(ledger, shop.merchant, shop.id, t, t + DAY, **terms)


def test_listing_refuses_a_window_that_is_inverted_or_over(ledger: Ledger, shop: Shop) -> None:
    t = now(ledger)
    for start, end in ((t + DAY, t + HOUR), (t - DAY, t - HOUR)):
        args = {"availableFrom": start, "availableUntil": end}
        with reverts(CatalogueInvalid, "CatalogueInvalidWindow", args):
            list_directly(ledger, shop.merchant, shop.id, start, end)


def test_the_merchant_updates_an_item_and_no_one_else(ledger: Ledger, shop: Shop) -> None:
    item = list_item(ledger, shop).item
    c = ledger.catalogue_contract
    t = now(ledger)
    update_directly(ledger, shop.merchant, item.id, t, t + DAY, price=60, stock=0, per_member=3)
    updated = c.item(item.id)
    assert (updated.price, updated.stock, updated.per_member) == (60, 0, 3)
    for stranger in (shop.issuer, spare(1)):
        args = {"itemId": item.id, "account": stranger.address}
        with refused(
            ledger, shop, CatalogueUnauthorized, "CatalogueUnauthorized", args, items=[item.id]
        ):
            update_directly(ledger, stranger, item.id, t, t + DAY)


def test_a_merchant_whose_role_was_revoked_can_no_longer_update(ledger: Ledger, shop: Shop) -> None:
    item = list_item(ledger, shop).item
    ledger.set_scheme_role(
        issuer=shop.issuer,
        scheme=shop.id,
        role_name="merchant",
        account=shop.merchant.address,
        grant=False,
    )
    with reverts(
        CatalogueUnauthorized,
        "CatalogueNotMerchant",
        {"schemeId": shop.id, "account": shop.merchant.address},
    ):
        update_directly(ledger, shop.merchant, item.id, item.available_from, item.available_until)


def test_the_merchant_the_issuer_or_the_council_delists(ledger: Ledger, shop: Shop) -> None:
    c = ledger.catalogue_contract
    by_merchant, by_issuer, by_council = (list_item(ledger, shop).item.id for _ in range(3))
    c.delist_item(shop.merchant, by_merchant)
    c.delist_item(shop.issuer, by_issuer)
    govern(ledger, [c._call("delistItem", by_council, summary="delist")])
    assert all(c.item(i).delisted for i in (by_merchant, by_issuer, by_council))

    listed = list_item(ledger, shop).item.id
    stranger = spare(1)
    with reverts(
        CatalogueUnauthorized,
        "CatalogueUnauthorized",
        {"itemId": listed, "account": stranger.address},
    ):
        c.delist_item(stranger, listed)
    with reverts(OrderConflict, "CatalogueDelisted", {"itemId": by_merchant}):
        c.delist_item(shop.merchant, by_merchant)


# --- redeeming -----------------------------------------------------------------------------------


def test_redeeming_holds_the_points_and_lowers_the_stock(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 500)
    item = list_item(ledger, shop, price=50, stock=10, per_member=5).item
    c, p = ledger.catalogue_contract, ledger.points

    result = redeem(ledger, member.account, member.address, item.id, 3, 50)

    order_id = c.placed_id(result)
    order = c.order(order_id)
    assert (order.item_id, order.member, order.quantity, order.points) == (
        item.id,
        member.address,
        3,
        150,
    )
    assert order.status is OrderStatus.HELD and order.fulfilment_hash is None
    block_time = int(ledger.w3.eth.get_block(result.block_number)["timestamp"])
    assert order.expires_at == block_time + item.collection_period
    assert c.item(item.id).stock == 7 and c.taken_by(item.id, member.address) == 3
    assert p.balance_of(member.address, shop.id) == 350
    assert p.held_total(shop.id) == 150
    assert order.hold_id == order_id  # an order numbers its own hold
    assert p.held_by(shop.id, c.address) == 150
    held = events(p, result, "PointsHeld")[0]
    assert (held["holdId"], held["owner"], held["holder"], held["amount"]) == (
        order_id,
        member.address,
        c.address,
        150,
    )
    assert c.order_lots(order_id) == []  # the scheme's points never expire
    [placed] = events(c, result, "OrderPlaced")
    assert placed == {
        "orderId": order_id,
        "itemId": item.id,
        "member": member.address,
        "quantity": 3,
        "points": 150,
        "holdId": order.hold_id,
        "expiresAt": order.expires_at,
        "by": member.address,
    }
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_a_proxy_redeems_for_the_member_and_a_stranger_cannot(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100, funded=False)
    item = list_item(ledger, shop, price=10).item
    worker = community_worker()
    args = {"member": member.address, "account": worker.address}

    def refused_to_the_worker() -> None:
        kind, error = CatalogueUnauthorized, "CatalogueNotMemberOrProxy"
        refused_redeem(ledger, shop, member, item.id, kind, error, args, signer=worker)

    refused_to_the_worker()

    grant_proxy(ledger, member.address, worker.address)
    order_id = ledger.catalogue_contract.placed_id(
        redeem(ledger, worker, member.address, item.id, 1, 10)
    )
    assert ledger.catalogue_contract.order(order_id).member == member.address
    assert ledger.points.balance_of(member.address, shop.id) == 90

    ledger.members.revoke_proxy(ledger.operator("registrar"), member.address, worker.address)
    refused_to_the_worker()


def test_redeeming_more_than_the_balance_is_refused(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 40)
    item = list_item(ledger, shop, price=50).item
    refused_redeem(ledger, shop, member, item.id, *points_short(member.address, shop.id, 40, 50))


def test_a_changed_price_is_refused(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 500)
    item = list_item(ledger, shop, price=50).item
    t = now(ledger)
    update_directly(
        ledger,
        shop.merchant,
        item.id,
        item.available_from,
        t + DAY,
        price=80,
        stock=item.stock,
        per_member=item.per_member,
    )
    for seen in (50, 2**256 - 1):
        args = {"itemId": item.id, "price": 80, "expected": seen}
        refused_redeem(
            ledger, shop, member, item.id, PriceChanged, "CataloguePriceChanged", args, price=seen
        )


def test_sold_out_stock_is_refused(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 1000)
    item = list_item(ledger, shop, price=10, stock=2, per_member=5).item
    args = {"itemId": item.id, "stock": 2, "requested": 3}
    refused_redeem(ledger, shop, member, item.id, SoldOut, "CatalogueSoldOut", args, quantity=3)
    redeem(ledger, member.account, member.address, item.id, 2, 10)
    args = {"itemId": item.id, "stock": 0, "requested": 1}
    refused_redeem(ledger, shop, member, item.id, SoldOut, "CatalogueSoldOut", args)


def test_the_per_member_limit_counts_every_order(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 1000)
    item = list_item(ledger, shop, price=10, per_member=2).item
    redeem(ledger, member.account, member.address, item.id, 1, 10)
    args = {"itemId": item.id, "member": member.address, "taken": 1, "requested": 2, "perMember": 2}
    refused_redeem(
        ledger, shop, member, item.id, MemberLimitReached, "CatalogueMemberLimit", args, quantity=2
    )


@pytest.mark.parametrize("quantity", [0, 1_000_001, 2**256 - 1])
def test_a_quantity_of_zero_or_out_of_range_is_refused(
    ledger: Ledger, shop: Shop, quantity: int
) -> None:
    member = holder(ledger, shop, 100)
    item = list_item(ledger, shop, price=10).item
    args = {"quantity": quantity}
    refused_redeem(
        ledger,
        shop,
        member,
        item.id,
        CatalogueInvalid,
        "CatalogueInvalidQuantity",
        args,
        quantity=quantity,
    )


def test_an_order_whose_points_overflow_is_refused(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    price = 2**87
    item = list_item(ledger, shop, price=price, per_member=5).item
    args = {"points": 2 * price}
    refused_redeem(
        ledger, shop, member, item.id, CatalogueInvalid, "CatalogueInvalidPoints", args, quantity=2
    )


def test_redeeming_outside_the_window_is_refused(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    t = now(ledger)
    later = list_item(ledger, shop, price=10, start=t + DAY, end=t + 2 * DAY).item
    soon_over = list_item(ledger, shop, price=10, start=t - 60, end=t + 300).item
    args = {"itemId": later.id, "availableFrom": t + DAY, "availableUntil": t + 2 * DAY}
    refused_redeem(ledger, shop, member, later.id, OrderConflict, "CatalogueOutsideWindow", args)
    advance(ledger, 301)
    args = {"itemId": soon_over.id, "availableFrom": t - 60, "availableUntil": t + 300}
    refused_redeem(
        ledger, shop, member, soon_over.id, OrderConflict, "CatalogueOutsideWindow", args
    )


def test_a_delisted_or_unknown_item_cannot_be_redeemed(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    item = list_item(ledger, shop, price=10).item
    ledger.catalogue_contract.delist_item(shop.merchant, item.id)
    args = {"itemId": item.id}
    refused_redeem(ledger, shop, member, item.id, OrderConflict, "CatalogueDelisted", args)
    missing = ledger.catalogue_contract.item_count() + 1
    with reverts(CatalogueInvalid, "CatalogueUnknownItem", {"itemId": missing}):
        redeem(ledger, member.account, member.address, missing, 1, 10)


def test_a_frozen_member_or_frozen_points_cannot_be_redeemed(ledger: Ledger, shop: Shop) -> None:
    item = list_item(ledger, shop, price=10).item
    frozen = holder(ledger, shop, 100)
    ledger.members.freeze(ledger.operator("registrar"), frozen.address, 7)
    refused_redeem(ledger, shop, frozen, item.id, *points_frozen(frozen.address))

    investigated = holder(ledger, shop, 100)
    ledger.points.set_frozen(
        shop.issuer, shop.id, investigated.address, 95, increase=True, case_ref=CODE
    )
    short = points_short(investigated.address, shop.id, 5, 10)
    refused_redeem(ledger, shop, investigated, item.id, *short)


def test_a_paused_scheme_cannot_be_redeemed(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    item = list_item(ledger, shop, price=10).item
    govern(ledger, [ledger.schemes.pause_call(shop.id)])
    try:
        refused_redeem(ledger, shop, member, item.id, *points_paused(shop.id))
    finally:
        govern(ledger, [ledger.schemes.unpause_call(shop.id)])


# --- the last units, many members at once --------------------------------------------------------


@pytest.mark.parametrize("mined", [False, True], ids=["estimated", "mined"])
def test_concurrent_redemptions_never_oversell(ledger: Ledger, shop: Shop, mined: bool) -> None:
    """Eight members send redemptions for the last three units at the same moment: exactly three
    succeed; the others are told it sold out and keep their points. With `mined`, the transactions
    skip gas estimation so that the chain itself refuses them."""
    members = [holder(ledger, shop, 100) for _ in range(8)]
    item = list_item(ledger, shop, price=20, stock=3, per_member=1).item
    c = ledger.catalogue_contract
    start = threading.Barrier(len(members))
    outcomes: dict[str, Any] = {}

    def attempt(member: Any) -> None:
        start.wait()
        try:
            if mined:
                call = c._call("redeem", member.address, item.id, 1, 20, summary="redeem")
                outcomes[member.address] = send(ledger, member.account, call, mined=True)
            else:
                outcomes[member.address] = redeem(
                    ledger, member.account, member.address, item.id, 1, 20
                )
        except Exception as exc:  # kept, so that a failure other than a refusal is shown
            outcomes[member.address] = exc

    threads = [threading.Thread(target=attempt, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [a for a, o in outcomes.items() if isinstance(o, TxResult)]
    lost = [o for o in outcomes.values() if not isinstance(o, TxResult)]
    assert len(won) == 3 and len(lost) == 5, outcomes
    for exc in lost:
        assert isinstance(exc, SoldOut), exc
        assert exc.args_by_name == {"itemId": item.id, "stock": 0, "requested": 1}
    assert c.item(item.id).stock == 0
    for m in members:
        assert ledger.points.balance_of(m.address, shop.id) == (80 if m.address in won else 100)
    assert ledger.points.held_total(shop.id) == 60
    assert_supply_invariant(ledger, shop.id, [m.address for m in members])


def test_an_order_gives_back_the_lots_its_points_came_from(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 10)  # 10 points that never expire
    issue_in_lots(ledger, shop.id, member.address, [(12, 20), (24, 30)])
    c, p = ledger.catalogue_contract, ledger.points
    lots = p.lots_of(member.address, shop.id)
    assert [lot.amount for lot in lots] == [20, 30]
    one = list_item(ledger, shop, price=15, stock=10, per_member=5).item
    several = list_item(ledger, shop, price=45, stock=10, per_member=5).item
    for item, taken in (
        (one, [Lot(lots[0].expiry_month, 15)]),
        (several, [lots[0], Lot(lots[1].expiry_month, 25)]),
    ):
        order_id = c.placed_id(
            redeem(ledger, member.account, member.address, item.id, 1, item.price)
        )
        assert c.order_lots(order_id) == taken  # the oldest lots first
        c.cancel(member.account, order_id)
        assert p.lots_of(member.address, shop.id) == lots  # back with their own expiry
        assert p.balance_of(member.address, shop.id) == 60


# --- fulfilling, cancelling, expiring ------------------------------------------------------------


def placed(ledger: Ledger, shop: Shop, *, points: int = 500, quantity: int = 2, **item: Any) -> Any:
    """A member holding `points`, an item at 50 a unit, and the member's held order for it."""
    member = holder(ledger, shop, points)
    view = list_item(ledger, shop, price=50, **item)
    result = redeem(ledger, member.account, member.address, view.item.id, quantity, 50)
    return member, view.item, ledger.catalogue_contract.placed_id(result)


def test_fulfilling_burns_the_points_and_records_the_code(ledger: Ledger, shop: Shop) -> None:
    member, item, order_id = placed(ledger, shop)
    c, p = ledger.catalogue_contract, ledger.points
    supply, burned = p.total_supply(shop.id), p.burned(shop.id)

    result = c.fulfil(shop.merchant, order_id, CODE)

    order = c.order(order_id)
    assert order.status is OrderStatus.FULFILLED and order.fulfilment_hash == CODE
    assert p.total_supply(shop.id) == supply - 100 and p.burned(shop.id) == burned + 100
    assert p.held_total(shop.id) == 0 and p.balance_of(member.address, shop.id) == 400
    assert p.held_by(shop.id, c.address) == 0
    assert c.item(item.id).stock == item.stock - 2  # handed over: the units stay taken
    [fulfilled] = events(c, result, "OrderFulfilled")
    assert fulfilled == {
        "orderId": order_id,
        "itemId": item.id,
        "merchant": shop.merchant.address,
        "points": 100,
        "fulfilmentHash": CODE,
    }
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_fulfilling_twice_is_refused(ledger: Ledger, shop: Shop) -> None:
    _, _, order_id = placed(ledger, shop)
    ledger.catalogue_contract.fulfil(shop.merchant, order_id, CODE)
    args = {"orderId": order_id, "status": OrderStatus.FULFILLED}
    with order_refused(
        ledger, shop, order_id, OrderConflict, "CatalogueOrderNotHeld", args
    ) as info:
        ledger.catalogue_contract.fulfil(shop.merchant, order_id, CODE)
    assert "already fulfilled" in str(info.value)


def test_only_the_items_merchant_fulfils(ledger: Ledger, shop: Shop) -> None:
    member, _, order_id = placed(ledger, shop)
    other = ledger.operator("issuer-bee")  # made a merchant of the scheme, not of this item
    ledger.set_scheme_role(
        issuer=shop.issuer, scheme=shop.id, role_name="merchant", account=other.address, grant=True
    )
    for stranger in (other, shop.issuer, member.account):
        args = {"schemeId": shop.id, "account": stranger.address}
        with order_refused(
            ledger, shop, order_id, CatalogueUnauthorized, "CatalogueNotMerchant", args
        ):
            ledger.catalogue_contract.fulfil(stranger, order_id, CODE)


def test_fulfilling_needs_a_code_and_a_live_order(ledger: Ledger, shop: Shop) -> None:
    _, _, order_id = placed(ledger, shop, collection_period=120)
    c = ledger.catalogue_contract
    with order_refused(ledger, shop, order_id, CatalogueInvalid, "CatalogueInvalidFulfilment", {}):
        c.fulfil(shop.merchant, order_id, bytes(32))
    advance(ledger, 121)
    expires_at = c.order(order_id).expires_at
    args = {"orderId": order_id, "expiresAt": expires_at}
    with order_refused(ledger, shop, order_id, OrderConflict, "CatalogueOrderExpired", args):
        c.fulfil(shop.merchant, order_id, CODE)
    missing = c.order_count() + 1
    with reverts(CatalogueInvalid, "CatalogueUnknownOrder", {"orderId": missing}):
        c.fulfil(shop.merchant, missing, CODE)


@pytest.mark.parametrize("by", ["member", "proxy", "merchant"])
def test_cancelling_returns_the_points_and_the_units(ledger: Ledger, shop: Shop, by: str) -> None:
    member, item, order_id = placed(ledger, shop, per_member=2)
    c, p = ledger.catalogue_contract, ledger.points
    signer = {"member": member.account, "merchant": shop.merchant, "proxy": community_worker()}[by]
    if by == "proxy":
        grant_proxy(ledger, member.address, signer.address)
    supply = p.total_supply(shop.id)

    result = c.cancel(signer, order_id)

    assert c.order(order_id).status is OrderStatus.CANCELLED
    assert p.balance_of(member.address, shop.id) == 500 and p.held_total(shop.id) == 0
    assert p.total_supply(shop.id) == supply
    assert c.item(item.id).stock == item.stock and c.taken_by(item.id, member.address) == 0
    [cancelled] = events(c, result, "OrderCancelled")
    assert cancelled == {
        "orderId": order_id,
        "itemId": item.id,
        "by": signer.address,
        "points": 100,
    }
    # the per-member limit counts the units again: the member may redeem two more
    redeem(ledger, member.account, member.address, item.id, 2, 50)
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_an_order_keeps_the_price_it_was_placed_at_through_price_changes(
    ledger: Ledger, shop: Shop
) -> None:
    """An order is one storage word that does not hold its points: they are its quantity at the
    price in force when it was placed, which later price changes do not touch, whether it is
    then cancelled, fulfilled or only read."""
    member, item, at_50 = placed(ledger, shop, points=1_000, per_member=10, stock=20)
    c, p = ledger.catalogue_contract, ledger.points
    window = {"start": item.available_from, "end": item.available_until}
    update_directly(ledger, shop.merchant, item.id, **window, price=70, stock=18, per_member=10)
    at_70 = c.placed_id(redeem(ledger, member.account, member.address, item.id, 3, 70))
    update_directly(ledger, shop.merchant, item.id, **window, price=70, stock=15, per_member=10)
    update_directly(ledger, shop.merchant, item.id, **window, price=20, stock=15, per_member=10)
    at_20 = c.placed_id(redeem(ledger, member.account, member.address, item.id, 1, 20))
    assert [(c.order(o).quantity, c.order(o).points) for o in (at_50, at_70, at_20)] == [
        (2, 100),
        (3, 210),
        (1, 20),
    ]
    assert p.held_by(shop.id, c.address) == 330
    update_directly(ledger, shop.merchant, item.id, **window, price=90, stock=14, per_member=10)
    [fulfilled] = events(c, c.fulfil(shop.merchant, at_70, CODE), "OrderFulfilled")
    assert fulfilled["points"] == 210
    [cancelled] = events(c, c.cancel(member.account, at_50), "OrderCancelled")
    assert cancelled["points"] == 100
    assert c.order(at_20).points == 20
    assert p.held_by(shop.id, c.address) == 20
    assert p.balance_of(member.address, shop.id) == 1_000 - 210 - 20
    # more price changes, an order at each: every order still finds its own price
    placed_at = {at_20: 20}
    for price in (11, 12, 13, 14, 15, 16):
        update_directly(
            ledger, shop.merchant, item.id, **window, price=price, stock=10, per_member=20
        )
        update_directly(
            ledger, shop.merchant, item.id, **window, price=price, stock=10, per_member=20
        )  # same
        order = c.placed_id(redeem(ledger, member.account, member.address, item.id, 1, price))
        placed_at[order] = price
    update_directly(ledger, shop.merchant, item.id, **window, price=99, stock=10, per_member=20)
    assert {o: c.order(o).points for o in placed_at} == placed_at
    [cancelled] = events(c, c.cancel(member.account, at_20), "OrderCancelled")
    assert cancelled["points"] == 20
    assert p.held_by(shop.id, c.address) == sum(placed_at.values()) - 20
    assert_supply_invariant(ledger, shop.id, [member.address])


@pytest.fixture(scope="module")
def far_future(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A deployed ledger on an anvil node of this module's own, whose time can go to 2106."""
    yield from _start(tmp_path_factory, "anvil")


def test_an_order_whose_collection_would_end_after_2106_is_refused(far_future: Ledger) -> None:
    """An order's word keeps its expiry in 32 bits: a redemption whose collection period would
    end past 2**32 seconds is refused, and nothing is held or taken."""
    ledger = far_future
    shop = new_shop(ledger)
    member = holder(ledger, shop, 100)
    start = 2**32 - 3 * DAY
    ledger.w3.provider.make_request("evm_setNextBlockTimestamp", [start])  # type: ignore[arg-type]
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    short = list_item(ledger, shop, price=10, collection_period=DAY).item
    long = list_item(ledger, shop, price=10, collection_period=4 * DAY).item
    args = {"collectionPeriod": 4 * DAY}
    with refused(ledger, shop, CatalogueInvalid, "CatalogueInvalidPeriod", args, member.address):
        redeem(ledger, member.account, member.address, long.id, 1, 10)
    order = ledger.catalogue_contract.placed_id(
        redeem(ledger, member.account, member.address, short.id, 1, 10)
    )
    placed = ledger.catalogue_contract.order(order)
    assert placed.status is OrderStatus.HELD and placed.expires_at < 2**32
    assert ledger.points.balance_of(member.address, shop.id) == 90


def test_cancelling_a_fulfilled_or_cancelled_order_is_refused(ledger: Ledger, shop: Shop) -> None:
    member, item, fulfilled = placed(ledger, shop, quantity=1)
    c = ledger.catalogue_contract
    c.fulfil(shop.merchant, fulfilled, CODE)
    cancelled = c.placed_id(redeem(ledger, member.account, member.address, item.id, 1, 50))
    c.cancel(member.account, cancelled)
    for order_id, status in (
        (fulfilled, OrderStatus.FULFILLED),
        (cancelled, OrderStatus.CANCELLED),
    ):
        args = {"orderId": order_id, "status": status}
        with order_refused(ledger, shop, order_id, OrderConflict, "CatalogueOrderNotHeld", args):
            c.cancel(member.account, order_id)


def test_a_stranger_cannot_cancel(ledger: Ledger, shop: Shop) -> None:
    member, _, order_id = placed(ledger, shop)
    stranger = spare(1)
    args = {"member": member.address, "account": stranger.address}
    with order_refused(
        ledger, shop, order_id, CatalogueUnauthorized, "CatalogueNotMemberOrProxy", args
    ):
        ledger.catalogue_contract.cancel(stranger, order_id)


def test_an_order_expires_after_its_collection_period(ledger: Ledger, shop: Shop) -> None:
    member, item, order_id = placed(ledger, shop, collection_period=120)
    c, p = ledger.catalogue_contract, ledger.points
    expires_at = c.order(order_id).expires_at
    anyone = spare(1)
    args = {"orderId": order_id, "expiresAt": expires_at}
    with order_refused(ledger, shop, order_id, OrderConflict, "CatalogueOrderNotDue", args):
        c.expire_order(anyone, order_id)
    advance(ledger, 121)

    result = c.expire_order(anyone, order_id)

    assert c.order(order_id).status is OrderStatus.EXPIRED
    assert p.balance_of(member.address, shop.id) == 500 and p.held_total(shop.id) == 0
    assert c.item(item.id).stock == item.stock and c.taken_by(item.id, member.address) == 0
    [expired] = events(c, result, "OrderExpired")
    assert expired == {"orderId": order_id, "itemId": item.id, "by": anyone.address, "points": 100}
    with reverts(
        OrderConflict, "CatalogueOrderNotHeld", {"orderId": order_id, "status": OrderStatus.EXPIRED}
    ):
        c.fulfil(shop.merchant, order_id, CODE)
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_a_frozen_member_still_gets_the_points_of_a_cancelled_order(
    ledger: Ledger, shop: Shop
) -> None:
    member, _, order_id = placed(ledger, shop)
    ledger.members.freeze(ledger.operator("registrar"), member.address, 7)
    ledger.catalogue_contract.cancel(shop.merchant, order_id)
    assert ledger.points.balance_of(member.address, shop.id) == 500
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_gas_of_redeem_and_fulfil(ledger: Ledger, shop: Shop, capsys: Any) -> None:
    """Measured, and bounded so that a regression shows: printed with `pytest -s`."""
    member = holder(ledger, shop, 10_000)
    item = list_item(ledger, shop, price=10, stock=100, per_member=100).item
    c = ledger.catalogue_contract
    redeems = [redeem(ledger, member.account, member.address, item.id, 1, 10) for _ in range(3)]
    fulfils = [c.fulfil(shop.merchant, c.placed_id(r), CODE) for r in redeems]
    gas_redeem = max(r.gas_used for r in redeems[1:])
    gas_fulfil = max(r.gas_used for r in fulfils[1:])
    with capsys.disabled():
        print(f"\ncatalogue gas: redeem {gas_redeem}, fulfil {gas_fulfil}")
    assert gas_redeem < 260_000 and gas_fulfil < 150_000


def test_every_catalogue_error_decodes_to_a_typed_error_with_its_message(ledger: Ledger) -> None:
    """Each custom error of the catalogue has its own message, filled from its arguments."""
    samples = {"address": "0x" + "11" * 20, "bytes32": b"\x22" * 32}
    for entry in ledger.build.get("Catalogue").abi:
        if entry["type"] != "error" or not entry["name"].startswith("Catalogue"):
            continue
        types = [i["type"] for i in entry["inputs"]]
        selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
        data = selector + abi_encode(types, [samples.get(t, 1) for t in types])
        exc = ledger.decoder.decode(data)
        assert isinstance(exc, ContractRevert) and type(exc) is not ContractRevert, entry["name"]
        assert entry["name"] in MESSAGES and not str(exc).startswith(entry["name"]), str(exc)
