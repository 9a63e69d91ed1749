"""Emergency and compliance controls: ``vpl council propose policy|pause|resume``,
``vpl scheme pause``, and ``vpl points freeze|release|expire``."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts._council import propose_app
from scripts._output import fields, line
from scripts._proposals import ApproveAll, Description, check_approve_all, submit
from scripts._schemes import scheme_app
from scripts._state import APP_OPTIONS, state_of

points_app = typer.Typer(
    help="Points under investigation and expiry: freeze, release, expire.", **APP_OPTIONS
)

SchemeOrAll = Annotated[
    str, typer.Argument(metavar="SCHEME", help="A scheme code or id, or `all` for every scheme.")
]
Member = Annotated[str, typer.Argument(metavar="MEMBER", help="Address or operator name.")]
Scheme = Annotated[str, typer.Argument(metavar="SCHEME")]
Amount = Annotated[str, typer.Argument(metavar="AMOUNT")]
Case = Annotated[
    str,
    typer.Option(
        "--case",
        metavar="REF",
        help="The investigation's case reference; only its hash goes on chain.",
    ),
]


@propose_app.command("policy")
def propose_policy(
    ctx: typer.Context,
    scheme: Scheme,
    max_balance: Annotated[
        str | None,
        typer.Option("--max-balance", metavar="N", help="Most points one account may hold (none)."),
    ] = None,
    expiry_months: Annotated[
        str | None,
        typer.Option(
            "--expiry-months",
            metavar="N",
            help="Points created in month M can be spent to the end of month M+N (none: never "
            "expire). Applies to points created from then on.",
        ),
    ] = None,
    supply_limit: Annotated[
        str | None,
        typer.Option("--supply-limit", metavar="N", help="Most points in existence (none)."),
    ] = None,
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Set a scheme's compliance policy; options left out keep their current setting."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.controls.policy_call(
        scheme=scheme,
        max_balance=max_balance,
        expiry_months=expiry_months,
        supply_limit=supply_limit,
    )
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("pause")
def propose_pause(
    ctx: typer.Context,
    scheme: SchemeOrAll,
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Pause a scheme's points (or every scheme's) through the council."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.controls.pause_call(scheme)
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("resume")
def propose_resume(
    ctx: typer.Context,
    scheme: SchemeOrAll,
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Resume a paused scheme (or lift the pause of every scheme)."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.controls.resume_call(scheme)
    submit(state, [call], approve_all=approve_all, description=description)


@scheme_app.command("pause")
def scheme_pause(ctx: typer.Context, scheme: SchemeOrAll) -> None:
    """Pause at once, as a holder of the pauser role (--as); only the council resumes."""
    state = state_of(ctx)
    result = state.ledger.controls.pause(state.sign_as(state.first_council_member), scheme)
    what = "every scheme" if scheme.strip().lower() == "all" else scheme
    state.out.result(
        {"paused": what, "tx_hash": result.tx_hash},
        line(f"paused {what}: points cannot move until the council resumes it ({result.tx_hash})"),
    )


def _freeze(
    ctx: typer.Context, member: str, scheme: str, amount: str, case: str, *, on: bool
) -> None:
    state = state_of(ctx)
    ledger = state.ledger
    s = ledger.scheme(scheme)
    address = state.account(member, what="member")
    action = ledger.controls.freeze if on else ledger.controls.release
    result = action(
        issuer=state.issuer_signer(s), member=address, scheme=s.id, amount=amount, case=case
    )
    frozen = ledger.points.frozen_of(address, s.id)
    available = ledger.points.available_of(address, s.id)
    state.out.result(
        {
            "member": address,
            "scheme": s.code,
            "frozen": frozen,
            "available": available,
            "tx_hash": result.tx_hash,
        },
        fields(
            f"{'froze' if on else 'released'} {amount} {s.code} points of {state.label(address)}",
            [("frozen now", frozen), ("available", available), ("tx", result.tx_hash)],
        ),
    )


@points_app.command("freeze")
def points_freeze(
    ctx: typer.Context, member: Member, scheme: Scheme, amount: Amount, case: Case
) -> None:
    """Freeze part of a member's points pending an investigation (the scheme's issuer)."""
    _freeze(ctx, member, scheme, amount, case, on=True)


@points_app.command("release")
def points_release(
    ctx: typer.Context, member: Member, scheme: Scheme, amount: Amount, case: Case
) -> None:
    """Release frozen points once the investigation allows it (the scheme's issuer)."""
    _freeze(ctx, member, scheme, amount, case, on=False)


@points_app.command("expire")
def points_expire(
    ctx: typer.Context,
    scheme: Scheme,
    member: Annotated[
        list[str] | None,
        typer.Option("--member", metavar="MEMBER", help="Only these members (repeatable)."),
    ] = None,
) -> None:
    """Burn the expired points of a scheme (every member in the store, or --member); run daily."""
    state = state_of(ctx)
    members = [state.account(m, what="member") for m in member] if member else None
    sweep = state.ledger.controls.expire_due(
        state.sign_as(state.first_council_member), scheme, members
    )
    state.out.result(
        {
            "scheme": sweep.scheme.code,
            "accounts": sweep.accounts,
            "expired": sweep.expired,
            "transactions": sweep.transactions,
        },
        line(
            f"{sweep.expired} expired {sweep.scheme.code} points left supply from "
            f"{sweep.accounts} accounts in {len(sweep.transactions)} transactions"
        ),
    )
