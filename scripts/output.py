"""How the CLI shows things: rich tables for people, one JSON document for machines, and the one
translation of a ``LedgerError`` into a message and an exit code."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich.console import Console, RenderableType
from rich.logging import RichHandler
from rich.table import Table
from rich.text import Text

from ledger.audit.export import plain
from ledger.errors import (
    AccessDenied,
    CertificateInvalid,
    ConfigError,
    ContractRevert,
    DeploymentError,
    InputError,
    LedgerError,
    NodeError,
    RetryableChainError,
)

#: Exit codes, most specific first (UnknownName is an InputError, so it exits 2 too).
EXIT_CODES: tuple[tuple[tuple[type[LedgerError], ...], int], ...] = (
    ((InputError, ConfigError), 2),
    ((ContractRevert, AccessDenied), 3),
    ((NodeError, RetryableChainError), 4),
    ((DeploymentError,), 5),
    ((CertificateInvalid,), 6),
)
#: Details left out of an error report: raw node answers say nothing more to a person.
_HIDDEN_DETAILS = frozenset({"rpc_error"})


def exit_code(exc: LedgerError) -> int:
    """2 bad input, 3 refused by a contract, 4 node unavailable, 5 deployment, 6 a certificate
    that is not valid, 1 anything else."""
    for classes, code in EXIT_CODES:
        if isinstance(exc, classes):
            return code
    return 1


def cell(value: Any) -> Text:
    """A table cell that shows ``value`` literally (no rich markup is read from data)."""
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value) or "-")
    return Text(str(value))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table whose cells are shown literally."""
    out = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        out.add_column(column, overflow="fold")  # a narrow terminal wraps values, never cuts them
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def fields(title: str | None, pairs: Iterable[tuple[str, Any]]) -> Table:
    """Label/value lines for one object."""
    out = Table.grid(padding=(0, 2))
    out.title = title
    out.title_justify = "left"
    out.add_column(style="bold")
    out.add_column(overflow="fold")
    for label, value in pairs:
        out.add_row(Text(label), cell(value))
    return out


def line(text: str, style: str | None = None) -> Text:
    """A line of text shown literally."""
    return Text(text, style=style or "")


class Output:
    """Where results go: stdout (a table, or JSON), and notes and progress on stderr."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)

    def result(self, data: Any, *renderables: RenderableType) -> None:
        """Show a result: ``data`` as JSON with --json, else the renderables."""
        if self.json_mode:
            typer.echo(json.dumps(plain(data), ensure_ascii=False, indent=2))
            return
        for item in renderables:
            # soft_wrap: a long line (a command to copy) is never broken in the middle.
            self.console.print(item, soft_wrap=isinstance(item, Text))

    def note(self, text: str) -> None:
        """Progress or a remark, on stderr so that stdout stays one document."""
        self.err.print(Text(text), soft_wrap=True)

    def error(self, exc: LedgerError) -> None:
        """Report an expected error: a message, never a traceback."""
        details = {k: v for k, v in exc.details.items() if k not in _HIDDEN_DETAILS}
        if self.json_mode:
            payload = {"error": {"code": exc.code, "message": exc.message, "details": details}}
            typer.echo(json.dumps(plain(payload), ensure_ascii=False, indent=2))
        else:
            typer.echo(f"error: {exc.message}", err=True)


_LOG_HANDLER_NAME = "vpl-cli"


def configure_logging(verbose: bool) -> None:
    """Log to stderr: warnings by default, everything the ledger reports with --verbose."""
    root = logging.getLogger()
    if not any(h.get_name() == _LOG_HANDLER_NAME for h in root.handlers):
        # The console looks up sys.stderr when it writes, so a swapped stream (tests) is followed.
        handler: logging.Handler = RichHandler(
            console=Console(stderr=True), show_time=False, show_path=False, markup=False
        )
        handler.set_name(_LOG_HANDLER_NAME)
        root.addHandler(handler)
    for handler in root.handlers:
        if handler.get_name() == _LOG_HANDLER_NAME:
            handler.setLevel(logging.INFO if verbose else logging.WARNING)
    if verbose and root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
