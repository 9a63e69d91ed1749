"""``vpl catalogue``, ``vpl redeem`` and ``vpl order``, end to end against the session's chain and
store: a merchant lists, a community worker redeems for a member as their proxy, the merchant
fulfils or cancels, due orders expire; refusals exit with their code and change nothing."""

from __future__ import annotations

import pytest

from ledger.ledger import Ledger
from tests.catalogue_helpers import Shop, assert_supply_invariant, grant_proxy, holder, new_shop
from tests.e2e.runner import Vpl, fails, ok
from tests.earning_helpers import DAY, HOUR, advance, as_typed, now

WORKER = "reviewer-2"


@pytest.fixture
def shop(ledger: Ledger) -> Shop:
    return new_shop(ledger)


def add(vpl: Vpl, ledger: Ledger, shop: Shop, *extra: str, name: str = "黄鹤楼门票") -> dict:
    return ok(
        vpl(
            "--json",
            "catalogue",
            "add",
            shop.scheme.code,
            "--kind",
            "ticket",
            "--name",
            f"{name} {now(ledger)}",
            "--description",
            "成人门票一张",
            "--merchant-name",
            "黄鹤楼公园",
            "--place",
            "武昌区蛇山",
            "--price",
            "50",
            "--stock",
            "3",
            "--per-member",
            "3",
            "--until",
            as_typed(now(ledger) + 2 * DAY),
            *extra,
        )
    )


def test_list_redeem_fulfil_and_cancel(vpl: Vpl, ledger: Ledger, shop: Shop) -> None:
    item = add(vpl, ledger, shop)
    assert (item["price"], item["stock"], item["scheme"]) == (50, 3, shop.scheme.code)
    assert item["details"]["merchant_name"] == "黄鹤楼公园"
    assert ok(vpl("--json", "catalogue", "show", str(item["id"])))["id"] == item["id"]
    listed = ok(vpl("--json", "catalogue", "list", "--scheme", shop.scheme.code))
    assert [i["id"] for i in listed] == [item["id"]]

    member = holder(ledger, shop, 200, funded=False)
    worker = ledger.operator(WORKER)
    grant_proxy(ledger, member.address, worker.address)
    args = ("redeem", str(item["id"]), "--member", member.address, "--price", "50")
    order = ok(
        vpl("--json", "--as", WORKER, *args, "--quantity", "2", "--key", f"k-{member.address}")
    )
    assert (order["status"], order["points"], order["quantity"]) == ("held", 100, 2)
    again = ok(
        vpl("--json", "--as", WORKER, *args, "--quantity", "2", "--key", f"k-{member.address}")
    )
    assert again["id"] == order["id"]
    assert ledger.points.balance_of(member.address, shop.id) == 100

    second = ok(vpl("--json", "--as", WORKER, *args))
    mine = ok(vpl("--json", "order", "list", "--member", member.address))
    assert [o["id"] for o in mine] == [second["id"], order["id"]]

    fulfilled = ok(vpl("--json", "order", "fulfil", str(order["id"]), "--code", "HHL-0001"))
    assert fulfilled["status"] == "fulfilled" and fulfilled["fulfilment_hash"]
    fails(vpl("order", "fulfil", str(order["id"]), "--code", "HHL-0001"), 3, "already fulfilled")
    fails(vpl("order", "cancel", str(order["id"])), 3, "already fulfilled")

    cancelled = ok(vpl("--json", "--as", WORKER, "order", "cancel", str(second["id"])))
    assert cancelled["status"] == "cancelled"
    assert ledger.points.balance_of(member.address, shop.id) == 100
    held = ok(vpl("--json", "order", "list", "--merchant", "merchant-1", "--status", "held"))
    assert second["id"] not in [o["id"] for o in held]
    assert_supply_invariant(ledger, shop.id, [member.address])


def test_refusals_exit_with_a_clear_message_and_change_nothing(
    vpl: Vpl, ledger: Ledger, shop: Shop
) -> None:
    item = add(vpl, ledger, shop)
    member = holder(ledger, shop, 120, funded=False)
    grant_proxy(ledger, member.address, ledger.operator(WORKER).address)
    redeem = ("redeem", str(item["id"]), "--member", member.address)

    def unchanged() -> tuple[int, int, int]:
        return (
            ledger.points.balance_of(member.address, shop.id),
            ledger.catalogue_contract.item(item["id"]).stock,
            ledger.catalogue_contract.order_count(),
        )

    before = unchanged()
    fails(vpl(*redeem), 2, "--as")
    fails(vpl("--as", WORKER, *redeem, "--quantity", "0"), 2, "quantity must be positive")
    fails(vpl("--as", WORKER, *redeem, "--quantity", "-1"), 2, "quantity must be positive")
    fails(vpl("--as", WORKER, *redeem, "--quantity", str(2**256)), 2, "larger than the maximum")
    fails(vpl("--as", "issuer-bee", *redeem), 3, "nor a proxy recorded for them")
    fails(vpl("--as", WORKER, *redeem, "--quantity", "3"), 3, "holds 120 points")
    fails(vpl("--as", WORKER, *redeem, "--quantity", "4"), 3, "4 asked for")
    ok(vpl("--json", "catalogue", "update", str(item["id"]), "--price", "60"))
    fails(vpl("--as", WORKER, *redeem, "--price", "50"), 3, "costs 60 points a unit now")
    fails(vpl("--as", "issuer-bee", "catalogue", "update", str(item["id"]), "--price", "1"), 3, "")
    fails(vpl("order", "fulfil", "999999", "--code", "x"), 3, "there is no order 999999")
    assert unchanged() == before

    rows = ledger.catalogue.items(scheme=shop.id)
    fails(
        vpl(
            "catalogue",
            "add",
            shop.scheme.code,
            "--name",
            "x",
            "--description",
            "x",
            "--merchant-name",
            "x",
            "--place",
            "x",
            "--price",
            "0",
            "--stock",
            "1",
            "--until",
            as_typed(now(ledger) + DAY),
        ),
        2,
        "price must be positive",
    )
    assert ledger.catalogue.items(scheme=shop.id) == rows


def test_due_orders_expire_and_delisted_items_leave_the_list(
    vpl: Vpl, ledger: Ledger, shop: Shop
) -> None:
    item = add(vpl, ledger, shop, "--collection-hours", "1", name="长者午餐")
    member = holder(ledger, shop, 100, funded=False)
    grant_proxy(ledger, member.address, ledger.operator(WORKER).address)
    order = ok(vpl("--json", "--as", WORKER, "redeem", str(item["id"]), "--member", member.address))
    assert ledger.points.balance_of(member.address, shop.id) == 50
    fails(vpl("order", "expire", str(order["id"])), 3, "can be collected until")
    advance(ledger, HOUR + 1)

    expired = ok(vpl("--json", "order", "expire"))
    assert order["id"] in expired["expired"]
    assert ok(vpl("--json", "order", "show", str(order["id"])))["status"] == "expired"
    assert ledger.points.balance_of(member.address, shop.id) == 100

    delisted = ok(vpl("--json", "catalogue", "delist", str(item["id"])))
    assert delisted["delisted"] is True
    assert ok(vpl("--json", "catalogue", "list", "--scheme", shop.scheme.code)) == []
    assert_supply_invariant(ledger, shop.id, [member.address])
