"""Export of auditors' answers: CSV (one line per row, for spreadsheets) and JSON (the whole answer).

Every auditor query has a natural list of rows (movements, findings, statement lines, ...) and a
whole answer around it (the block it holds, totals). CSV carries the rows: nested objects become
dotted column names (``approved.tx_hash``), lists are joined with ``;``, times are ISO 8601 and
integers stay exact. JSON carries the whole answer. A cell that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with ``'``
unless it is a number, so an export opened in a spreadsheet never executes what a member typed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from ledger.errors import InputError

#: The export formats, by file suffix.
FORMATS = ("csv", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (bytes as 0x hex, enums by name, times as ISO 8601,
    dataclasses and models by their fields)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Enum):
        return value.name.lower() if value.name else value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if hasattr(value, "__dataclass_fields__"):
        return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return str(value)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One CSV row: nested mappings as dotted names, lists joined with ``;``."""
    out: dict[str, Any] = {}
    for key, value in plain(row).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ";".join(
                json.dumps(v, ensure_ascii=False, sort_keys=True)
                if isinstance(v, dict | list)
                else ""
                if v is None
                else str(v)
                for v in value
            )
        else:
            out[name] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, int | float):
        return text
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The rows as CSV with a header line. `columns` fixes the columns and their order (a missing
    value is empty); by default the columns are those of the rows, in the order first seen."""
    flat = [flatten(r) for r in rows]
    if columns is None:
        seen: dict[str, None] = {}
        for r in flat:
            seen.update(dict.fromkeys(r))
        columns = list(seen)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for r in flat:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return out.getvalue()


def export_format(path: Path) -> str:
    """The format a file name asks for (its suffix); InputError for any other."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(
            f"export to a .csv or a .json file, not {path.name!r}",
            path=str(path),
        )
    return suffix


def write_export(path: Path, data: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write an answer to `path`: its rows as CSV for ``.csv``, the whole answer as JSON for
    ``.json``. The file appears whole or not at all (written aside, then renamed)."""
    fmt = export_format(path)
    text = (
        csv_text(rows)
        if fmt == "csv"
        else json.dumps(plain(data), ensure_ascii=False, indent=2) + "\n"
    )
    target = path.expanduser()
    if not target.parent.is_dir():
        raise InputError(f"no folder {str(target.parent)!r} to export into", path=str(path))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # utf-8-sig: spreadsheets open Chinese text in a CSV correctly only with the BOM.
        with os.fdopen(fd, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
