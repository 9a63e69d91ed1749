"""``vpl council``: propose, approve, execute, revoke, cancel, list and show proposals."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.values import timestamp
from scripts._output import line, table
from scripts._proposals import (
    ApproveAll,
    Description,
    check_approve_all,
    show_proposal,
    submit,
)
from scripts._state import APP_OPTIONS, state_of

council_app = typer.Typer(help="Council proposals: propose, approve, execute.", **APP_OPTIONS)
propose_app = typer.Typer(help="Put a change to the council.", **APP_OPTIONS)
council_app.add_typer(propose_app, name="propose")


@council_app.command("approve")
def council_approve(
    ctx: typer.Context,
    proposal_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    execute: Annotated[
        bool, typer.Option("--execute", help="Also execute once enough have approved.")
    ] = False,
) -> None:
    """Approve a proposal (as --as, default the first council member)."""
    state = state_of(ctx)
    member = state.sign_as(state.first_council_member)
    outcome = state.ledger.approve(member=member, proposal_id=proposal_id, execute=execute)
    show_proposal(state, outcome)


@council_app.command("execute")
def council_execute(
    ctx: typer.Context, proposal_id: Annotated[int, typer.Argument(metavar="ID", min=1)]
) -> None:
    """Execute an approved proposal."""
    state = state_of(ctx)
    member = state.sign_as(state.first_council_member)
    show_proposal(state, state.ledger.execute(member=member, proposal_id=proposal_id))


@council_app.command("revoke")
def council_revoke(
    ctx: typer.Context, proposal_id: Annotated[int, typer.Argument(metavar="ID", min=1)]
) -> None:
    """Withdraw your approval of a proposal."""
    state = state_of(ctx)
    member = state.sign_as(state.first_council_member)
    show_proposal(state, state.ledger.revoke_approval(member=member, proposal_id=proposal_id))


@council_app.command("cancel")
def council_cancel(
    ctx: typer.Context, proposal_id: Annotated[int, typer.Argument(metavar="ID", min=1)]
) -> None:
    """Cancel a proposal that has not been executed."""
    state = state_of(ctx)
    member = state.sign_as(state.first_council_member)
    show_proposal(state, state.ledger.cancel(member=member, proposal_id=proposal_id))


@council_app.command("list")
def council_list(
    ctx: typer.Context,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Include executed, cancelled and expired ones.")
    ] = False,
) -> None:
    """Open proposals (newest first)."""
    state = state_of(ctx)
    outcomes = state.ledger.proposals(include_closed=include_closed)
    data = [
        {
            "id": o.proposal.id,
            "state": o.state,
            "approvals": o.proposal.approvals,
            "threshold": o.threshold,
            "deadline": timestamp(o.proposal.deadline),
            "description": o.proposal.description,
        }
        for o in outcomes
    ]
    if not data:
        state.out.result(data, line("no proposals" if include_closed else "no open proposals"))
        return
    state.out.result(
        data,
        table(
            "proposals" if include_closed else "open proposals",
            ["id", "state", "approvals", "deadline", "description"],
            [
                (
                    d["id"],
                    d["state"],
                    f"{d['approvals']}/{d['threshold']}",
                    d["deadline"],
                    d["description"],
                )
                for d in data
            ],
        ),
    )


@council_app.command("show")
def council_show(
    ctx: typer.Context, proposal_id: Annotated[int, typer.Argument(metavar="ID", min=1)]
) -> None:
    """One proposal, with its calls decoded."""
    state = state_of(ctx)
    show_proposal(state, state.ledger.proposal(proposal_id), calls=True)


@propose_app.command("add-member")
def propose_add_member(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(metavar="ADDR")],
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Give an account a council seat."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.seat_call(account=state.account(account, what="council member"), add=True)
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("remove-member")
def propose_remove_member(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(metavar="ADDR")],
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Take a council seat away."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.seat_call(account=state.account(account, what="council member"), add=False)
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("threshold")
def propose_threshold(
    ctx: typer.Context,
    threshold: Annotated[str, typer.Argument(metavar="N")],
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Change how many approvals a proposal needs."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.threshold_call(threshold=threshold)
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("quota")
def propose_quota(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME")],
    quota: Annotated[str, typer.Argument(metavar="QUOTA")],
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="SECONDS", help="Quota period (default: unchanged)."),
    ] = None,
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Change a scheme's issuance quota per period."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.quota_call(scheme=scheme, quota=quota, quota_period=period)
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("value")
def propose_value(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME")],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="Thousandths of the city standard unit.")
    ],
    from_block: Annotated[
        str | None,
        typer.Option(
            "--from-block",
            metavar="BLOCK",
            help="The block the new value applies from; it must still be ahead when the proposal "
            "is executed (default: 10 blocks from now).",
        ),
    ] = None,
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Change what one point of a scheme is worth, from a stated block (never retroactively)."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.unit_value_call(scheme=scheme, unit_value=value, from_block=from_block)
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("issuer")
def propose_issuer(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME")],
    issuer: Annotated[str, typer.Argument(metavar="ADDR")],
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Hand a scheme to another issuer."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.issuer_call(
        scheme=scheme, issuer=state.account(issuer, what="issuer address")
    )
    submit(state, [call], approve_all=approve_all, description=description)


@propose_app.command("flags")
def propose_flags(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME")],
    flags: Annotated[
        str,
        typer.Argument(
            metavar="FLAGS", help="Comma list: exchange-out,exchange-in,gifts,redemption,time-bank."
        ),
    ],
    approve_all: ApproveAll = False,
    description: Description = "",
) -> None:
    """Change what members may do with a scheme's points."""
    state = state_of(ctx)
    check_approve_all(state, approve_all)
    call = state.ledger.flags_call(scheme=scheme, flags=flags)
    submit(state, [call], approve_all=approve_all, description=description)
