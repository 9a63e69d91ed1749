"""``vpl catalogue``, ``vpl redeem`` and ``vpl order``: the redemption catalogue (兑换)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.errors import InputError
from ledger.spending.catalogue import OrderView, order_data
from ledger.spending.items import ItemView, item_data
from ledger.values import show_time
from scripts.options import MERCHANT, LastOption
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

catalogue_app = typer.Typer(
    help="Catalogue items: gifts, tickets, services (兑换物品/服务).", **APP_OPTIONS
)
order_app = typer.Typer(help="Orders of catalogue items: fulfil, cancel, expire.", **APP_OPTIONS)

#: Anyone may end a due order; the relayer account is the usual choice.
DEFAULT_EXPIRER = "relayer"
ItemArgument = Annotated[int, typer.Argument(metavar="ITEM", min=1)]
OrderArgument = Annotated[int, typer.Argument(metavar="ORDER", min=1)]
MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Address or operator name.")]


# --- items ---------------------------------------------------------------------------------------


def _show_item(state: State, view: ItemView, head: str) -> None:
    i, d = view.item, view.details
    rows = [
        ("name", d.get("name")),
        ("kind", d.get("kind")),
        ("description", d.get("description")),
        ("merchant", f"{d.get('merchant_name', '-')} ({state.label(i.merchant)})"),
        ("place", d.get("place")),
        ("scheme", view.scheme_code),
        ("price", f"{i.price} points a unit"),
        ("stock", f"{i.stock} left"),
        ("per member", i.per_member),
        ("window", f"{show_time(i.available_from)} - {show_time(i.available_until)} (CST)"),
        (
            "collection period",
            f"{i.collection_period // 3600} h {i.collection_period % 3600 // 60} min",
        ),
        ("status", "delisted" if i.delisted else "listed"),
    ]
    state.out.result(item_data(view), fields(f"{head}: item {i.id}", rows))


@catalogue_app.command("add")
def catalogue_add(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME")],
    name: Annotated[str, typer.Option("--name")],
    description: Annotated[str, typer.Option("--description")],
    merchant_name: Annotated[str, typer.Option("--merchant-name", help="As members know it.")],
    place: Annotated[str, typer.Option("--place", help="Where it is collected or given.")],
    price: Annotated[str, typer.Option("--price", help="Points a unit.")],
    stock: Annotated[str, typer.Option("--stock")],
    until: Annotated[
        str, typer.Option("--until", help="End of the window, e.g. 2026-12-31 18:00.")
    ],
    kind: Annotated[str, typer.Option("--kind", help="gift, ticket or service.")] = "gift",
    per_member: Annotated[str, typer.Option("--per-member")] = "1",
    start: Annotated[
        str | None, typer.Option("--from", help="Start of the window (default: now).")
    ] = None,
    collection_hours: Annotated[
        int, typer.Option("--collection-hours", min=1, max=366 * 24, help="Then orders expire.")
    ] = 7 * 24,
) -> None:
    """List an item (a merchant of the scheme; default signer merchant-1). Listing the same
    details again shows the item already listed."""
    state = state_of(ctx)
    chain_now = int(state.ledger.w3.eth.get_block("latest")["timestamp"])
    view = state.ledger.catalogue.add_item(
        merchant=state.sign_as(MERCHANT),
        scheme=scheme,
        kind=kind,
        name=name,
        description=description,
        merchant_name=merchant_name,
        place=place,
        price=price,
        stock=stock,
        per_member=per_member,
        available_from=start if start is not None else chain_now,
        available_until=until,
        collection_period=collection_hours * 3600,
    )
    _show_item(state, view, "listed")


@catalogue_app.command("update")
def catalogue_update(
    ctx: typer.Context,
    item_id: ItemArgument,
    price: Annotated[str | None, typer.Option("--price")] = None,
    stock: Annotated[
        str | None, typer.Option("--stock", help="Units left (0: none for now).")
    ] = None,
    per_member: Annotated[str | None, typer.Option("--per-member")] = None,
    start: Annotated[str | None, typer.Option("--from")] = None,
    until: Annotated[str | None, typer.Option("--until")] = None,
) -> None:
    """Change an item's price, stock, per-member limit or window (its merchant)."""
    state = state_of(ctx)
    view = state.ledger.catalogue.update_item(
        merchant=state.sign_as(MERCHANT),
        item_id=item_id,
        price=price,
        stock=stock,
        per_member=per_member,
        available_from=start,
        available_until=until,
    )
    _show_item(state, view, "updated")


@catalogue_app.command("delist")
def catalogue_delist(ctx: typer.Context, item_id: ItemArgument) -> None:
    """Take an item off the catalogue (its merchant, or --as the scheme's issuer)."""
    state = state_of(ctx)
    view = state.ledger.catalogue.delist_item(account=state.sign_as(MERCHANT), item_id=item_id)
    _show_item(state, view, "delisted")


@catalogue_app.command("show")
def catalogue_show(ctx: typer.Context, item_id: ItemArgument) -> None:
    """An item with its details."""
    state = state_of(ctx)
    _show_item(state, state.ledger.catalogue.item(item_id), "catalogue")


@catalogue_app.command("list")
def catalogue_list(
    ctx: typer.Context,
    scheme: Annotated[str | None, typer.Option("--scheme")] = None,
    merchant: MerchantOption = None,
    delisted: Annotated[bool, typer.Option("--delisted", help="Include delisted items.")] = False,
    last: LastOption = 100,
) -> None:
    """The catalogue, newest first."""
    state = state_of(ctx)
    views = state.ledger.catalogue.items(
        scheme=scheme,
        merchant=state.optional_account(merchant, what="merchant"),
        include_delisted=delisted,
        last=last,
    )
    state.out.result(
        [item_data(v) for v in views],
        table(
            "catalogue",
            ["id", "scheme", "name", "merchant", "price", "stock", "per member", "until (CST)"],
            [
                (
                    v.item.id,
                    v.scheme_code,
                    v.name + (" (delisted)" if v.item.delisted else ""),
                    v.details.get("merchant_name"),
                    v.item.price,
                    v.item.stock,
                    v.item.per_member,
                    show_time(v.item.available_until),
                )
                for v in views
            ],
        ),
    )


# --- redeeming and orders ------------------------------------------------------------------------


def _show_order(state: State, view: OrderView, head: str) -> None:
    o = view.order
    rows = [
        ("item", f"{o.item_id} {view.item.name}"),
        ("member", o.member),
        ("quantity", o.quantity),
        ("points", f"{o.points} {view.item.scheme_code}"),
        ("status", view.status),
        ("collect by", f"{show_time(o.expires_at)} (CST)"),
    ]
    if o.fulfilment_hash is not None:
        rows.append(("fulfilment code hash", "0x" + o.fulfilment_hash.hex()))
    state.out.result(order_data(view), fields(f"{head}: order {o.id}", rows))


def redeem_command(
    ctx: typer.Context,
    item_id: ItemArgument,
    member: Annotated[str, typer.Option("--member", help="The member's address.")],
    quantity: Annotated[str, typer.Option("--quantity")] = "1",
    price: Annotated[
        str | None,
        typer.Option(
            "--price", help="The unit price the member was shown (default: the current one)."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="A request key: running again returns the same order."),
    ] = None,
) -> None:
    """Redeem an item for a member, signed --as an operator recorded as the member's proxy."""
    state = state_of(ctx)
    if state.signer is None:
        raise InputError("name the member's proxy that signs with --as (e.g. a community worker)")
    unit_price: str | int = (
        price if price is not None else state.ledger.catalogue.item(item_id).item.price
    )
    view = state.ledger.catalogue.redeem(
        signer=state.sign_as(state.signer),
        member=state.account(member, what="member"),
        item_id=item_id,
        quantity=quantity,
        unit_price=unit_price,
        request_key=key,
    )
    if price is None:
        state.out.note(f"redeemed at the current price, {unit_price} points a unit")
    _show_order(state, view, "redeemed")


@order_app.command("show")
def order_show(ctx: typer.Context, order_id: OrderArgument) -> None:
    """An order and what became of its points."""
    state = state_of(ctx)
    _show_order(state, state.ledger.catalogue.order(order_id), "order")


@order_app.command("list")
def order_list(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option("--member")] = None,
    merchant: MerchantOption = None,
    item_id: Annotated[int | None, typer.Option("--item", min=1)] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="held, fulfilled, cancelled or expired.")
    ] = None,
    last: LastOption = 100,
) -> None:
    """Orders of a member, of a merchant's items or of one item, newest first."""
    state = state_of(ctx)
    views = state.ledger.catalogue.orders(
        member=state.optional_account(member, what="member"),
        merchant=state.optional_account(merchant, what="merchant"),
        item_id=item_id,
        status=status,
        last=last,
    )
    state.out.result(
        [order_data(v) for v in views],
        table(
            "orders",
            ["id", "item", "member", "quantity", "points", "status", "collect by (CST)"],
            [
                (
                    v.order.id,
                    f"{v.order.item_id} {v.item.name}",
                    v.order.member,
                    v.order.quantity,
                    v.order.points,
                    v.status,
                    show_time(v.order.expires_at),
                )
                for v in views
            ],
        ),
    )


@order_app.command("fulfil")
def order_fulfil(
    ctx: typer.Context,
    order_id: OrderArgument,
    code: Annotated[
        str, typer.Option("--code", help="The ticket number or pick-up code handed over.")
    ],
) -> None:
    """Hand the item over (its merchant): the points are burned; the code's hash is recorded."""
    state = state_of(ctx)
    view = state.ledger.catalogue.fulfil(
        merchant=state.sign_as(MERCHANT), order_id=order_id, code=code
    )
    _show_order(state, view, "fulfilled")


@order_app.command("cancel")
def order_cancel(ctx: typer.Context, order_id: OrderArgument) -> None:
    """Cancel a held order (the merchant, or --as the member's proxy): the points return."""
    state = state_of(ctx)
    view = state.ledger.catalogue.cancel(account=state.sign_as(MERCHANT), order_id=order_id)
    _show_order(state, view, "cancelled")


@order_app.command("expire")
def order_expire(
    ctx: typer.Context,
    order_id: Annotated[
        int | None, typer.Argument(metavar="[ORDER]", min=1, help="Default: every due order.")
    ] = None,
) -> None:
    """End orders whose collection period is over (anyone): their points return."""
    state = state_of(ctx)
    account = state.sign_as(DEFAULT_EXPIRER)
    if order_id is not None:
        _show_order(
            state,
            state.ledger.catalogue.expire_order(account=account, order_id=order_id),
            "expired",
        )
        return
    expired = state.ledger.catalogue.expire_due(account=account)
    state.out.result(
        {"expired": expired},
        line(
            f"{len(expired)} due orders expired"
            + (f": {', '.join(map(str, expired))}" if expired else "")
        ),
    )
