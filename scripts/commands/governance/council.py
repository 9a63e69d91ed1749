"""``vpl council``: propose, approve, execute, revoke, cancel, list and show proposals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Call
from ledger.governance.council import ProposalOutcome
from ledger.ledger import Ledger
from ledger.values import timestamp
from scripts.commands.governance.proposals import proposal, show_proposal
from scripts.options import SchemeArgument
from scripts.output import line, table
from scripts.state import APP_OPTIONS, State, state_of

council_app = typer.Typer(help="Council proposals: propose, approve, execute.", **APP_OPTIONS)
propose_app = typer.Typer(help="Put a change to the council.", **APP_OPTIONS)
council_app.add_typer(propose_app, name="propose")

ProposalId = Annotated[int, typer.Argument(metavar="ID", min=1)]
CouncilSeat = Annotated[str, typer.Argument(metavar="ADDR")]


@council_app.command("approve")
def council_approve(
    ctx: typer.Context,
    proposal_id: ProposalId,
    execute: Annotated[
        bool, typer.Option("--execute", help="Also execute once enough have approved.")
    ] = False,
) -> None:
    """Approve a proposal (as --as, default the first council member)."""
    state = state_of(ctx)
    member = state.sign_as(state.first_council_member)
    outcome = state.ledger.approve(member=member, proposal_id=proposal_id, execute=execute)
    show_proposal(state, outcome)


Decision = Callable[[Ledger, LocalAccount, int], ProposalOutcome]


def _decision(decide: Decision) -> Callable[..., None]:
    """A command by which a council member (--as, default the first) acts on a proposal."""

    def command(ctx: typer.Context, proposal_id: ProposalId) -> None:
        state = state_of(ctx)
        member = state.sign_as(state.first_council_member)
        show_proposal(state, decide(state.ledger, member, proposal_id))

    return command


council_app.command("execute", help="Execute an approved proposal.")(
    _decision(lambda ledger, member, pid: ledger.execute(member=member, proposal_id=pid))
)
council_app.command("revoke", help="Withdraw your approval of a proposal.")(
    _decision(lambda ledger, member, pid: ledger.revoke_approval(member=member, proposal_id=pid))
)
council_app.command("cancel", help="Cancel a proposal that has not been executed.")(
    _decision(lambda ledger, member, pid: ledger.cancel(member=member, proposal_id=pid))
)


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
def council_show(ctx: typer.Context, proposal_id: ProposalId) -> None:
    """One proposal, with its calls decoded."""
    state = state_of(ctx)
    show_proposal(state, state.ledger.proposal(proposal_id), calls=True)


@proposal(propose_app, "add-member")
def propose_add_member(state: State, account: CouncilSeat) -> Call:
    """Give an account a council seat."""
    return state.ledger.seat_call(account=state.account(account, what="council member"), add=True)


@proposal(propose_app, "remove-member")
def propose_remove_member(state: State, account: CouncilSeat) -> Call:
    """Take a council seat away."""
    return state.ledger.seat_call(account=state.account(account, what="council member"), add=False)


@proposal(propose_app, "threshold")
def propose_threshold(state: State, threshold: Annotated[str, typer.Argument(metavar="N")]) -> Call:
    """Change how many approvals a proposal needs."""
    return state.ledger.threshold_call(threshold=threshold)


@proposal(propose_app, "quota")
def propose_quota(
    state: State,
    scheme: SchemeArgument,
    quota: Annotated[str, typer.Argument(metavar="QUOTA")],
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="SECONDS", help="Quota period (default: unchanged)."),
    ] = None,
) -> Call:
    """Change a scheme's issuance quota per period."""
    return state.ledger.quota_call(scheme=scheme, quota=quota, quota_period=period)


@proposal(propose_app, "value")
def propose_value(
    state: State,
    scheme: SchemeArgument,
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
) -> Call:
    """Change what one point of a scheme is worth, from a stated block (never retroactively)."""
    return state.ledger.unit_value_call(scheme=scheme, unit_value=value, from_block=from_block)


@proposal(propose_app, "issuer")
def propose_issuer(
    state: State, scheme: SchemeArgument, issuer: Annotated[str, typer.Argument(metavar="ADDR")]
) -> Call:
    """Hand a scheme to another issuer."""
    return state.ledger.issuer_call(
        scheme=scheme, issuer=state.account(issuer, what="issuer address")
    )


@proposal(propose_app, "flags")
def propose_flags(
    state: State,
    scheme: SchemeArgument,
    flags: Annotated[
        str,
        typer.Argument(
            metavar="FLAGS", help="Comma list: exchange-out,exchange-in,gifts,redemption,time-bank."
        ),
    ],
) -> Call:
    """Change what members may do with a scheme's points."""
    return state.ledger.flags_call(scheme=scheme, flags=flags)
