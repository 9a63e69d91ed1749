"""The raw bytes of an SQLite store's files, for tests that search them for what must not be
written in plain text.

They are read by another process. A process that opens one of the files itself and closes it
again drops every POSIX lock it holds on that file, SQLite's among them: another process that
then closes its connection finds itself the last one, checkpoints and deletes the write-ahead
log, and what this process writes next goes into a deleted file, lost (the suite found its shared
store malformed this way)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def store_paths(database: Path) -> list[Path]:
    """The store's files that exist: the database, its write-ahead log and its shared memory."""
    parts = (database, Path(f"{database}-wal"), Path(f"{database}-shm"))
    return [p for p in parts if p.exists()]


def read_store_files(database: Path) -> bytes:
    """The bytes of every file of the store at `database`, read by a child process."""
    paths = store_paths(database)
    assert paths, f"no store at {database}"
    return subprocess.run(["cat", *map(str, paths)], check=True, capture_output=True).stdout
