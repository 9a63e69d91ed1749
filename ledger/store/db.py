"""Database engine and sessions; nothing is created at import time, callers build their own engine.

SQLite (the development default, ``Settings.resolved_database_url``) gets its directory created,
write-ahead logging and enforced foreign keys; any other SQLAlchemy URL (e.g. ``postgresql://``)
is passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from ledger.errors import ConfigError


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times (ledger.store.utcnow)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns without a zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: How long a SQLite write waits for another's lock before it fails ("database is locked"). One
#: process writes at a time; Python's default, 5 s, ran out under 50 clients at once (the soak).
SQLITE_BUSY_SECONDS = 30.0


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; for SQLite: parent directory created, WAL and foreign keys enabled."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError, with the URL (maybe a password)
        raise ConfigError(f"the database URL is not valid: {type(exc).__name__}") from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)

    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    connect = {"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
    kwargs: dict[str, Any] = {"connect_args": connect, "echo": echo}
    if in_memory:
        # One shared connection, or every checkout would see a new empty database.
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Per SQLite connection: write-ahead log (readers do not block the writer), foreign keys on."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A session committed when the block ends cleanly and rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
