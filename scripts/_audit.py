"""``vpl audit``: auditors' checks (``ledger.audit``) over the chain and the event index."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.audit import reconcile, reconciliation_data
from ledger.indexer import Indexer
from scripts._output import fields
from scripts._state import APP_OPTIONS, state_of

audit_app = typer.Typer(
    help="Auditors' checks: supply reconciliation against the event index.", **APP_OPTIONS
)


@audit_app.command("reconcile")
def reconcile_command(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(help="Scheme code or id.")],
    block: Annotated[
        int | None,
        typer.Option("--block", min=0, help="At this block (default: as far as the index holds)."),
    ] = None,
) -> None:
    """A scheme's supply on chain (issued + minted - burned = total, part held) against what the
    index's movements add up to; exits 1 when they differ, with each difference."""
    state = state_of(ctx)
    ledger = state.ledger
    r = reconcile(ledger, Indexer(ledger), int(scheme) if scheme.isdigit() else scheme, block=block)
    state.out.result(
        reconciliation_data(r),
        fields(
            f"supply of {r.scheme} at block {r.block}",
            [
                ("on chain", f"issued {r.issued} + minted {r.minted} - burned {r.burned} "
                 f"= {r.total_supply} (held {r.held})"),
                ("by the index", f"created {r.created} - destroyed {r.destroyed}; in accounts "
                 f"{r.in_accounts} ({r.holders} holders), in holds {r.in_holds}"),
                ("result", "balanced" if r.balanced else "; ".join(r.findings)),
            ],
        ),
    )  # fmt: skip
    if not r.balanced:
        raise typer.Exit(1)
