"""Backups of the off-chain store: every row of every table, read in one transaction (a consistent
copy while the service runs), written as gzip-compressed JSON lines with the schema revision and a
checksum; restored into an empty store of either backend (SQLite or PostgreSQL).

The file holds what the store holds, so the vault stays sealed in it: personal data as AES-GCM
ciphertext under ``VPL_VAULT_KEY``, which is not in the file. Keep the keys apart from the
backups (a backup and the keys together are the personal data); a restore needs the same keys to
open the vault and to register anyone again.

The event index is left out unless asked for (``with_index``): it is rebuilt from the chain alone
by ``vpl index sync`` after a restore. Everything else in the store exists nowhere else (the
vault, records' details, sessions, idempotency answers, uploads), and the chain's store anchors
let ``vpl audit verify-store`` show that a restored store is the one that was anchored.

Format: line 1 a header (``format``, ``version``, ``revision``, ``created_at``, ``tables`` with
their row counts); then a line per row, ``{"t": table, "r": {column: value}}`` (bytes as base64,
times as ISO 8601); last a trailer with the SHA-256 of every line before it."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import DateTime, Integer, LargeBinary, TypeEngine
from sqlmodel import SQLModel

import ledger.store.schema  # noqa: F401  (every table on SQLModel.metadata)
from ledger.errors import InputError, StatusConflict
from ledger.store import migrate

FORMAT = "vpl-store-backup"
VERSION = 1
#: Rows inserted per statement on restore.
CHUNK = 500


@dataclass(frozen=True)
class BackupSummary:
    path: str
    revision: str
    tables: dict[str, int]
    rows: int
    bytes: int
    with_index: bool
    #: Of the lines written (a backup's; None for a restore, whose file was checked against it).
    sha256: str | None = None


def _summary(
    path: Path, revision: str, counts: dict[str, int], with_index: bool, sha256: str | None = None
) -> BackupSummary:
    return BackupSummary(
        path=str(path),
        revision=revision,
        tables=counts,
        rows=sum(counts.values()),
        bytes=path.stat().st_size,
        with_index=with_index,
        sha256=sha256,
    )


def _tables(with_index: bool) -> list[Table]:
    """The tables a backup holds, parents before children."""
    return [
        t
        for t in SQLModel.metadata.sorted_tables
        if with_index or not (t.name.startswith("index_") or t.name == "alembic_version")
    ]


def _plain(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        value = row[column.name]
        if value is not None and isinstance(column.type, LargeBinary):
            value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[column.name] = value
    return out


def _typed(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        column = table.columns.get(name)
        if column is None:
            raise InputError(f"the backup names a column {table.name}.{name} this store lacks")
        if value is not None and isinstance(column.type, LargeBinary):
            value = base64.b64decode(value)
        elif value is not None and _is_time(column.type):
            value = datetime.fromisoformat(value)
        out[name] = value
    return out


def _is_time(kind: TypeEngine[Any]) -> bool:
    """A DateTime column, or a decorated one (UtcDateTime)."""
    return isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime)


def backup(engine: Engine, path: Path, *, with_index: bool = False) -> BackupSummary:
    """Write the store to `path` (gzip JSON lines), from one consistent read."""
    revision = migrate.current(engine)
    if revision is None:
        raise StatusConflict("the store is empty: there is nothing to back up", status="empty")
    tables = _tables(with_index)
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    partial = path.with_name(path.name + ".partial")
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        counts = {
            t.name: int(connection.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in tables
        }
        header = {
            "format": FORMAT,
            "version": VERSION,
            "revision": revision,
            "created_at": datetime.now().astimezone().isoformat(),
            "with_index": with_index,
            "tables": counts,
        }
        with gzip.open(partial, "wt", encoding="utf-8") as out:
            _line(out, header, digest)
            for table in tables:
                order = list(table.primary_key.columns)
                for row in connection.execute(select(table).order_by(*order)).mappings():
                    _line(out, {"t": table.name, "r": _plain(table, dict(row))}, digest)
            out.write(json.dumps({"sha256": digest.hexdigest()}) + "\n")
    partial.replace(path)
    return _summary(path, revision, counts, with_index, digest.hexdigest())


def _line(out: IO[str], data: dict[str, Any], digest: Any) -> None:
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    digest.update(line.encode("utf-8"))
    out.write(line)


def _read(path: Path) -> Iterator[dict[str, Any]]:
    """The backup's lines, the checksum checked at the end (raises before the last is given)."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            previous: str | None = None
            for line in lines:
                if previous is not None:
                    digest.update(previous.encode("utf-8"))
                    yield json.loads(previous)
                previous = line
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path} is not a readable store backup: {exc}") from None
    trailer = json.loads(previous) if previous else {}
    if trailer.get("sha256") != digest.hexdigest():
        raise InputError(f"{path} is damaged or cut short: its checksum does not match")


def restore(engine: Engine, path: Path) -> BackupSummary:
    """Restore the backup at `path` into `engine`'s store, which must be empty; then upgrade it to
    the code's revision. Nothing is kept of a restore that fails (one transaction)."""
    if not path.is_file():
        raise InputError(f"no backup at {path}")
    lines = _read(path)
    header = next(lines, None)
    if not header or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise InputError(f"{path} is not a store backup of this format ({FORMAT} {VERSION})")
    revision = str(header["revision"])
    known = [r.id for r in migrate.history()]
    if revision not in known:
        raise InputError(
            f"the backup is of store revision {revision}, which this code does not know: "
            "restore it with the release that made it"
        )
    _refuse_unless_empty(engine)
    at = migrate.current(engine)
    if at is not None and at != revision:
        raise StatusConflict(
            f"the empty store is at revision {at} and the backup at {revision}: restore into a "
            "database without tables (or one at the backup's revision)",
            status="revision",
        )
    migrate.upgrade(engine, revision)
    tables = {t.name: t for t in _tables(bool(header.get("with_index")))}
    counts: dict[str, int] = dict.fromkeys(tables, 0)
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        current: str | None = None
        for line in lines:
            name = line.get("t")
            if name not in tables:
                raise InputError(f"the backup holds rows of an unknown table {name!r}")
            if name != current and batch:
                _insert(connection, tables[str(current)], batch)
                batch = []
            current = str(name)
            batch.append(_typed(tables[current], line["r"]))
            counts[current] += 1
            if len(batch) >= CHUNK:
                _insert(connection, tables[current], batch)
                batch = []
        if batch and current is not None:
            _insert(connection, tables[current], batch)
        expected = {k: int(v) for k, v in header["tables"].items()}
        if counts != expected:
            raise InputError(f"the backup's rows do not match its header: {counts} != {expected}")
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, list(tables.values()))
    migrate.upgrade(engine)
    return _summary(path, revision, counts, bool(header.get("with_index")))


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    connection.execute(insert(table), rows)


def _refuse_unless_empty(engine: Engine) -> None:
    if migrate.current(engine) is None:
        return
    with engine.connect() as connection:
        for table in _tables(with_index=True):
            if table.name == "alembic_version":
                continue
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise StatusConflict(
                    f"the store is not empty (table {table.name} has rows): restore into an "
                    "empty database, then point the service at it",
                    status="not_empty",
                )


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """PostgreSQL: each serial primary key's sequence past the ids restored."""
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                sequence = connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if sequence:
                    connection.execute(
                        text(
                            f"SELECT setval('{sequence}', "
                            f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                        )
                    )
