"""The redemption catalogue (兑换): members' orders for the items that merchants list.

The chain enforces who may sell and fulfil, the price the member saw, the window, the stock and the
per-member limit, and holds the points of an order until it is fulfilled (burned), cancelled or
expired (returned). This module checks input first, makes redeeming safe to repeat after an
interruption, and writes down every refused attempt for auditors. Listing the items is
``ledger.spending.items``, whose operations the ``Catalogue`` service inherits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlmodel import select

from ledger.chain.contracts.catalogue import Order, OrderStatus
from ledger.chain.tx import Signer
from ledger.errors import InputError
from ledger.spending.items import MAX_POINTS, MAX_QUANTITY, CatalogueItems, ItemView
from ledger.store import session, utcnow
from ledger.store.catalogue import RedemptionRequest
from ledger.store.pending import dropped_if_refused, insert, link, linked
from ledger.store.records import canonical_json
from ledger.values import parse_address, parse_amount, show_time

#: How many due orders one `expire_due` run ends at most.
MAX_EXPIRE_BATCH = 500


def fulfilment_hash(order_id: int, code: str) -> bytes:
    """What the chain records for a fulfilment code (a ticket number, a pick-up code): the code
    never goes on chain, and the same code of two orders hashes differently."""
    text = code.strip()
    if not text or len(text) > 200:
        raise InputError("a fulfilment code is 1-200 characters")
    return keccak(canonical_json({"order": order_id, "fulfilment_code": text}))


@dataclass(frozen=True)
class OrderView:
    order: Order
    item: ItemView

    @property
    def status(self) -> str:
        return self.order.status.name.lower()


class Catalogue(CatalogueItems):
    """The redemption catalogue: its items (inherited) and the orders placed for them."""

    def redeem(
        self,
        *,
        signer: Signer,
        member: str,
        item_id: int,
        quantity: int | str = 1,
        unit_price: int | str,
        request_key: str | None = None,
    ) -> OrderView:
        """Redeem `quantity` units of an item for `member` at `unit_price`, the price the member
        was shown; `signer` is the member or their recorded proxy. With a `request_key`, asking
        again (after an interruption, or a doubled request) returns the order already placed."""
        member = parse_address(member, what="member address")
        quantity_ = parse_amount(quantity, what="quantity", maximum=MAX_QUANTITY)
        price = parse_amount(unit_price, what="unit price", maximum=MAX_POINTS)
        if quantity_ * price > MAX_POINTS:
            raise InputError(f"{quantity_} units at {price} points are more than one order holds")
        row_id: int | None = None
        if request_key is not None:
            key = request_key.strip()
            if not key or len(key) > 100:
                raise InputError("a request key is 1-100 characters")
            with session(self.parts.engine) as db:
                row = db.exec(
                    select(RedemptionRequest).where(RedemptionRequest.request_key == key)
                ).first()
            if row is not None:
                asked = (member, item_id, quantity_, price)
                if (row.member, row.item_id, row.quantity, row.unit_price) != asked:
                    raise InputError(
                        f"request key {key!r} was used for another redemption; use a new key"
                    )
                if row.order_id is not None:
                    return self.order(row.order_id)
                found = self._find_placed(row)
                if found is not None:
                    self._set_order_id(row.id, found)
                    return self.order(found)
                row_id = row.id
            else:
                row_id = insert(
                    self.parts.engine,
                    RedemptionRequest(
                        request_key=key,
                        member=member,
                        item_id=item_id,
                        quantity=quantity_,
                        unit_price=price,
                        signer=signer.address,
                        from_block=self._head(),
                        created_at=utcnow(),
                    ),
                )
        with (
            dropped_if_refused(self.parts.engine, RedemptionRequest, row_id, "order_id"),
            self._attempt(signer.address, "redeem", f"item {item_id} for {member}"),
        ):
            result = self.contract.redeem(signer, member, item_id, quantity_, price)
        order_id = self.contract.placed_id(result)
        if row_id is not None:
            self._set_order_id(row_id, order_id)
        # the order's item is the one asked for: both read back in one round trip
        order, item = self.contract.order_and_item(order_id, item_id)
        return OrderView(order=order, item=self._item_view(item))

    def _find_placed(self, row: RedemptionRequest) -> int | None:
        """The order an interrupted request placed, if it reached the chain."""
        event = self.contract.contract.events.OrderPlaced()
        entries = event.get_logs(
            from_block=row.from_block,
            argument_filters={"member": row.member, "itemId": row.item_id},
        )
        known = linked(self.parts.engine, RedemptionRequest.order_id)
        for entry in entries:
            args = entry["args"]
            order_id = int(args["orderId"])
            if (
                args["by"] == row.signer
                and int(args["quantity"]) == row.quantity
                and order_id not in known
            ):
                return order_id
        return None

    def _set_order_id(self, row_id: int | None, order_id: int) -> None:
        link(self.parts.engine, RedemptionRequest, row_id, order_id=order_id)

    def fulfil(self, *, merchant: Signer, order_id: int, code: str) -> OrderView:
        """The merchant hands the item over: the points are burned and the hash of the
        fulfilment code (a ticket number, a pick-up code) is recorded."""
        digest = fulfilment_hash(order_id, code)
        with self._attempt(merchant.address, "fulfil", f"order {order_id}"):
            self.contract.fulfil(merchant, order_id, digest)
        return self.order(order_id)

    def fulfilment_matches(self, order_id: int, code: str) -> bool:
        """Whether `code` is the fulfilment code recorded for the order."""
        order = self.contract.order(order_id)
        return order.fulfilment_hash == fulfilment_hash(order_id, code)

    def cancel(self, *, account: Signer, order_id: int) -> OrderView:
        """Cancel a held order (the member, their proxy or the merchant): the points return."""
        with self._attempt(account.address, "cancel-order", f"order {order_id}"):
            self.contract.cancel(account, order_id)
        return self.order(order_id)

    def expire_order(self, *, account: Signer, order_id: int) -> OrderView:
        """End a held order whose collection period is over (anyone): the points return."""
        with self._attempt(account.address, "expire-order", f"order {order_id}"):
            self.contract.expire_order(account, order_id)
        return self.order(order_id)

    def due_orders(self, *, limit: int = MAX_EXPIRE_BATCH) -> list[int]:
        """Held orders whose collection period is over, oldest first."""
        now = int(self.parts.w3.eth.get_block("latest")["timestamp"])
        event = self.contract.contract.events.OrderPlaced()
        due: list[int] = []
        for entry in event.get_logs(from_block=self._deploy_block()):
            if int(entry["args"]["expiresAt"]) > now:
                continue
            order_id = int(entry["args"]["orderId"])
            if self.contract.order(order_id, fulfilment=False).status is OrderStatus.HELD:
                due.append(order_id)
                if len(due) >= limit:
                    break
        return due

    def expire_due(self, *, account: Signer, limit: int = MAX_EXPIRE_BATCH) -> list[int]:
        """Expire every due order (up to `limit`); returns the orders expired."""
        expired: list[int] = []
        for order_id in self.due_orders(limit=limit):
            self.expire_order(account=account, order_id=order_id)
            expired.append(order_id)
        return expired

    def order(self, order_id: int) -> OrderView:
        order = self.contract.order(order_id)
        return OrderView(order=order, item=self.item(order.item_id))

    def orders(
        self,
        *,
        member: str | None = None,
        merchant: str | None = None,
        item_id: int | None = None,
        status: str | None = None,
        last: int = 100,
    ) -> list[OrderView]:
        """Orders, newest first, of a member, of a merchant's items, or of one item."""
        wanted: OrderStatus | None = None
        if status is not None:
            try:
                wanted = OrderStatus[status.strip().upper()]
            except KeyError:
                names = ", ".join(s.name.lower() for s in OrderStatus if s)
                raise InputError(f"unknown order status {status!r}; statuses: {names}") from None
        filters: dict[str, Any] = {}
        if member is not None:
            filters["member"] = parse_address(member, what="member address")
        items: list[int] | None = None
        if item_id is not None:
            items = [item_id]
        if merchant is not None:
            merchant = parse_address(merchant, what="merchant address")
            listed = self.contract.contract.events.ItemListed().get_logs(
                from_block=self._deploy_block(), argument_filters={"merchant": merchant}
            )
            mine = [int(e["args"]["itemId"]) for e in listed]
            items = mine if items is None else [i for i in items if i in mine]
            if not items:
                return []
        if items is not None:
            filters["itemId"] = items
        event = self.contract.contract.events.OrderPlaced()
        entries = event.get_logs(from_block=self._deploy_block(), argument_filters=filters)
        ids = sorted((int(e["args"]["orderId"]) for e in entries), reverse=True)
        found: list[Order] = []
        for first in range(0, len(ids), max(last, 50)):  # read in batches, newest first
            chunk = self.contract.orders(ids[first : first + max(last, 50)])
            found += [o for o in chunk if wanted is None or o.status is wanted]
            if len(found) >= last:
                break
        found = self.contract.with_fulfilment(found[:last], from_block=self._deploy_block())
        item_ids = sorted({o.item_id for o in found})
        views = {i.id: self._item_view(i) for i in self.contract.items(item_ids)}
        return [OrderView(order=o, item=views[o.item_id]) for o in found]

    def _deploy_block(self) -> int:
        return self.parts.manifest.contracts["Catalogue"].block


def order_data(view: OrderView) -> dict[str, Any]:
    """An order as the CLI and the API show it."""
    o = view.order
    return {
        "id": o.id,
        "item": o.item_id,
        "item_name": view.item.name,
        "scheme": view.item.scheme_code,
        "member": o.member,
        "quantity": o.quantity,
        "points": o.points,
        "hold": o.hold_id,
        "status": view.status,
        "expires_at": show_time(o.expires_at),
        "fulfilment_hash": o.fulfilment_hash,
    }
