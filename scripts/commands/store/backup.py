"""``vpl backup FILE`` and ``vpl restore FILE``: the off-chain store copied out and back
(``ledger.store.backup``; the vault stays sealed, the keys are not in the file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.store import make_engine
from ledger.store.backup import BackupSummary, backup, restore
from scripts.output import fields
from scripts.state import state_of


def _lines(s: BackupSummary) -> list[tuple[str, object]]:
    return [
        ("file", s.path),
        ("store revision", s.revision),
        ("rows", f"{s.rows:,} in {sum(1 for n in s.tables.values() if n)} tables"),
        ("event index", "included" if s.with_index else "left out (rebuilt by `vpl index sync`)"),
        ("size", f"{s.bytes:,} bytes"),
    ]


def backup_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The backup file to write (gzip JSON lines).")],
    with_index: Annotated[
        bool, typer.Option("--with-index", help="Also copy the event index (else rebuilt).")
    ] = False,
) -> None:
    """Back up the off-chain store to FILE, consistently, while the service runs. The vault stays
    encrypted; keep VPL_VAULT_KEY and VPL_COMMITMENT_KEY apart from the backups."""
    state = state_of(ctx)
    engine = make_engine(state.settings.resolved_database_url)
    summary = backup(engine, file, with_index=with_index)
    state.out.result(
        summary.__dict__, fields("backup", [*_lines(summary), ("sha256", summary.sha256)])
    )


def restore_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup written by `vpl backup`.")],
) -> None:
    """Restore FILE into the configured store, which must be empty, and bring it to the code's
    revision. Then `vpl index sync` rebuilds the index and `vpl audit verify-store` checks it
    against the chain's anchors."""
    state = state_of(ctx)
    engine = make_engine(state.settings.resolved_database_url)
    summary = restore(engine, file)
    state.out.result(summary.__dict__, fields("restore", _lines(summary)))
