"""``vpl audit``: auditors' checks (``ledger.audit``) over the chain and the event index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.audit import reconcile, reconciliation_data
from ledger.export import export_format, write_export
from ledger.indexer import Indexer
from scripts._output import fields
from scripts._state import APP_OPTIONS, state_of

audit_app = typer.Typer(
    help="Auditors' checks and queries over the chain and the event index; every answer can be "
    "exported (--export FILE.csv or FILE.json).",
    **APP_OPTIONS,
)

#: ``--export``: every audit command's answer to a file, CSV (its rows) or JSON (all of it).
ExportOption = Annotated[
    Path | None,
    typer.Option(
        "--export",
        dir_okay=False,
        help="Also write the answer to this file: .csv (its rows) or .json (the whole answer).",
    ),
]


def check_export(path: Path | None) -> None:
    """Refuse an export file of an unknown kind before any work is done."""
    if path is not None:
        export_format(path)


def maybe_export(
    ctx: typer.Context, path: Path | None, data: Any, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Write the answer to `path` if one was given, and say so on stderr."""
    if path is None:
        return
    rows = list(rows)
    write_export(path, data, rows)
    kind = f"{len(rows)} rows" if export_format(path) == "csv" else "the answer"
    state_of(ctx).out.note(f"exported {kind} to {path}")


@audit_app.command("reconcile")
def reconcile_command(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(help="Scheme code or id.")],
    block: Annotated[
        int | None,
        typer.Option("--block", min=0, help="At this block (default: as far as the index holds)."),
    ] = None,
    export: ExportOption = None,
) -> None:
    """A scheme's supply on chain (issued + minted - burned = total, part held) against what the
    index's movements add up to; exits 1 when they differ, with each difference."""
    check_export(export)
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
    data = reconciliation_data(r)
    maybe_export(ctx, export, data, [data])
    if not r.balanced:
        raise typer.Exit(1)
