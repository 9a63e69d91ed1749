"""``--export FILE``: a query's answer written to a file, CSV (its rows) or JSON (the whole
answer), for the auditors' commands and every other command that lists what auditors read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.audit.export import export_format, write_export
from scripts.state import state_of

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
