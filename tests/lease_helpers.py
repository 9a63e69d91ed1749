"""Other processes holding leases (``ledger.store.lease``), and the database server cutting the
connections that hold them."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.store import make_engine

HOLD = """
import sys, time
from ledger.store import make_engine
from ledger.store.lease import Lease
lease = Lease(make_engine(sys.argv[1]), sys.argv[2])
print("held" if lease.acquire() else "refused", flush=True)
time.sleep(120)
"""


def holder(url: str, name: str = "index-follower") -> tuple[subprocess.Popen[str], str]:
    """Another process asking for the lease `name`: it, and what it answered."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, url, name], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def cut_leases(server_url: str, engine: Engine) -> int:
    """PostgreSQL: terminate every connection holding an advisory lock in `engine`'s database,
    as a server restart would; how many there were."""
    admin = make_engine(server_url)
    with admin.begin() as connection:
        cut = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = :name"
            ),
            {"name": engine.url.database},
        ).scalar()
    admin.dispose()
    return int(cut or 0)
