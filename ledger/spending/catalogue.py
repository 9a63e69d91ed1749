"""The redemption catalogue (兑换): items that a scheme's merchants list, and members' orders.

The chain enforces who may list, sell and fulfil, the price the member saw, the window, the stock
and the per-member limit, and holds the points of an order until it is fulfilled (burned),
cancelled or expired (returned). This module checks input first, keeps the item details whose hash
is on chain, makes listing and redeeming safe to repeat after an interruption, and writes down
every refused attempt for auditors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eth_utils import keccak
from sqlmodel import col, select

from ledger.chain.contracts.catalogue import Item, Order, OrderStatus
from ledger.chain.tx import Signer
from ledger.errors import ContractRevert, InputError, LedgerError
from ledger.store import session, utcnow
from ledger.store.catalogue import CatalogueItemDetails, RedemptionRequest
from ledger.store.records import canonical_json, details_hash
from ledger.values import check_text_fields, parse_address, parse_amount, parse_time, show_time

if TYPE_CHECKING:
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)

KINDS = ("gift", "ticket", "service")
MAX_STOCK = 1_000_000
MAX_QUANTITY = 1_000_000
#: The most points one order holds (PointsLedger.MAX_BALANCE).
MAX_POINTS = 2**88 - 1
MAX_COLLECTION_PERIOD = 366 * 86_400
DEFAULT_COLLECTION_PERIOD = 7 * 86_400
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
class ItemView:
    item: Item
    scheme_code: str
    #: kind, name, description, merchant_name, place (as the store holds them; {} if it does not).
    details: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.details.get("name") or f"item {self.item.id}")


@dataclass(frozen=True)
class OrderView:
    order: Order
    item: ItemView

    @property
    def status(self) -> str:
        return self.order.status.name.lower()


class Catalogue:
    """Catalogue operations of one ``Ledger``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @contextmanager
    def _attempt(self, actor: str, action: str, subject: str) -> Iterator[None]:
        """A refusal raised inside (not bad input caught here) is written down for auditors."""
        try:
            yield
        except LedgerError as exc:
            if not isinstance(exc, InputError):
                try:
                    self.ledger.earning.refused(
                        actor=actor, action=action, subject=subject, exc=exc
                    )
                except Exception:  # never hide the refusal behind a store failure
                    log.exception("could not write down a refused %s", action)
            raise

    def _head(self) -> int:
        return int(self.ledger.w3.eth.block_number)

    # --- items ---------------------------------------------------------------------------------

    def add_item(
        self,
        *,
        merchant: Signer,
        scheme: str | int,
        kind: str,
        name: str,
        description: str,
        merchant_name: str,
        place: str,
        price: int | str,
        stock: int | str,
        per_member: int | str = 1,
        available_from: str | int | datetime,
        available_until: str | int | datetime,
        collection_period: int = DEFAULT_COLLECTION_PERIOD,
    ) -> ItemView:
        """List an item; its details stay off chain and their hash goes on chain.

        Listing the same details again (the same merchant, while the item is listed) returns the
        item already listed, also after an interruption; change its figures with `update_item`.
        """
        s = self.ledger.scheme(scheme)
        if kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        price_ = parse_amount(price, what="price", maximum=MAX_POINTS)
        stock_ = parse_amount(stock, what="stock", maximum=MAX_STOCK)
        limit = parse_amount(per_member, what="per-member limit", maximum=MAX_QUANTITY)
        start = parse_time(available_from, what="available from")
        end = parse_time(available_until, what="available until")
        if end <= start:
            raise InputError("an item's window ends after it starts")
        if not 0 < collection_period <= MAX_COLLECTION_PERIOD:
            raise InputError("the collection period is 1 second to 366 days")
        details = check_text_fields(
            {
                "kind": kind,
                "scheme": s.code,
                "merchant": merchant.address,
                "name": name,
                "description": description,
                "merchant_name": merchant_name,
                "place": place,
            },
            ("name", "description", "merchant_name", "place"),
        )
        digest = details_hash(details)
        digest_hex = "0x" + digest.hex()
        with session(self.ledger.engine) as db:
            rows = db.exec(
                select(CatalogueItemDetails).where(
                    CatalogueItemDetails.details_hash == digest_hex,
                    CatalogueItemDetails.merchant == merchant.address,
                )
            ).all()
        for row in rows:
            if (
                row.item_id is not None
                and not self.ledger.catalogue_contract.item(row.item_id).delisted
            ):
                return self.item(row.item_id)
        pending = next((r for r in rows if r.item_id is None), None)
        if pending is not None:
            found = self._find_listed(merchant.address, digest, pending.from_block)
            if found is not None:
                self._set_item_id(pending.id, found)
                return self.item(found)
            pending_id = pending.id
        else:
            with session(self.ledger.engine) as db:
                row = CatalogueItemDetails(
                    scheme_id=s.id,
                    merchant=merchant.address,
                    details_hash=digest_hex,
                    details_json=canonical_json(details).decode(),
                    from_block=self._head(),
                    created_at=utcnow(),
                )
                db.add(row)
                db.flush()
                pending_id = row.id
        try:
            with self._attempt(merchant.address, "list-item", s.code):
                result = self.ledger.catalogue_contract.list_item(
                    merchant,
                    s.id,
                    price=price_,
                    stock=stock_,
                    per_member=limit,
                    available_from=start,
                    available_until=end,
                    collection_period=collection_period,
                    details_hash=digest,
                )
        except ContractRevert:
            with session(self.ledger.engine) as db:
                stale = db.get(CatalogueItemDetails, pending_id)
                if stale is not None and stale.item_id is None:
                    db.delete(stale)
            raise
        item_id = self.ledger.catalogue_contract.listed_id(result)
        self._set_item_id(pending_id, item_id)
        return self.item(item_id)

    def _find_listed(self, merchant: str, digest: bytes, from_block: int) -> int | None:
        """An item this merchant listed with these details that the store does not know yet."""
        event = self.ledger.catalogue_contract.contract.events.ItemListed()
        entries = event.get_logs(from_block=from_block, argument_filters={"merchant": merchant})
        with session(self.ledger.engine) as db:
            known = set(
                db.exec(
                    select(CatalogueItemDetails.item_id).where(
                        col(CatalogueItemDetails.item_id).is_not(None)
                    )
                ).all()
            )
        for entry in entries:
            item_id = int(entry["args"]["itemId"])
            if bytes(entry["args"]["detailsHash"]) == digest and item_id not in known:
                return item_id
        return None

    def _set_item_id(self, row_id: int | None, item_id: int) -> None:
        with session(self.ledger.engine) as db:
            row = db.get(CatalogueItemDetails, row_id)
            assert row is not None
            row.item_id = item_id
            db.add(row)

    def update_item(
        self,
        *,
        merchant: Signer,
        item_id: int,
        price: int | str | None = None,
        stock: int | str | None = None,
        per_member: int | str | None = None,
        available_from: str | int | datetime | None = None,
        available_until: str | int | datetime | None = None,
    ) -> ItemView:
        """Change an item's price, stock left, per-member limit or window (None: keep it).
        Asking for the figures in force is a no-op."""
        current = self.ledger.catalogue_contract.item(item_id)
        new = {
            "price": current.price
            if price is None
            else parse_amount(price, what="price", maximum=MAX_POINTS),
            "stock": current.stock
            if stock is None
            else parse_amount(stock, what="stock", allow_zero=True, maximum=MAX_STOCK),
            "per_member": current.per_member
            if per_member is None
            else parse_amount(per_member, what="per-member limit", maximum=MAX_QUANTITY),
            "available_from": current.available_from
            if available_from is None
            else parse_time(available_from, what="available from"),
            "available_until": current.available_until
            if available_until is None
            else parse_time(available_until, what="available until"),
        }
        if new["available_until"] <= new["available_from"]:
            raise InputError("an item's window ends after it starts")
        unchanged = (
            current.price,
            current.stock,
            current.per_member,
            current.available_from,
            current.available_until,
        ) == tuple(new.values())
        if unchanged and not current.delisted:
            return self.item(item_id)
        with self._attempt(merchant.address, "update-item", f"item {item_id}"):
            self.ledger.catalogue_contract.update_item(merchant, item_id, **new)
        return self.item(item_id)

    def delist_item(self, *, account: Signer, item_id: int) -> ItemView:
        """Take an item off the catalogue (its merchant, the scheme's issuer or the council);
        an item already delisted is left as it is."""
        if self.ledger.catalogue_contract.item(item_id).delisted:
            return self.item(item_id)
        with self._attempt(account.address, "delist-item", f"item {item_id}"):
            self.ledger.catalogue_contract.delist_item(account, item_id)
        return self.item(item_id)

    def item(self, item_id: int) -> ItemView:
        item = self.ledger.catalogue_contract.item(item_id)
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(CatalogueItemDetails).where(CatalogueItemDetails.item_id == item_id)
            ).first()
        details = json.loads(row.details_json) if row is not None else {}
        return ItemView(
            item=item, scheme_code=self.ledger.scheme(item.scheme_id).code, details=details
        )

    def items(
        self,
        *,
        scheme: str | int | None = None,
        merchant: str | None = None,
        include_delisted: bool = False,
        last: int = 100,
    ) -> list[ItemView]:
        """Items with their details, newest first."""
        scheme_id = self.ledger.scheme(scheme).id if scheme is not None else None
        if merchant is not None:
            merchant = parse_address(merchant, what="merchant address")
        out: list[ItemView] = []
        for item_id in range(self.ledger.catalogue_contract.item_count(), 0, -1):
            item = self.ledger.catalogue_contract.item(item_id)
            if scheme_id is not None and item.scheme_id != scheme_id:
                continue
            if merchant is not None and item.merchant != merchant:
                continue
            if item.delisted and not include_delisted:
                continue
            out.append(self.item(item_id))
            if len(out) >= last:
                break
        return out

    # --- orders --------------------------------------------------------------------------------

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
            with session(self.ledger.engine) as db:
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
                with session(self.ledger.engine) as db:
                    new = RedemptionRequest(
                        request_key=key,
                        member=member,
                        item_id=item_id,
                        quantity=quantity_,
                        unit_price=price,
                        signer=signer.address,
                        from_block=self._head(),
                        created_at=utcnow(),
                    )
                    db.add(new)
                    db.flush()
                    row_id = new.id
        try:
            with self._attempt(signer.address, "redeem", f"item {item_id} for {member}"):
                result = self.ledger.catalogue_contract.redeem(
                    signer, member, item_id, quantity_, price
                )
        except ContractRevert:
            if row_id is not None:
                with session(self.ledger.engine) as db:
                    stale = db.get(RedemptionRequest, row_id)
                    if stale is not None and stale.order_id is None:
                        db.delete(stale)
            raise
        order_id = self.ledger.catalogue_contract.placed_id(result)
        if row_id is not None:
            self._set_order_id(row_id, order_id)
        return self.order(order_id)

    def _find_placed(self, row: RedemptionRequest) -> int | None:
        """The order an interrupted request placed, if it reached the chain."""
        event = self.ledger.catalogue_contract.contract.events.OrderPlaced()
        entries = event.get_logs(
            from_block=row.from_block,
            argument_filters={"member": row.member, "itemId": row.item_id},
        )
        with session(self.ledger.engine) as db:
            known = set(
                db.exec(
                    select(RedemptionRequest.order_id).where(
                        col(RedemptionRequest.order_id).is_not(None)
                    )
                ).all()
            )
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
        with session(self.ledger.engine) as db:
            row = db.get(RedemptionRequest, row_id)
            assert row is not None
            row.order_id = order_id
            db.add(row)

    def fulfil(self, *, merchant: Signer, order_id: int, code: str) -> OrderView:
        """The merchant hands the item over: the points are burned and the hash of the
        fulfilment code (a ticket number, a pick-up code) is recorded."""
        digest = fulfilment_hash(order_id, code)
        with self._attempt(merchant.address, "fulfil", f"order {order_id}"):
            self.ledger.catalogue_contract.fulfil(merchant, order_id, digest)
        return self.order(order_id)

    def fulfilment_matches(self, order_id: int, code: str) -> bool:
        """Whether `code` is the fulfilment code recorded for the order."""
        order = self.ledger.catalogue_contract.order(order_id)
        return order.fulfilment_hash == fulfilment_hash(order_id, code)

    def cancel(self, *, account: Signer, order_id: int) -> OrderView:
        """Cancel a held order (the member, their proxy or the merchant): the points return."""
        with self._attempt(account.address, "cancel-order", f"order {order_id}"):
            self.ledger.catalogue_contract.cancel(account, order_id)
        return self.order(order_id)

    def expire_order(self, *, account: Signer, order_id: int) -> OrderView:
        """End a held order whose collection period is over (anyone): the points return."""
        with self._attempt(account.address, "expire-order", f"order {order_id}"):
            self.ledger.catalogue_contract.expire_order(account, order_id)
        return self.order(order_id)

    def due_orders(self, *, limit: int = MAX_EXPIRE_BATCH) -> list[int]:
        """Held orders whose collection period is over, oldest first."""
        now = int(self.ledger.w3.eth.get_block("latest")["timestamp"])
        event = self.ledger.catalogue_contract.contract.events.OrderPlaced()
        due: list[int] = []
        for entry in event.get_logs(from_block=self._deploy_block()):
            if int(entry["args"]["expiresAt"]) > now:
                continue
            order_id = int(entry["args"]["orderId"])
            if self.ledger.catalogue_contract.order(order_id).status is OrderStatus.HELD:
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
        order = self.ledger.catalogue_contract.order(order_id)
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
            listed = self.ledger.catalogue_contract.contract.events.ItemListed().get_logs(
                from_block=self._deploy_block(), argument_filters={"merchant": merchant}
            )
            mine = [int(e["args"]["itemId"]) for e in listed]
            items = mine if items is None else [i for i in items if i in mine]
            if not items:
                return []
        if items is not None:
            filters["itemId"] = items
        event = self.ledger.catalogue_contract.contract.events.OrderPlaced()
        entries = event.get_logs(from_block=self._deploy_block(), argument_filters=filters)
        out: list[OrderView] = []
        for entry in sorted(entries, key=lambda e: -int(e["args"]["orderId"])):
            view = self.order(int(entry["args"]["orderId"]))
            if wanted is not None and view.order.status is not wanted:
                continue
            out.append(view)
            if len(out) >= last:
                break
        return out

    def _deploy_block(self) -> int:
        return self.ledger.manifest.contracts["Catalogue"].block


def item_data(view: ItemView) -> dict[str, Any]:
    """An item as the CLI and the API show it."""
    i = view.item
    return {
        "id": i.id,
        "scheme": view.scheme_code,
        "merchant": i.merchant,
        "price": i.price,
        "stock": i.stock,
        "per_member": i.per_member,
        "available_from": show_time(i.available_from),
        "available_until": show_time(i.available_until),
        "collection_period_seconds": i.collection_period,
        "delisted": i.delisted,
        "details_hash": i.details_hash,
        "details": view.details,
    }


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
