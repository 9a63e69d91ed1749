"""Balances and the emergency and compliance controls: ``vpl balance``, ``vpl council propose
policy|pause|resume``, ``vpl scheme pause``, and ``vpl points freeze|release|expire``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from ledger.chain.contracts import Call
from ledger.values import parse_address
from scripts.commands.governance.council import propose_app
from scripts.commands.governance.proposals import proposal
from scripts.commands.governance.schemes import scheme_app
from scripts.options import SchemeArgument
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

points_app = typer.Typer(
    help="Points under investigation and expiry: freeze, release, expire.", **APP_OPTIONS
)

SchemeOrAll = Annotated[
    str, typer.Argument(metavar="SCHEME", help="A scheme code or id, or `all` for every scheme.")
]
Member = Annotated[str, typer.Argument(metavar="MEMBER", help="Address or operator name.")]
Amount = Annotated[str, typer.Argument(metavar="AMOUNT")]
Case = Annotated[
    str,
    typer.Option(
        "--case",
        metavar="REF",
        help="The investigation's case reference; only its hash goes on chain.",
    ),
]


@proposal(propose_app, "policy")
def propose_policy(
    state: State,
    scheme: SchemeArgument,
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
) -> Call:
    """Set a scheme's compliance policy; options left out keep their current setting."""
    return state.ledger.controls.policy_call(
        scheme=scheme,
        max_balance=max_balance,
        expiry_months=expiry_months,
        supply_limit=supply_limit,
    )


@proposal(propose_app, "pause")
def propose_pause(state: State, scheme: SchemeOrAll) -> Call:
    """Pause a scheme's points (or every scheme's) through the council."""
    return state.ledger.controls.pause_call(scheme)


@proposal(propose_app, "resume")
def propose_resume(state: State, scheme: SchemeOrAll) -> Call:
    """Resume a paused scheme (or lift the pause of every scheme)."""
    return state.ledger.controls.resume_call(scheme)


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


def _freeze(*, on: bool) -> Callable[..., None]:
    """Freeze or release part of a member's points, as the scheme's issuer (or --as)."""

    def command(
        ctx: typer.Context, member: Member, scheme: SchemeArgument, amount: Amount, case: Case
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
                f"{'froze' if on else 'released'} {amount} {s.code} points of "
                f"{state.label(address)}",
                [("frozen now", frozen), ("available", available), ("tx", result.tx_hash)],
            ),
        )

    return command


points_app.command(
    "freeze",
    help="Freeze part of a member's points pending an investigation (the scheme's issuer).",
)(_freeze(on=True))
points_app.command(
    "release", help="Release frozen points once the investigation allows it (the scheme's issuer)."
)(_freeze(on=False))


@points_app.command("expire")
def points_expire(
    ctx: typer.Context,
    scheme: SchemeArgument,
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


def balance_command(
    ctx: typer.Context, address: Annotated[str, typer.Argument(metavar="ADDRESS")]
) -> None:
    """A member's balance in every scheme: what is available, frozen, and what expires when."""
    state = state_of(ctx)
    balances = state.ledger.controls.balances(address)
    data = [
        {
            "scheme": b.scheme.code,
            "scheme_id": b.scheme.id,
            "name": b.scheme.name,
            "unit": b.scheme.unit,
            "amount": b.balance,
            "available": b.available,
            "frozen": b.frozen,
            "expiring": [
                {
                    "amount": e.amount,
                    "last_day": e.last_day.isoformat(),
                    "expires_on": e.expires_on.isoformat(),
                    "expired": e.expired,
                }
                for e in b.expiring
            ],
        }
        for b in balances
    ]
    expiring = [
        (b.scheme.code, e.last_day.isoformat(), e.amount, "expired" if e.expired else "")
        for b in balances
        for e in b.expiring
    ]
    state.out.result(
        data,
        table(
            f"balances of {parse_address(address)}",
            ["scheme", "name", "amount", "available", "frozen", "unit"],
            [
                (d["scheme"], d["name"], d["amount"], d["available"], d["frozen"], d["unit"])
                for d in data
            ],
        ),
        *(
            [
                table(
                    "expiring points (spendable to the end of the day)",
                    ["scheme", "last day", "points", ""],
                    expiring,
                )
            ]
            if expiring
            else []
        ),
    )
