"""Shared by the catalogue specifications: a scheme that allows redemption with its merchant,
members holding its points, items, and what a refused catalogue write must leave as it was."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.ledger import Ledger
from ledger.spending.items import ItemView
from tests.contracts.helpers import spare
from tests.earning_helpers import DAY, fund, now
from tests.factories import Member, new_holder, new_scheme


@dataclass(frozen=True)
class Shop:
    """A scheme of issuer-vol that allows redemption, with merchant-1 as its merchant."""

    scheme: Scheme
    issuer: LocalAccount
    merchant: LocalAccount

    @property
    def id(self) -> int:
        return self.scheme.id


def new_shop(ledger: Ledger, *, flags: SchemeFlag = SchemeFlag.REDEMPTION) -> Shop:
    issuer = ledger.operator("issuer-vol")
    scheme = new_scheme(ledger, issuer=issuer.address, quota=10**15, flags=flags)
    merchant = ledger.operator("merchant-1")
    ledger.set_scheme_role(
        issuer=issuer, scheme=scheme.id, role_name="merchant", account=merchant.address, grant=True
    )
    return Shop(scheme, issuer, merchant)


def holder(ledger: Ledger, shop: Shop, points: int, *, funded: bool = True) -> Member:
    """A fresh member holding `points` of the shop's scheme (and gas to sign, if `funded`)."""
    member = new_holder(ledger, shop.id, points)
    if funded:
        fund(ledger, member.address)
    return member


def community_worker() -> LocalAccount:
    """A funded dev account that no operator uses: it acts as members' proxy."""
    return spare(0)


def grant_proxy(ledger: Ledger, member: str, proxy: str) -> None:
    """A registrar records `proxy` as acting for `member` (with the member's consent on file)."""
    if not ledger.members.is_proxy(member, proxy):
        ledger.members.grant_proxy(
            ledger.operator("registrar"), member, proxy, secrets.token_bytes(32)
        )


def list_item(
    ledger: Ledger,
    shop: Shop,
    *,
    price: int = 50,
    stock: int = 10,
    per_member: int = 5,
    start: int | None = None,
    end: int | None = None,
    collection_period: int = DAY,
    kind: str = "gift",
) -> ItemView:
    """An item of the shop, listed through the service, open from now for two days."""
    t = now(ledger)
    return ledger.catalogue.add_item(
        merchant=shop.merchant,
        scheme=shop.id,
        kind=kind,
        name=f"公园门票 {uuid.uuid4().hex[:8]}",
        description="黄鹤楼公园成人门票一张",
        merchant_name="黄鹤楼公园",
        place="武昌区蛇山西山坡特1号",
        price=price,
        stock=stock,
        per_member=per_member,
        available_from=t - 60 if start is None else start,
        available_until=t + 2 * DAY if end is None else end,
        collection_period=collection_period,
    )


def catalogue_state(
    ledger: Ledger,
    scheme_id: int,
    members: Sequence[str] = (),
    *,
    items: Sequence[int] = (),
    orders: Sequence[int] = (),
) -> dict[str, Any]:
    """Everything a refused catalogue write could have changed."""
    p, c = ledger.points, ledger.catalogue_contract
    return {
        "balances": {
            m: (p.balance_of(m, scheme_id), p.available_of(m, scheme_id)) for m in members
        },
        "supply": (p.total_supply(scheme_id), p.burned(scheme_id), p.held_total(scheme_id)),
        "holds": p.held_by(scheme_id, c.address),
        "items": [c.item(i) for i in items],
        "taken": {(i, m): c.taken_by(i, m) for i in items for m in members},
        "orders": [c.order(o) for o in orders],
        "counts": (c.item_count(), c.order_count()),
    }


def assert_supply_invariant(ledger: Ledger, scheme_id: int, members: Sequence[str]) -> None:
    """Per scheme: total supply = sum of balances + held points (`members`: every holder)."""
    p = ledger.points
    balances = sum(p.balance_of(m, scheme_id) for m in set(members))
    assert p.total_supply(scheme_id) == balances + p.held_total(scheme_id)
