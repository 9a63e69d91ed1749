"""``vpl scheme``: add (a council proposal), list and show point schemes."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.chain.contracts import Call, Scheme, SchemeFlag
from ledger.values import timestamp
from scripts.commands.governance.proposals import proposal
from scripts.output import fields, table
from scripts.state import APP_OPTIONS, State, state_of

DEFAULT_QUOTA_PERIOD = str(30 * 24 * 3600)

scheme_app = typer.Typer(help="Point schemes (积分体系).", **APP_OPTIONS)


def period_text(seconds: int) -> str:
    """``30d``, ``12h``, ``90s``: a quota period for people."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def scheme_data(state: State, s: Scheme) -> dict[str, Any]:
    return {
        "id": s.id,
        "code": s.code,
        "name": s.name,
        "unit": s.unit,
        "issuer": s.issuer,
        "issuer_operator": state.labels().get(s.issuer),
        "unit_value": s.unit_value,
        "value_csu": s.value_csu,
        "quota": s.quota,
        "quota_period_seconds": s.quota_period,
        "flags": s.flags.names(),
        "created_at": timestamp(s.created_at),
    }


@proposal(scheme_app, "add")
def scheme_add(
    state: State,
    code: Annotated[str, typer.Argument(metavar="CODE", help="1-16 of A-Z, 0-9, '-', '_'.")],
    name: Annotated[str, typer.Option("--name", help="What people call it.")],
    issuer: Annotated[
        str, typer.Option("--issuer", metavar="ADDR-or-OPERATOR", help="Who issues its points.")
    ],
    quota: Annotated[str, typer.Option("--quota", help="Points it may issue per period.")],
    unit: Annotated[str, typer.Option("--unit", help="Unit name.")] = "分",
    value: Annotated[
        str, typer.Option("--value", help="One point in thousandths of the city standard unit.")
    ] = "1000",
    period: Annotated[
        str, typer.Option("--period", metavar="SECONDS", help="Quota period.")
    ] = DEFAULT_QUOTA_PERIOD,
    flags: Annotated[
        str,
        typer.Option(
            "--flags", help="Comma list: exchange-out,exchange-in,gifts,redemption,time-bank."
        ),
    ] = "redemption",
) -> Call:
    """Propose a new scheme to the council."""
    return state.ledger.add_scheme_call(
        code=code,
        name=name,
        unit=unit,
        issuer=state.account(issuer, what="issuer address"),
        unit_value=value,
        quota=quota,
        quota_period=period,
        flags=SchemeFlag.parse(flags),
    )


@scheme_app.command("list")
def scheme_list(ctx: typer.Context) -> None:
    """Every scheme."""
    state = state_of(ctx)
    data = [scheme_data(state, s) for s in state.ledger.schemes.schemes()]
    state.out.result(
        data,
        table(
            "schemes",
            ["id", "code", "name (unit)", "value", "quota", "flags", "issuer"],
            [
                (
                    d["id"],
                    d["code"],
                    f"{d['name']} ({d['unit']})",
                    d["value_csu"],
                    f"{d['quota']}/{period_text(d['quota_period_seconds'])}",
                    ", ".join(d["flags"]),
                    d["issuer_operator"] or d["issuer"],
                )
                for d in data
            ],
        ),
    )


@scheme_app.command("show")
def scheme_show(
    ctx: typer.Context, scheme: Annotated[str, typer.Argument(metavar="CODE-or-ID")]
) -> None:
    """One scheme, with its supply and remaining quota."""
    state = state_of(ctx)
    ledger = state.ledger
    s = ledger.scheme(scheme)
    data = scheme_data(state, s)
    supply = ledger.scheme_supply(s.id)
    policy = ledger.schemes.policy_of(s.id)
    block = ledger.w3.eth.block_number
    pending = [c for c in ledger.schemes.value_changes(s.id) if c.from_block > block]
    data.update(
        total_supply=supply.total_supply,
        issued=supply.issued,
        minted=supply.minted,
        burned=supply.burned,
        held=supply.held,
        remaining_quota=supply.remaining_quota,
        paused=ledger.schemes.is_paused(s.id),
        max_balance=policy.max_balance,
        expiry_months=policy.expiry_months,
        supply_limit=policy.supply_limit,
        pending_values=[{"from_block": c.from_block, "unit_value": c.unit_value} for c in pending],
    )
    state.out.result(
        data,
        fields(
            f"scheme {s.code} (id {s.id})",
            [
                ("name", s.name),
                ("unit", s.unit),
                ("issuer", state.label(s.issuer)),
                ("value", f"{s.value_csu} city standard units ({s.unit_value}/1000)"),
                ("quota", f"{s.quota} per {period_text(s.quota_period)}"),
                ("flags", data["flags"]),
                ("created", data["created_at"]),
                *[
                    ("value from block " + str(c.from_block), f"{c.unit_value}/1000")
                    for c in pending
                ],
                ("total supply", data["total_supply"]),
                ("issued", data["issued"]),
                ("minted (exchanged in)", data["minted"]),
                ("burned", data["burned"]),
                ("held (orders, requests)", data["held"]),
                ("remaining quota", data["remaining_quota"]),
                ("paused", "yes: points cannot move" if data["paused"] else "no"),
                ("policy", policy.describe()),
            ],
        ),
    )
