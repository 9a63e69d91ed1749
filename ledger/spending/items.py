"""Catalogue items (兑换物品/服务): what a scheme's merchants list for members to redeem.

The chain enforces who may list and change an item, its price, window, stock and per-member limit.
This module checks input first, keeps the item details whose hash is on chain, makes listing safe
to repeat after an interruption, and writes down every refused attempt for auditors. The orders
members place for the items are in ``ledger.spending.catalogue``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import select

from ledger.chain.contracts.catalogue import CatalogueClient, Item
from ledger.chain.tx import Signer
from ledger.errors import InputError
from ledger.spending.parts import CatalogueParts
from ledger.store import session, utcnow
from ledger.store.catalogue import CatalogueItemDetails
from ledger.store.pending import dropped_if_refused, insert, link, linked
from ledger.store.records import canonical_json, details_hash
from ledger.store.refusals import refusals_noted
from ledger.values import check_text_fields, parse_address, parse_amount, parse_time, show_time

KINDS = ("gift", "ticket", "service")
MAX_STOCK = 1_000_000
MAX_QUANTITY = 1_000_000
#: The most points one order holds (PointsLedger.MAX_BALANCE).
MAX_POINTS = 2**88 - 1
MAX_COLLECTION_PERIOD = 366 * 86_400
DEFAULT_COLLECTION_PERIOD = 7 * 86_400


@dataclass(frozen=True)
class ItemView:
    item: Item
    scheme_code: str
    #: kind, name, description, merchant_name, place (as the store holds them; {} if it does not).
    details: dict[str, Any]
    #: After listing: whether it listed this item (False: the same details were already listed by
    #: the merchant, as this item). None when read.
    created: bool | None = None

    @property
    def name(self) -> str:
        return str(self.details.get("name") or f"item {self.item.id}")


class CatalogueItems:
    """The catalogue's items, over the Catalogue contract."""

    def __init__(self, parts: CatalogueParts) -> None:
        self.parts = parts
        #: The details kept here of each item they were found for, by item id: an item's details
        #: never change once it is listed (an update changes its terms only), so they are read
        #: from the store once (a tenth of a busy API's time went to reading them again).
        self._details: dict[int, dict[str, Any]] = {}

    @property
    def contract(self) -> CatalogueClient:
        return self.parts.catalogue_contract

    def _attempt(self, actor: str, action: str, subject: str) -> AbstractContextManager[None]:
        """A refusal raised inside (not bad input caught here) is written down for auditors."""
        return refusals_noted(self.parts.engine, actor, action, subject)

    def _head(self) -> int:
        return int(self.parts.w3.eth.block_number)

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
        s = self.parts.scheme(scheme)
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
        with session(self.parts.engine) as db:
            rows = db.exec(
                select(CatalogueItemDetails).where(
                    CatalogueItemDetails.details_hash == digest_hex,
                    CatalogueItemDetails.merchant == merchant.address,
                )
            ).all()
        for row in rows:
            if row.item_id is not None and not self.contract.item(row.item_id).delisted:
                return replace(self.item(row.item_id), created=False)
        pending = next((r for r in rows if r.item_id is None), None)
        if pending is not None:
            found = self._find_listed(merchant.address, digest, pending.from_block)
            if found is not None:
                self._set_item_id(pending.id, found)
                return replace(self.item(found), created=False)
            pending_id = pending.id
        else:
            pending_id = insert(
                self.parts.engine,
                CatalogueItemDetails(
                    scheme_id=s.id,
                    merchant=merchant.address,
                    details_hash=digest_hex,
                    details_json=canonical_json(details).decode(),
                    from_block=self._head(),
                    created_at=utcnow(),
                ),
            )
        with (
            dropped_if_refused(self.parts.engine, CatalogueItemDetails, pending_id, "item_id"),
            self._attempt(merchant.address, "list-item", s.code),
        ):
            result = self.contract.list_item(
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
        item_id = self.contract.listed_id(result)
        self._set_item_id(pending_id, item_id)
        return replace(self.item(item_id), created=True)

    def _find_listed(self, merchant: str, digest: bytes, from_block: int) -> int | None:
        """An item this merchant listed with these details that the store does not know yet."""
        event = self.contract.contract.events.ItemListed()
        entries = event.get_logs(from_block=from_block, argument_filters={"merchant": merchant})
        known = linked(self.parts.engine, CatalogueItemDetails.item_id)
        for entry in entries:
            item_id = int(entry["args"]["itemId"])
            if bytes(entry["args"]["detailsHash"]) == digest and item_id not in known:
                return item_id
        return None

    def _set_item_id(self, row_id: int | None, item_id: int) -> None:
        link(self.parts.engine, CatalogueItemDetails, row_id, item_id=item_id)

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
        current = self.contract.item(item_id)
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
            self.contract.update_item(merchant, item_id, **new)
        return self.item(item_id)

    def delist_item(self, *, account: Signer, item_id: int) -> ItemView:
        """Take an item off the catalogue (its merchant, the scheme's issuer or the council);
        an item already delisted is left as it is."""
        if self.contract.item(item_id).delisted:
            return self.item(item_id)
        with self._attempt(account.address, "delist-item", f"item {item_id}"):
            self.contract.delist_item(account, item_id)
        return self.item(item_id)

    def item(self, item_id: int) -> ItemView:
        return self._item_view(self.contract.item(item_id))

    def _item_view(self, item: Item) -> ItemView:
        """An item read from the chain, with its scheme's code and its details kept here."""
        details = self._details.get(item.id)
        if details is None:
            with session(self.parts.engine) as db:
                row = db.exec(
                    select(CatalogueItemDetails).where(CatalogueItemDetails.item_id == item.id)
                ).first()
            # none kept here when it was listed elsewhere, or its listing is not yet linked
            details = (
                {}
                if row is None
                else self._details.setdefault(item.id, json.loads(row.details_json))
            )
        return ItemView(
            item=item, scheme_code=self.parts.scheme_code(item.scheme_id), details=dict(details)
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
        scheme_id = self.parts.scheme(scheme).id if scheme is not None else None
        if merchant is not None:
            merchant = parse_address(merchant, what="merchant address")
        out: list[ItemView] = []
        for item_id in range(self.contract.item_count(), 0, -1):
            item = self.contract.item(item_id)
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
        **({} if view.created is None else {"created": view.created}),
    }
