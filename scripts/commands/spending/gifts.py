"""``vpl gift`` and ``vpl fund``: gifts between members and community funds (共同缔造基金).

Members have no keys here: a gift or a donation is signed (``--as``) by an operator recorded on
chain as the member's proxy (a community worker); a fund is created by its scheme's issuer and
granted from by its manager.
"""

from __future__ import annotations

from typing import Annotated

import typer
from eth_account.signers.local import LocalAccount

from ledger.spending.gifts import FundView, GiftReceipt, fund_data, history_data, receipt_data
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

fund_app = typer.Typer(help="Community funds (共同缔造基金): donations and grants.", **APP_OPTIONS)

AccountArgument = Annotated[str, typer.Argument(help="Address or operator name.")]
FundArgument = Annotated[int, typer.Argument(metavar="FUND", help="The fund's id.")]
RequestOption = Annotated[
    str | None,
    typer.Option(
        "--request-id",
        help="Your id for this request: running it again with the same id does it once.",
    ),
]


def _proxy(state: State, what: str) -> LocalAccount:
    return state.named_signer(
        f"{what} is signed by the member's recorded proxy (a community worker): name the "
        "operator with --as"
    )


def _show_receipt(state: State, r: GiftReceipt, head: str) -> None:
    if r.repeated:
        state.out.note(f"request {r.request_id} was already done; nothing was sent again")
    state.out.result(
        receipt_data(r),
        fields(
            head,
            [
                ("from", state.label(r.account)),
                ("to", state.label(r.recipient) if r.recipient else f"fund {r.fund_id}"),
                ("amount", r.amount),
                (
                    "memo" if r.kind == "gift" else "note" if r.kind == "donation" else "purpose",
                    r.text,
                ),
                ("request id", r.request_id),
                ("transaction", r.tx_hash),
            ],
        ),
    )


def gift_command(
    ctx: typer.Context,
    giver: Annotated[str, typer.Argument(metavar="FROM", help="The giving member.")],
    recipient: Annotated[str, typer.Argument(metavar="TO", help="The receiving member.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT")],
    scheme: Annotated[str, typer.Option("--scheme", help="The scheme's code or id.")],
    memo: Annotated[str, typer.Option("--memo", help="A note kept off chain.")] = "",
    request_id: RequestOption = None,
) -> None:
    """Give points to another member (where the scheme allows gifts); --as the giver's proxy."""
    state = state_of(ctx)
    r = state.ledger.gifts.give(
        operator=_proxy(state, "a gift"),
        scheme=scheme,
        giver=state.account(giver, what="giver"),
        recipient=state.account(recipient, what="recipient"),
        amount=amount,
        memo=memo,
        request_id=request_id,
    )
    _show_receipt(state, r, f"gift of {r.amount} points")


# --- funds ---------------------------------------------------------------------------------------


def _show_fund(state: State, view: FundView) -> None:
    data = fund_data(view)
    state.out.result(
        data,
        fields(
            f"fund {view.fund.id}: {view.name or '(details not in this store)'}",
            [
                ("scheme", view.scheme_code),
                ("description", view.description),
                ("manager", state.label(view.fund.manager)),
                ("balance", view.fund.balance),
                ("donated", view.fund.donated),
                ("granted", view.fund.granted),
                ("created", data["created_at"]),
            ],
        ),
    )


@fund_app.command("create")
def fund_create(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME")],
    name: Annotated[str, typer.Option("--name", help="Unique in the scheme.")],
    manager: Annotated[str, typer.Option("--manager", help="Address or operator name.")],
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Open a community fund of a scheme (by its issuer); again with the same name: the same fund."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    view = state.ledger.gifts.create_fund(
        issuer=state.issuer_signer(s),
        scheme=s.id,
        manager=state.account(manager, what="manager"),
        name=name,
        description=description,
    )
    _show_fund(state, view)


@fund_app.command("manager")
def fund_manager(ctx: typer.Context, fund_id: FundArgument, manager: AccountArgument) -> None:
    """Name a fund's new manager (by the scheme's issuer)."""
    state = state_of(ctx)
    current = state.ledger.gifts.fund(fund_id)
    view = state.ledger.gifts.set_manager(
        issuer=state.issuer_signer(state.ledger.scheme(current.fund.scheme_id)),
        fund_id=fund_id,
        manager=state.account(manager, what="manager"),
    )
    _show_fund(state, view)


@fund_app.command("donate")
def fund_donate(
    ctx: typer.Context,
    fund_id: FundArgument,
    member: AccountArgument,
    amount: Annotated[str, typer.Argument(metavar="AMOUNT")],
    note: Annotated[str, typer.Option("--note", help="A note kept off chain.")] = "",
    request_id: RequestOption = None,
) -> None:
    """Donate a member's points to a fund; --as the member's proxy."""
    state = state_of(ctx)
    r = state.ledger.gifts.donate(
        operator=_proxy(state, "a donation"),
        fund_id=fund_id,
        member=state.account(member, what="member"),
        amount=amount,
        note=note,
        request_id=request_id,
    )
    _show_receipt(state, r, f"donation of {r.amount} points to fund {fund_id}")


@fund_app.command("grant")
def fund_grant(
    ctx: typer.Context,
    fund_id: FundArgument,
    recipient: AccountArgument,
    amount: Annotated[str, typer.Argument(metavar="AMOUNT")],
    purpose: Annotated[str, typer.Option("--purpose", help="What it is for (kept off chain).")],
    request_id: RequestOption = None,
) -> None:
    """Grant a fund's points to a member for a stated purpose (by the fund's manager)."""
    state = state_of(ctx)
    current = state.ledger.gifts.fund(fund_id)
    r = state.ledger.gifts.grant(
        manager=state.key_holder(current.fund.manager, whose="the fund's manager"),
        fund_id=fund_id,
        recipient=state.account(recipient, what="recipient"),
        amount=amount,
        purpose=purpose,
        request_id=request_id,
    )
    _show_receipt(state, r, f"grant of {r.amount} points from fund {fund_id}")


@fund_app.command("show")
def fund_show(ctx: typer.Context, fund_id: FundArgument) -> None:
    """A fund: balance, donated and granted totals, manager, details."""
    state = state_of(ctx)
    _show_fund(state, state.ledger.gifts.fund(fund_id))


@fund_app.command("list")
def fund_list(
    ctx: typer.Context,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Only this scheme's.")] = None,
) -> None:
    """Every community fund with its balance and totals."""
    state = state_of(ctx)
    views = state.ledger.gifts.funds(scheme=scheme)
    state.out.result(
        [fund_data(v) for v in views],
        table(
            "community funds",
            ["id", "scheme", "name", "manager", "balance", "donated", "granted"],
            [
                (
                    v.fund.id,
                    v.scheme_code,
                    v.name,
                    state.label(v.fund.manager),
                    v.fund.balance,
                    v.fund.donated,
                    v.fund.granted,
                )
                for v in views
            ],
        ),
    )


@fund_app.command("history")
def fund_history(ctx: typer.Context, fund_id: FundArgument) -> None:
    """Everything that happened to a fund, from the chain's events, with notes and purposes."""
    state = state_of(ctx)
    lines = state.ledger.gifts.history(fund_id)
    state.out.result(
        {"fund_id": fund_id, "history": [history_data(h) for h in lines]},
        table(
            f"fund {fund_id}: history",
            ["block", "what", "member / manager", "amount", "note / purpose", "by"],
            [
                (
                    h.entry.block,
                    h.entry.kind,
                    state.label(h.entry.account),
                    h.entry.amount or None,
                    h.text,
                    state.label(h.entry.operator),
                )
                for h in lines
            ],
        ),
        line(f"{len(lines)} events"),
    )
