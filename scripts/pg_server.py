"""A throwaway PostgreSQL server of its own, for the test suite and the fault run: ``initdb`` in a
temporary directory, a free port, a socket in that directory; restarted or killed on demand;
stopped and deleted at the end. As root it runs as the ``postgres`` user (initdb refuses root).

    with postgres_server() as server:
        url = server.url  # postgresql+psycopg://vpl@127.0.0.1:<port>/vpl
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ledger.chain.node.host import free_port, pid_alive


def pg_bin() -> Path:
    """The directory of PostgreSQL's programs (the newest of /usr/lib/postgresql/*, or PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise FileNotFoundError(
            "PostgreSQL is not installed (Debian package postgresql): scripts/dev.sh installs it"
        )
    return Path(initdb).parent


class PostgresServer:
    """One server in a directory of its own: started, restarted, killed, stopped."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="vpl-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its ``vpl`` database."""
        return f"postgresql+psycopg://vpl@127.0.0.1:{self.port}/vpl"

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        done = subprocess.run(
            [*self.as_user, str(self.bin / program), *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.returncode

    def _pg_ctl(self, *args: str, check: bool = True) -> int:
        return self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    def start(self, *, create: bool = False) -> None:
        """Start it and wait until it accepts connections (after crash recovery, if it crashed);
        `create`: a new cluster and its ``vpl`` database first."""
        if create:
            self._run("initdb", "-D", str(self.data), "-U", "vpl", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-w", "-l", str(self.root / "log"), "start")
        if create:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "vpl", "vpl")

    def stop(self, mode: str = "fast") -> None:
        """Stop it: ``fast`` (sessions rolled back), or ``immediate`` (as a crash: no shutdown
        checkpoint, every connection cut; the next start recovers from the write-ahead log)."""
        self._pg_ctl("-m", mode, "-w", "stop", check=False)

    def postmaster(self) -> int | None:
        """The postmaster's pid (None: not running)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def kill(self) -> None:
        """kill -9 of the postmaster; its backends notice and exit (the next start waits for
        them: a segment of shared memory still in use refuses a new postmaster)."""
        pid = self.postmaster()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)

    def start_after_kill(self, timeout: float = 60.0) -> None:
        """Start it again after `kill`, as soon as the old backends let it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def remove(self) -> None:
        """Stop it (as a crash: nothing is kept) and delete its directory."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A server started with its ``vpl`` database; stopped and deleted at the end."""
    server = PostgresServer()
    try:
        server.start(create=True)
        yield server
    finally:
        server.remove()
