"""``vpl audit anchor|anchors|verify-store``: tamper evidence for the store
(``ledger.audit.anchors``), commands of the ``vpl audit`` group."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.audit.anchors.anchoring import AnchorOutcome, Anchors
from ledger.audit.anchors.verification import verification_data as store_verification_data
from ledger.audit.export import plain
from scripts.export import ExportOption, check_export, maybe_export
from scripts.jobs import run_until_stopped
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, state_of

#: Joins ``vpl audit`` (``scripts.commands.audit.checks``) without a name of its own.
anchors_app = typer.Typer(**APP_OPTIONS)


@anchors_app.command("anchor")
def anchor_command(
    ctx: typer.Context,
    every: Annotated[
        float | None,
        typer.Option("--every", min=1, help="Keep running: anchor every this many seconds."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Anchor even if the store has not changed.")
    ] = False,
) -> None:
    """Anchor the Merkle root of the store's rows (activity and record details, certificates) on
    chain, as the network's `anchorer` operator; with --every, as a job until Ctrl-C/SIGTERM."""
    state = state_of(ctx)
    anchors = Anchors(state.ledger)

    def show(o: AnchorOutcome) -> None:
        data = plain(o)
        text = (
            f"anchor {o.anchor_id}: {o.rows} rows, root {o.root} (block {o.block}, tx {o.tx_hash})"
            if o.created
            else f"unchanged since anchor {o.anchor_id} ({o.rows} rows): nothing sent"
        )
        pending = f"; {o.pending} rows not yet linked to the chain wait" if o.pending else ""
        state.out.result(data, line(text + pending))

    if every is None:
        show(anchors.anchor(force=force))
        return
    run_until_stopped(
        state.out,
        f"anchoring the store every {every:g} s; Ctrl-C stops",
        lambda: anchors.run(every, on_anchor=show),
        anchors.stop,
    )


@anchors_app.command("anchors")
def anchors_command(
    ctx: typer.Context,
    last: Annotated[int, typer.Option("--last", min=1, max=500)] = 20,
    export: ExportOption = None,
) -> None:
    """The newest anchors of the store on chain, newest first."""
    check_export(export)
    state = state_of(ctx)
    items = [plain(a) for a in Anchors(state.ledger).anchors(last=last)]
    state.out.result(
        items,
        table("store anchors", ["id", "rows", "root", "block", "by"],
              [(a["id"], a["rows"], a["root"], a["block"], state.label(a["anchorer"]))
               for a in items]),
    )  # fmt: skip
    maybe_export(ctx, export, items, items)


@anchors_app.command("verify-store")
def verify_store_command(ctx: typer.Context, export: ExportOption = None) -> None:
    """Check the store against its newest anchor on chain: rows altered, deleted or inserted
    since, and anchors' snapshots altered or deleted; exits 1 on any of them."""
    check_export(export)
    state = state_of(ctx)
    v = Anchors(state.ledger).verify()
    data = store_verification_data(v)
    state.out.result(
        data,
        fields(f"store against anchor {v.anchor_id}", [
            ("anchored", v.anchored_at.isoformat() if v.anchored_at else None),
            ("rows", f"{v.anchor_rows} anchored, {v.rows_now} now ({v.new_since} new since, "
                     f"{v.pending} not yet linked)"),
            ("result", "clean" if v.clean else f"{len(v.findings)} rows changed"),
        ]),
        *(line(f"anchors: {p}") for p in v.anchor_problems),
        table("changed since the anchor", ["what", "table", "row", "detail"],
              [(f.kind, f.table, f.row_id, f.detail) for f in v.findings]),
    )  # fmt: skip
    maybe_export(ctx, export, data, data["findings"])
    if not v.clean:
        raise typer.Exit(1)
