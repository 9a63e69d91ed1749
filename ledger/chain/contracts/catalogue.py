"""Client of the Catalogue contract: redemption items and orders (兑换)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

from ledger.chain.contracts.base import ContractClient
from ledger.chain.contracts.points import Lot, unpack_lot
from ledger.chain.tx import Signer, TxResult


class OrderStatus(IntEnum):
    NONE = 0
    HELD = 1
    FULFILLED = 2
    CANCELLED = 3
    EXPIRED = 4


@dataclass(frozen=True)
class Item:
    """A catalogue item (ICatalogue.Item): price in points a unit, stock left, window in Unix time."""

    id: int
    scheme_id: int
    merchant: str
    stock: int
    per_member: int
    price: int
    available_from: int
    available_until: int
    collection_period: int
    delisted: bool
    details_hash: bytes


@dataclass(frozen=True)
class Order:
    """An order (ICatalogue.Order): the points held for it and what became of them."""

    id: int
    item_id: int
    member: str
    quantity: int
    points: int
    hold_id: int
    status: OrderStatus
    expires_at: int
    #: The hash of the fulfilment code, from the order's OrderFulfilled event (the contract keeps
    #: it in the event only); None until fulfilled.
    fulfilment_hash: bytes | None = None


class CatalogueClient(ContractClient):
    def list_item(
        self,
        account: Signer,
        scheme_id: int,
        *,
        price: int,
        stock: int,
        per_member: int,
        available_from: int,
        available_until: int,
        collection_period: int,
        details_hash: bytes,
    ) -> TxResult:
        return self._write(
            account,
            "listItem",
            scheme_id,
            price,
            stock,
            per_member,
            available_from,
            available_until,
            collection_period,
            details_hash,
        )

    def listed_id(self, result: TxResult) -> int:
        return int(self._events(result, "ItemListed")[0]["args"]["itemId"])

    def update_item(
        self,
        account: Signer,
        item_id: int,
        *,
        price: int,
        stock: int,
        per_member: int,
        available_from: int,
        available_until: int,
    ) -> TxResult:
        return self._write(
            account,
            "updateItem",
            item_id,
            price,
            stock,
            per_member,
            available_from,
            available_until,
        )

    def delist_item(self, account: Signer, item_id: int) -> TxResult:
        return self._write(account, "delistItem", item_id)

    def redeem(
        self, account: Signer, member: str, item_id: int, quantity: int, unit_price: int
    ) -> TxResult:
        return self._write(account, "redeem", member, item_id, quantity, unit_price)

    def placed_id(self, result: TxResult) -> int:
        return int(self._events(result, "OrderPlaced")[0]["args"]["orderId"])

    def fulfil(self, account: Signer, order_id: int, fulfilment_hash: bytes) -> TxResult:
        return self._write(account, "fulfil", order_id, fulfilment_hash)

    def cancel(self, account: Signer, order_id: int) -> TxResult:
        return self._write(account, "cancel", order_id)

    def expire_order(self, account: Signer, order_id: int) -> TxResult:
        return self._write(account, "expireOrder", order_id)

    def item(self, item_id: int) -> Item:
        return _item(item_id, self._read("item", item_id))

    def items(self, item_ids: Sequence[int]) -> list[Item]:
        """Items, in JSON-RPC batches (one round trip for many)."""
        raws = self._read_each([("item", (i,)) for i in item_ids])
        return [_item(i, raw) for i, raw in zip(item_ids, raws, strict=True)]

    def orders(self, order_ids: Sequence[int]) -> list[Order]:
        """Orders without their fulfilment hashes, in JSON-RPC batches."""
        raws = self._read_each([("order", (i,)) for i in order_ids])
        return [_order(i, raw) for i, raw in zip(order_ids, raws, strict=True)]

    def order(self, order_id: int, *, fulfilment: bool = True) -> Order:
        """An order; without its fulfilment hash (one request fewer) when `fulfilment` is False."""
        order = _order(order_id, self._read("order", order_id))
        return self.with_fulfilment([order])[0] if fulfilment else order

    def order_and_item(self, order_id: int, item_id: int) -> tuple[Order, Item]:
        """An order and an item (its own, when the caller knows it) in one round trip (one more
        for a fulfilled order's hash)."""
        order, item = self._read_each([("order", (order_id,)), ("item", (item_id,))])
        return self.with_fulfilment([_order(order_id, order)])[0], _item(item_id, item)

    def with_fulfilment(self, orders: list[Order], *, from_block: int = 0) -> list[Order]:
        """The orders with the fulfilment hashes of those fulfilled, read from their
        OrderFulfilled events in one request."""
        fulfilled = [o.id for o in orders if o.status is OrderStatus.FULFILLED]
        if not fulfilled:
            return orders
        entries = self.contract.events.OrderFulfilled().get_logs(
            from_block=from_block, argument_filters={"orderId": fulfilled}
        )
        hashes = {int(e["args"]["orderId"]): bytes(e["args"]["fulfilmentHash"]) for e in entries}
        return [replace(o, fulfilment_hash=hashes.get(o.id)) for o in orders]

    def order_lots(self, order_id: int) -> list[Lot]:
        """The expiring lots an order's points came from (they return with them)."""
        return [unpack_lot(int(v)) for v in self._read("orderLots", order_id)]

    def item_count(self) -> int:
        return int(self._read("itemCount"))

    def order_count(self) -> int:
        return int(self._read("orderCount"))

    def taken_by(self, item_id: int, member: str) -> int:
        return int(self._read("takenBy", item_id, member))


def _item(item_id: int, i: Any) -> Item:
    """An ``Item`` from the catalogue's ``item(id)`` struct."""
    return Item(
        id=item_id,
        scheme_id=int(i[0]),
        merchant=i[1],
        stock=int(i[2]),
        per_member=int(i[3]),
        price=int(i[4]),
        available_from=int(i[5]),
        available_until=int(i[6]),
        collection_period=int(i[7]),
        delisted=bool(i[8]),
        details_hash=bytes(i[9]),
    )


def _order(order_id: int, o: Any) -> Order:
    """An ``Order`` from the catalogue's ``order(id)`` struct (without its fulfilment hash)."""
    return Order(
        id=order_id,
        member=o[0],
        quantity=int(o[1]),
        expires_at=int(o[2]),
        status=OrderStatus(o[3]),
        item_id=int(o[4]),
        points=int(o[5]),
        hold_id=int(o[6]),
    )
