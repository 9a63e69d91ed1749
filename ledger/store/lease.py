"""A named hold on a store that one process at a time has, given up when the process dies: which
of several API processes follows the chain into the event index, which may relay with a key.

PostgreSQL: a session advisory lock on a connection kept for the purpose (the server releases it
when that connection ends: the process died, or the server restarted). SQLite: ``flock`` on a file
beside the database (the kernel releases it when the process ends). An in-memory store belongs to
one process: the lease is always its own.

A lease made ``shared`` is one per process: every holder in the process has it at once (several
apps in one process, as tests make, relay with one key through one process's locks), and it is
given up when the last of them releases it.

A holder asks ``held()`` before each piece of work: on PostgreSQL that asks the server over the
kept connection, so a lease lost with the connection is noticed at the next step, and taken again
with ``acquire()`` when free."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from contextlib import suppress
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ledger.errors import ConfigError


def lease_key(name: str) -> int:
    """A 63-bit advisory lock key for `name` (stable across processes and releases)."""
    return int.from_bytes(hashlib.sha256(f"vpl lease {name}".encode()).digest()[:8], "big") >> 1


#: Shared leases held in this process: (database, name) -> (the lease holding it, its holders).
_SHARED: dict[tuple[str, str], tuple[Lease, int]] = {}
_SHARED_LOCK = threading.Lock()


def shared_lease(engine: Engine, name: str) -> Lease | None:
    """The process's lease `name` on `engine`'s store, taken for one more holder; None if another
    process holds it. Give it back with ``release_shared``."""
    key = (engine.url.render_as_string(hide_password=True), name)
    with _SHARED_LOCK:
        held = _SHARED.get(key)
        if held is not None:
            _SHARED[key] = (held[0], held[1] + 1)
            return held[0]
        lease = Lease(engine, name)
        if not lease.acquire():
            return None
        _SHARED[key] = (lease, 1)
        return lease


def release_shared(lease: Lease) -> None:
    key = (lease.engine.url.render_as_string(hide_password=True), lease.name)
    with _SHARED_LOCK:
        held = _SHARED.get(key)
        if held is None or held[0] is not lease:
            return
        if held[1] > 1:
            _SHARED[key] = (lease, held[1] - 1)
            return
        del _SHARED[key]
    lease.release()


class Lease:
    """The hold called `name` on `engine`'s store."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._connection: Connection | None = None
        self._fd: int | None = None
        self._own = False
        self._lock = threading.Lock()
        backend = engine.url.get_backend_name()
        self._kind = "postgresql" if backend == "postgresql" else backend
        database = engine.url.database or ""
        self._memory = self._kind == "sqlite" and (
            database in ("", ":memory:") or database.startswith("file::memory:")
        )
        if self._kind not in ("postgresql", "sqlite"):
            raise ConfigError(f"leases need PostgreSQL or SQLite, not {backend}")

    @property
    def path(self) -> Path:
        """SQLite: the file whose flock is the lease."""
        return Path(f"{self.engine.url.database}.{self.name}.lock")

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this process holds it now."""
        with self._lock:
            if self._own:
                return True
            if self._memory:
                self._own = True
            elif self._kind == "postgresql":
                self._own = self._acquire_postgres()
            else:
                self._own = self._acquire_file()
            return self._own

    def held(self) -> bool:
        """This process still holds the lease (PostgreSQL: the server confirms it)."""
        with self._lock:
            if not self._own or self._connection is None:
                return self._own
            try:
                self._connection.execute(text("SELECT 1"))
            except Exception:  # the connection is gone, and the lock with it
                self._drop_connection()
                self._own = False
            return self._own

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                with suppress(Exception):  # gone already: the server has released it
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": lease_key(self.name)}
                    )
                self._drop_connection()
            if self._fd is not None:
                os.close(self._fd)  # closing the file gives up its flock
                self._fd = None
            self._own = False

    def _acquire_postgres(self) -> bool:
        # Autocommit: the kept connection never sits idle in a transaction.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lease_key(self.name)}
            ).scalar()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _acquire_file(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with suppress(Exception):  # closing a dead connection
                self._connection.close()
            self._connection = None
