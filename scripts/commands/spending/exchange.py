"""``vpl exchange`` (积分通兑) and ``vpl clearing`` (实时清算): quotes, exchanges, limits, settlements."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.chain.contracts import Call
from ledger.chain.contracts.exchange import Settlement, SettlementStatus
from ledger.chain.revert_messages import value_text
from ledger.spending.exchange import limits_data, quote_data, result_data
from ledger.values import timestamp
from scripts.commands.governance.proposals import proposal
from scripts.export import ExportOption, check_export, maybe_export
from scripts.options import SchemeArgument
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

exchange_app = typer.Typer(help="Cross-scheme exchange (积分通兑).", **APP_OPTIONS)
limits_app = typer.Typer(help="Exchange limits per scheme (a council decision).", **APP_OPTIONS)
exchange_app.add_typer(limits_app, name="limits")
clearing_app = typer.Typer(help="Clearing between issuers (实时清算).", **APP_OPTIONS)

#: Amounts may be written negative by mistake: let them reach the ledger's own check.
NUMBERS = {"ignore_unknown_options": True}
DEFAULT_PROXY = "issuer-vol"

Member = Annotated[str, typer.Argument(metavar="MEMBER", help="The member's address.")]
FromScheme = Annotated[str, typer.Argument(metavar="FROM", help="Scheme to exchange out of.")]
ToScheme = Annotated[str, typer.Argument(metavar="TO", help="Scheme to exchange into.")]
Amount = Annotated[str, typer.Argument(metavar="AMOUNT", help="Points of FROM to exchange.")]
Units = Annotated[str | None, typer.Option(help="Standard units (0: no limit).")]


# --- exchange ------------------------------------------------------------------------------------


@exchange_app.command("quote", context_settings=NUMBERS)
def exchange_quote(
    ctx: typer.Context, member: Member, from_scheme: FromScheme, to_scheme: ToScheme, amount: Amount
) -> None:
    """The exact result of an exchange now (and the first reason it would be refused)."""
    state = state_of(ctx)
    signer = state.signer_name(DEFAULT_PROXY)
    q = state.ledger.exchange.quote(
        member=state.account(member, what="member address"),
        from_scheme=from_scheme,
        to_scheme=to_scheme,
        amount=amount,
        actor=state.ledger.operator(signer).address,
    )
    data = quote_data(q)
    style = "green" if q.ok else "red"
    rendered: list[Any] = [line(f"quote: {q.from_scheme.code} -> {q.to_scheme.code}", "bold")]
    rendered += [
        line(text, style if text.startswith(("refused", "to run")) else None) for text in q.lines()
    ]
    if q.ok:
        rendered.append(
            line(
                state.command(
                    f"--as {signer} exchange run {q.member} {q.from_scheme.code} "
                    f"{q.to_scheme.code} {q.amount} --values {q.values}"
                ),
                "cyan",
            )
        )
    state.out.result(data, *rendered)


@exchange_app.command("run", context_settings=NUMBERS)
def exchange_run(
    ctx: typer.Context,
    member: Member,
    from_scheme: FromScheme,
    to_scheme: ToScheme,
    amount: Amount,
    values: Annotated[
        str,
        typer.Option(
            "--values",
            metavar="FROM_VALUE:TO_VALUE",
            help="The values the quote printed; refused if either changed since.",
        ),
    ],
) -> None:
    """Exchange for a member, signed (--as) by the member's recorded proxy."""
    state = state_of(ctx)
    r = state.ledger.exchange.execute(
        actor=state.sign_as(DEFAULT_PROXY),
        member=state.account(member, what="member address"),
        from_scheme=from_scheme,
        to_scheme=to_scheme,
        amount=amount,
        values=values,
    )
    data = result_data(r)
    state.out.result(
        data,
        line(f"exchange {r.exchange_id} done", "green"),
        fields(
            None,
            [
                ("member", r.member),
                ("gave", f"{r.used} {r.from_scheme.code}"),
                ("received", f"{r.out} {r.to_scheme.code}"),
                ("value carried over", f"{value_text(r.value)} standard units"),
                ("dust (stays with the source issuer)", value_text(r.dust)),
                ("tx", r.tx_hash),
            ],
        ),
    )


@limits_app.command("show")
def limits_show(ctx: typer.Context, scheme: SchemeArgument) -> None:
    """A scheme's exchange limits and today's use."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    limits = state.ledger.exchange.limits(s.id)
    usage = state.ledger.exchange.usage(s.id)
    data = limits_data(s.code, limits) | usage
    state.out.result(
        data,
        fields(
            f"{s.code}: exchange limits (standard units; none = no limit)",
            [
                (
                    "minimum per exchange",
                    value_text(limits.min_value) if limits.min_value else "none",
                ),
                (
                    "member per day",
                    value_text(limits.member_daily) if limits.member_daily else "none",
                ),
                (
                    "member per month",
                    value_text(limits.member_monthly) if limits.member_monthly else "none",
                ),
                (
                    "scheme out per day",
                    value_text(limits.scheme_daily_out) if limits.scheme_daily_out else "none",
                ),
                (
                    "scheme in per day",
                    value_text(limits.scheme_daily_in) if limits.scheme_daily_in else "none",
                ),
                ("out today", value_text(usage["scheme_out_today"])),
                ("in today", value_text(usage["scheme_in_today"])),
            ],
        ),
    )


@proposal(limits_app, "set")
def limits_set(
    state: State,
    scheme: SchemeArgument,
    min_value: Annotated[
        str | None, typer.Option("--min", help="Least value of one exchange.")
    ] = None,
    member_daily: Annotated[str | None, typer.Option("--member-daily")] = None,
    member_monthly: Annotated[str | None, typer.Option("--member-monthly")] = None,
    scheme_daily_out: Annotated[str | None, typer.Option("--scheme-daily-out")] = None,
    scheme_daily_in: Annotated[str | None, typer.Option("--scheme-daily-in")] = None,
) -> Call:
    """Propose a scheme's exchange limits to the council, in standard units (0: no limit; a
    limit not given keeps its setting)."""
    return state.ledger.exchange.limits_call(
        scheme=scheme,
        min_value=min_value,
        member_daily=member_daily,
        member_monthly=member_monthly,
        scheme_daily_out=scheme_daily_out,
        scheme_daily_in=scheme_daily_in,
    )


# --- clearing ------------------------------------------------------------------------------------


def settlement_data(state: State, s: Settlement) -> dict[str, Any]:
    ledger = state.ledger
    return {
        "id": s.id,
        "payer": ledger.scheme(s.payer_scheme).code,
        "payee": ledger.scheme(s.payee_scheme).code,
        "amount": s.amount,
        "amount_csu": value_text(s.amount),
        "status": s.status.name.lower(),
        "proposer": s.proposer,
        "proposer_operator": state.labels().get(s.proposer),
        "recorded_at": timestamp(s.recorded_at),
        "payment_ref": "0x" + s.payment_ref.hex(),
        "reference": ledger.exchange.reference_of(s),
    }


def _show_settlement(state: State, s: Settlement, headline: str) -> None:
    data = settlement_data(state, s)
    rows = [
        ("payer", data["payer"]),
        ("payee", data["payee"]),
        ("amount", f"{data['amount_csu']} standard units"),
        ("status", data["status"]),
        ("recorded by", data["proposer_operator"] or data["proposer"]),
        ("payment reference", data["reference"] or "(not in this store)"),
        ("payment reference hash", data["payment_ref"]),
    ]
    out: list[Any] = [line(headline, "bold"), fields(None, rows)]
    if s.status is SettlementStatus.PENDING:
        out.append(
            line(
                f"the payee's issuer confirms: {state.command(f'clearing confirm {s.id}')}", "cyan"
            )
        )
    state.out.result(data, *out)


@clearing_app.command("statement")
def clearing_statement(
    ctx: typer.Context,
    period: Annotated[
        str, typer.Option("--period", help="day or month (China Standard Time).")
    ] = "day",
    start: Annotated[str | None, typer.Option("--from", help="First day, e.g. 2026-11-01.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    export: ExportOption = None,
) -> None:
    """Each issuer's clearing per period, and every scheme's net position now."""
    check_export(export)
    state = state_of(ctx)
    st = state.ledger.exchange.statement(period=period, start=start, end=end)  # type: ignore[arg-type]
    labels = state.labels()
    lines = [
        {
            "period": ln.period,
            "issuer": ln.issuer,
            "issuer_operator": labels.get(ln.issuer),
            "schemes": list(ln.schemes),
            "exchanges": ln.exchanges,
            "owed_to": ln.owed_to,
            "owed_by": ln.owed_by,
            "paid": ln.paid,
            "received": ln.received,
            "net": ln.net,
        }
        for ln in st.lines
    ]
    data = {
        "period": st.period,
        "from_block": st.from_block,
        "to_block": st.to_block,
        "unit": "thousandths of the city standard unit",
        "lines": lines,
        "positions": {p.scheme.code: p.net for p in st.positions},
        "owed": [{"payer": a, "payee": b, "owed": o, "pending": pnd} for a, b, o, pnd in st.owed],
    }
    state.out.result(
        data,
        table(
            f"clearing statement per {st.period} (blocks {st.from_block}-{st.to_block}; "
            "standard units)",
            [
                "period",
                "issuer",
                "schemes",
                "exchanges",
                "owed to",
                "owed by",
                "paid",
                "received",
                "net",
            ],
            [
                (
                    ln.period,
                    labels.get(ln.issuer, ln.issuer),
                    ", ".join(ln.schemes),
                    ln.exchanges,
                    value_text(ln.owed_to),
                    value_text(ln.owed_by),
                    value_text(ln.paid),
                    value_text(ln.received),
                    value_text(ln.net),
                )
                for ln in st.lines
            ],
        ),
        table(
            "net positions now (owed to the scheme's issuer minus owed by it)",
            ["scheme", "issuer", "net"],
            [
                (p.scheme.code, labels.get(p.scheme.issuer, p.scheme.issuer), value_text(p.net))
                for p in st.positions
                if p.net
            ],
        ),
        table(
            "open obligations",
            ["payer", "payee", "owed", "pending settlements"],
            [(a, b, value_text(o), value_text(pnd)) for a, b, o, pnd in st.owed],
        ),
    )
    maybe_export(ctx, export, data, lines)


@clearing_app.command("settle", context_settings=NUMBERS)
def clearing_settle(
    ctx: typer.Context,
    payer: Annotated[str, typer.Argument(metavar="PAYER", help="The paying scheme.")],
    payee: Annotated[str, typer.Argument(metavar="PAYEE", help="The scheme paid.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="Standard units paid.")],
    reference: Annotated[
        str,
        typer.Option("--reference", help="The payment's reference (only its hash goes on chain)."),
    ],
) -> None:
    """Record a payment made off chain (by the payer scheme's issuer, or --as)."""
    state = state_of(ctx)
    p = state.ledger.scheme(payer)
    s = state.ledger.exchange.record_settlement(
        issuer=state.issuer_signer(p), payer=p.id, payee=payee, amount=amount, reference=reference
    )
    _show_settlement(state, s, f"settlement {s.id} recorded, pending confirmation")


SettlementArgument = Annotated[int, typer.Argument(metavar="ID")]


def _decide(ctx: typer.Context, settlement_id: int, *, confirm: bool) -> None:
    """The payee scheme's issuer confirms a settlement; the payer scheme's withdraws it (or --as)."""
    state = state_of(ctx)
    exchange = state.ledger.exchange
    pending = exchange.settlement(settlement_id)
    side = pending.payee_scheme if confirm else pending.payer_scheme
    issuer = state.issuer_signer(state.ledger.scheme(side))
    decide = exchange.confirm_settlement if confirm else exchange.cancel_settlement
    s = decide(issuer=issuer, settlement_id=settlement_id)
    _show_settlement(state, s, f"settlement {s.id} {'confirmed' if confirm else 'cancelled'}")


@clearing_app.command("confirm")
def clearing_confirm(ctx: typer.Context, settlement_id: SettlementArgument) -> None:
    """Confirm a payment received (by the payee scheme's issuer, or --as)."""
    _decide(ctx, settlement_id, confirm=True)


@clearing_app.command("cancel")
def clearing_cancel(ctx: typer.Context, settlement_id: SettlementArgument) -> None:
    """Withdraw a pending settlement (by the issuer who recorded it, or --as)."""
    _decide(ctx, settlement_id, confirm=False)


@clearing_app.command("list")
def clearing_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, confirmed or cancelled.")
    ] = None,
    export: ExportOption = None,
) -> None:
    """Settlements, newest first."""
    check_export(export)
    state = state_of(ctx)
    items = [settlement_data(state, s) for s in state.ledger.exchange.settlements(status=status)]
    state.out.result(
        items,
        table(
            "settlements",
            ["id", "payer", "payee", "amount", "status", "recorded", "by"],
            [
                (
                    d["id"],
                    d["payer"],
                    d["payee"],
                    d["amount_csu"],
                    d["status"],
                    d["recorded_at"],
                    d["proposer_operator"] or d["proposer"],
                )
                for d in items
            ],
        ),
    )
    maybe_export(ctx, export, items, items)


__all__ = ["clearing_app", "exchange_app"]
