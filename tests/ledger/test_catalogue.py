"""``ledger.spending.catalogue``: items with their details in the store, redemption by members' proxies,
fulfilment codes, orders per member, merchant and item, expiring due orders in bulk; listing and
redeeming are safe to repeat; bad input and refusals change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from ledger.chain.contracts import OrderStatus
from ledger.errors import (
    CatalogueUnauthorized,
    InputError,
    InsufficientBalance,
    InvalidAmount,
    OrderConflict,
    SoldOut,
)
from ledger.ledger import Ledger
from ledger.spending.catalogue import Catalogue, fulfilment_hash
from ledger.store import session
from ledger.store.catalogue import CatalogueItemDetails, RedemptionRequest
from ledger.store.records import details_hash
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
from tests.earning_helpers import (
    DAY,
    advance,
    assert_refusal_logged,
    assert_unchanged,
    last_refusal_id,
    now,
)


@pytest.fixture
def shop(ledger: Ledger) -> Shop:
    return new_shop(ledger)


def store_rows(ledger: Ledger) -> tuple[int, int]:
    with session(ledger.engine) as db:
        return (
            db.exec(select(func.count()).select_from(CatalogueItemDetails)).one(),
            db.exec(select(func.count()).select_from(RedemptionRequest)).one(),
        )


def everything(ledger: Ledger, shop: Shop, members: list[str], **kwargs: Any) -> Any:
    return lambda: (catalogue_state(ledger, shop.id, members, **kwargs), store_rows(ledger))


def crash_once(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """The first call of `step` (the Catalogue's own record that a transaction was mined) dies,
    as the process would after the transaction was mined and before the store knew."""
    calls = {"n": 0}
    real = getattr(Catalogue, step)

    def crash(self: Catalogue, row_id: int | None, chain_id: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the process died after the transaction was mined")
        real(self, row_id, chain_id)

    monkeypatch.setattr(Catalogue, step, crash)


def item_args(shop: Shop, t: int, **changes: Any) -> dict[str, Any]:
    """The arguments of ``ledger.catalogue.add_item``: an item of `shop` open for a day from `t`,
    the library's gift unless `changes` say otherwise."""
    return {
        "merchant": shop.merchant,
        "scheme": shop.id,
        "kind": "gift",
        "name": "文创礼品",
        "description": "图书馆文创礼品",
        "merchant_name": "市图书馆",
        "place": "市图书馆一楼",
        "price": 80,
        "stock": 100,
        "available_from": t,
        "available_until": t + DAY,
        **changes,
    }


# --- items ---------------------------------------------------------------------------------------


def test_an_item_keeps_its_details_off_chain_and_their_hash_on_chain(
    ledger: Ledger, shop: Shop
) -> None:
    view = list_item(ledger, shop, kind="ticket", price=200, stock=50)
    assert view.item.price == 200 and view.item.stock == 50 and view.scheme_code == shop.scheme.code
    assert view.details["kind"] == "ticket" and view.details["merchant_name"] == "黄鹤楼公园"
    with session(ledger.engine) as db:
        row = db.exec(
            select(CatalogueItemDetails).where(CatalogueItemDetails.item_id == view.item.id)
        ).one()
    assert details_hash(json.loads(row.details_json)) == view.item.details_hash


def test_an_items_details_are_read_from_the_store_once_and_given_as_a_copy(
    ledger: Ledger, shop: Shop
) -> None:
    """Details never change once an item is listed (an update changes its terms), so the service
    reads them once; the item's terms are read from the chain every time."""
    view = list_item(ledger, shop, price=30, stock=5)
    item_id = view.item.id
    queries: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        queries.append(statement)

    event.listen(ledger.engine, "before_cursor_execute", seen)
    try:
        first = ledger.catalogue.item(item_id)
        first.details["name"] = "changed by a caller"
        ledger.catalogue.update_item(merchant=shop.merchant, item_id=item_id, price=40)
        second = ledger.catalogue.item(item_id)
    finally:
        event.remove(ledger.engine, "before_cursor_execute", seen)
    assert second.details == view.details  # the caller's change did not reach the kept copy
    assert second.item.price == 40
    assert not [q for q in queries if "catalogue_item_details" in q]


def test_listing_the_same_details_again_returns_the_listed_item(ledger: Ledger, shop: Shop) -> None:
    t = now(ledger)
    args = item_args(shop, t, name="长者午餐一份", description="社区长者饭堂午餐",
                     merchant_name="社区长者饭堂", place=f"百瑞景社区 {t}", price=30, stock=500)  # fmt: skip
    first = ledger.catalogue.add_item(**args)
    count = ledger.catalogue_contract.item_count()
    again = ledger.catalogue.add_item(**args)
    assert again.item.id == first.item.id and ledger.catalogue_contract.item_count() == count


def test_an_interrupted_listing_is_found_on_chain_not_listed_twice(
    ledger: Ledger, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_once(monkeypatch, "_set_item_id")
    t = now(ledger)
    args = item_args(shop, t, kind="service", name="上门理发", description="为行动不便的老人上门理发一次",
                     merchant_name="社区理发志愿队", place=f"居民家中 {t}", price=20, stock=10)  # fmt: skip
    with pytest.raises(ConnectionError):
        ledger.catalogue.add_item(**args)
    count = ledger.catalogue_contract.item_count()
    view = ledger.catalogue.add_item(**args)
    assert ledger.catalogue_contract.item_count() == count == view.item.id
    assert view.details["name"] == "上门理发"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kind": "coin"}, "kind must be one of"),
        ({"price": 0}, "price must be positive"),
        ({"price": -5}, "price must be positive"),
        ({"price": 2**88}, "larger than the maximum"),
        ({"stock": 0}, "stock must be positive"),
        ({"stock": 1_000_001}, "larger than the maximum"),
        ({"per_member": "many"}, "not a whole number"),
        ({"name": " "}, "missing details: name"),
        ({"available_until": "2020-01-01 00:00"}, "window ends after it starts"),
    ],
)
def test_bad_item_input_is_refused_before_anything_is_sent(
    ledger: Ledger, shop: Shop, change: dict[str, Any], match: str
) -> None:
    state = everything(ledger, shop, [])
    before = state()
    with pytest.raises(InputError, match=match):
        ledger.catalogue.add_item(**item_args(shop, now(ledger), **change))
    assert_unchanged(before, state())


def test_a_non_merchant_listing_is_refused_and_written_down(ledger: Ledger, shop: Shop) -> None:
    stranger = ledger.operator("issuer-bee")
    t = now(ledger)
    state = everything(ledger, shop, [])
    before, last = state(), last_refusal_id(ledger)
    with pytest.raises(CatalogueUnauthorized) as info:
        ledger.catalogue.add_item(**item_args(shop, t, merchant=stranger))
    assert info.value.error == "CatalogueNotMerchant"
    assert_unchanged(before, state())
    assert_refusal_logged(ledger, last, actor=stranger.address, action="list-item", exc=info.value)


def test_updating_and_delisting(ledger: Ledger, shop: Shop) -> None:
    view = list_item(ledger, shop, price=50, stock=10)
    c = ledger.catalogue
    block = ledger.w3.eth.block_number
    same = c.update_item(merchant=shop.merchant, item_id=view.item.id, price=50)
    assert same.item == view.item and ledger.w3.eth.block_number == block  # nothing sent
    updated = c.update_item(merchant=shop.merchant, item_id=view.item.id, price=60, stock=0)
    assert (updated.item.price, updated.item.stock) == (60, 0)
    assert updated.details == view.details
    assert view.item.id in [v.item.id for v in c.items(scheme=shop.id)]
    delisted = c.delist_item(account=shop.issuer, item_id=view.item.id)
    assert delisted.item.delisted
    assert c.delist_item(account=shop.merchant, item_id=view.item.id).item.delisted  # a no-op
    assert view.item.id not in [v.item.id for v in c.items(scheme=shop.id)]
    assert view.item.id in [v.item.id for v in c.items(scheme=shop.id, include_delisted=True)]


def test_browsing_by_scheme_and_merchant_shows_details(ledger: Ledger, shop: Shop) -> None:
    views = [list_item(ledger, shop, price=p) for p in (10, 20)]
    found = ledger.catalogue.items(scheme=shop.scheme.code, merchant=shop.merchant.address)
    assert [v.item.id for v in found] == [views[1].item.id, views[0].item.id]
    assert all(v.details["merchant_name"] == "黄鹤楼公园" for v in found)
    assert ledger.catalogue.items(scheme=shop.id, merchant=shop.issuer.address) == []


# --- redeeming -----------------------------------------------------------------------------------


def test_a_proxy_redeems_and_a_repeated_request_returns_the_same_order(
    ledger: Ledger, shop: Shop
) -> None:
    member = holder(ledger, shop, 300, funded=False)
    worker = community_worker()
    grant_proxy(ledger, member.address, worker.address)
    item = list_item(ledger, shop, price=100, per_member=3).item
    key = f"wechat-{member.address}-{item.id}"

    first = ledger.catalogue.redeem(
        signer=worker, member=member.address, item_id=item.id, unit_price=100, request_key=key
    )
    again = ledger.catalogue.redeem(
        signer=worker, member=member.address, item_id=item.id, unit_price=100, request_key=key
    )

    assert again.order == first.order and first.status == "held"
    assert first.item.name.startswith("公园门票")
    assert ledger.points.balance_of(member.address, shop.id) == 200
    with pytest.raises(InputError, match="was used for another redemption"):
        ledger.catalogue.redeem(
            signer=worker,
            member=member.address,
            item_id=item.id,
            quantity=2,
            unit_price=100,
            request_key=key,
        )


def test_an_interrupted_redemption_is_found_on_chain_not_placed_twice(
    ledger: Ledger, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = holder(ledger, shop, 300)
    item = list_item(ledger, shop, price=100, per_member=3).item
    crash_once(monkeypatch, "_set_order_id")
    key = f"retry-{member.address}"
    with pytest.raises(ConnectionError):
        ledger.catalogue.redeem(
            signer=member.account,
            member=member.address,
            item_id=item.id,
            unit_price=100,
            request_key=key,
        )
    count = ledger.catalogue_contract.order_count()
    view = ledger.catalogue.redeem(
        signer=member.account,
        member=member.address,
        item_id=item.id,
        unit_price=100,
        request_key=key,
    )
    assert view.order.id == count == ledger.catalogue_contract.order_count()
    assert ledger.points.balance_of(member.address, shop.id) == 200


@pytest.mark.parametrize(
    ("quantity", "price", "kind", "match"),
    [
        (0, 10, InvalidAmount, "quantity must be positive"),
        (-1, 10, InvalidAmount, "quantity must be positive"),
        (1_000_001, 10, InvalidAmount, "larger than the maximum"),
        (1, 0, InvalidAmount, "unit price must be positive"),
        (1, 2**88, InvalidAmount, "larger than the maximum"),
        (2, 2**87, InputError, "more than one order holds"),
    ],
)
def test_bad_redemption_input_is_refused_before_anything_is_sent(
    ledger: Ledger, shop: Shop, quantity: int, price: int, kind: type[Exception], match: str
) -> None:
    member = holder(ledger, shop, 100, funded=False)
    item = list_item(ledger, shop, price=10).item
    state = everything(ledger, shop, [member.address], items=[item.id])
    before = state()
    with pytest.raises(kind, match=match):
        ledger.catalogue.redeem(
            signer=member.account,
            member=member.address,
            item_id=item.id,
            quantity=quantity,
            unit_price=price,
            request_key=f"bad-{quantity}-{price}-{member.address}",
        )
    assert_unchanged(before, state())


def test_a_refused_redemption_leaves_no_request_and_is_written_down(
    ledger: Ledger, shop: Shop
) -> None:
    member = holder(ledger, shop, 40)
    item = list_item(ledger, shop, price=50).item
    state = everything(ledger, shop, [member.address], items=[item.id])
    before, last = state(), last_refusal_id(ledger)
    with pytest.raises(InsufficientBalance) as info:
        ledger.catalogue.redeem(
            signer=member.account,
            member=member.address,
            item_id=item.id,
            unit_price=50,
            request_key=f"poor-{member.address}",
        )
    assert "holds 40 points" in str(info.value)
    assert_unchanged(before, state())
    assert_refusal_logged(ledger, last, actor=member.address, action="redeem", exc=info.value)


def test_sold_out_is_a_clear_error(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    item = list_item(ledger, shop, price=10, stock=1).item
    ledger.catalogue.redeem(
        signer=member.account, member=member.address, item_id=item.id, unit_price=10
    )
    with pytest.raises(SoldOut, match=f"item {item.id} is sold out: 0 left, 1 asked for"):
        ledger.catalogue.redeem(
            signer=member.account, member=member.address, item_id=item.id, unit_price=10
        )


# --- fulfilment, cancellation, expiry ------------------------------------------------------------


def test_fulfilment_records_the_code_and_twice_is_refused(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    item = list_item(ledger, shop, price=10).item
    c = ledger.catalogue
    order = c.redeem(signer=member.account, member=member.address, item_id=item.id, unit_price=10)
    done = c.fulfil(merchant=shop.merchant, order_id=order.order.id, code="HHL-2026-0001")
    assert done.status == "fulfilled"
    assert done.order.fulfilment_hash == fulfilment_hash(order.order.id, "HHL-2026-0001")
    assert c.fulfilment_matches(order.order.id, " HHL-2026-0001 ")
    assert not c.fulfilment_matches(order.order.id, "HHL-2026-0002")
    state = everything(ledger, shop, [member.address], items=[item.id], orders=[order.order.id])
    before = state()
    with pytest.raises(OrderConflict, match="is already fulfilled"):
        c.fulfil(merchant=shop.merchant, order_id=order.order.id, code="HHL-2026-0001")
    with pytest.raises(OrderConflict, match="is already fulfilled"):
        c.cancel(account=member.account, order_id=order.order.id)
    with pytest.raises(InputError, match="fulfilment code"):
        c.fulfil(merchant=shop.merchant, order_id=order.order.id, code="  ")
    assert_unchanged(before, state())
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_due_orders_expire_in_bulk_and_the_points_return(ledger: Ledger, shop: Shop) -> None:
    members = [holder(ledger, shop, 100) for _ in range(2)]
    item = list_item(ledger, shop, price=10, collection_period=60).item
    long = list_item(ledger, shop, price=10).item
    c = ledger.catalogue
    due = [
        c.redeem(signer=m.account, member=m.address, item_id=item.id, unit_price=10).order.id
        for m in members
    ]
    kept = c.redeem(
        signer=members[0].account, member=members[0].address, item_id=long.id, unit_price=10
    ).order.id
    fulfilled = c.redeem(
        signer=members[1].account, member=members[1].address, item_id=item.id, unit_price=10
    ).order.id
    c.fulfil(merchant=shop.merchant, order_id=fulfilled, code="T-1")
    advance(ledger, 61)

    assert set(due) <= set(c.due_orders())
    expired = c.expire_due(account=ledger.operator("relayer"))

    assert set(due) <= set(expired) and kept not in expired and fulfilled not in expired
    assert all(c.order(o).order.status is OrderStatus.EXPIRED for o in due)
    assert [ledger.points.balance_of(m.address, shop.id) for m in members] == [90, 90]
    assert c.order(kept).status == "held"
    assert_supply_invariant(ledger, shop.id, [m.address for m in members])


def test_orders_per_member_merchant_item_and_status(ledger: Ledger, shop: Shop) -> None:
    member = holder(ledger, shop, 100)
    other = holder(ledger, shop, 100)
    first, second = (list_item(ledger, shop, price=10).item for _ in range(2))
    c = ledger.catalogue
    a = c.redeem(signer=member.account, member=member.address, item_id=first.id, unit_price=10)
    b = c.redeem(signer=member.account, member=member.address, item_id=second.id, unit_price=10)
    d = c.redeem(signer=other.account, member=other.address, item_id=first.id, unit_price=10)
    c.cancel(account=shop.merchant, order_id=b.order.id)

    assert [v.order.id for v in c.orders(member=member.address)] == [b.order.id, a.order.id]
    assert [v.order.id for v in c.orders(item_id=first.id)] == [d.order.id, a.order.id]
    mine = [v.order.id for v in c.orders(merchant=shop.merchant.address, last=1000)]
    assert {a.order.id, b.order.id, d.order.id} <= set(mine)
    held = c.orders(member=member.address, status="held")
    assert [v.order.id for v in held] == [a.order.id]
    assert c.orders(merchant=shop.issuer.address) == []
    with pytest.raises(InputError, match="unknown order status"):
        c.orders(status="lost")
    assert_supply_invariant(ledger, shop.id, [member.address, other.address])
