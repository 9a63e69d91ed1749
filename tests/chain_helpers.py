"""Chains of a test's own and the waiting their processes need: isolated settings, the
session's compiled contracts shared with every chain (compiled once per machine), a node started
and stopped, a deployment on it; polling another process, and the block anvil last saved."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ledger.chain import compiler
from ledger.chain.node import LocalNode
from ledger.chain.node.host import _threads_running, free_port
from ledger.config import Settings
from ledger.errors import NodeNotRunning
from ledger.ledger import Ledger
from tests.probes import PROBE_SOURCES

#: The build cache of the session's first chain; every later chain starts with a copy of it, so
#: the contracts are compiled once per session (the cache is keyed by a hash of the sources).
_BUILD_CACHE: list[Path] = []
#: Where a session leaves its compiled contracts for the next session on this machine.
SESSIONS_BUILD_CACHE = Path(__file__).resolve().parents[1] / ".vpl" / "test-build-cache"

#: Where test transfers go.
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
#: A development account no operator uses: it pays for the fresh test accounts.
FUNDER_INDEX = 17


def make_settings(root: Path, kind: str) -> Settings:
    """Settings for an isolated chain, store and manifest under `root`."""
    return Settings(
        data_dir=root / "data",
        deployments_dir=root / "deployments",
        node=kind,  # type: ignore[arg-type]
        node_port=free_port(),
        vault_key=None,
        commitment_key=None,
    )


def share_build(settings: Settings) -> None:
    """Give `settings` a copy of the session's compiled contracts, if anything was compiled yet
    (else of an earlier session's on this machine: the builds are keyed by a hash of their
    inputs, so a stale one is never used)."""
    if _BUILD_CACHE:
        shutil.copytree(_BUILD_CACHE[0], settings.build_dir, dirs_exist_ok=True)
    elif SESSIONS_BUILD_CACHE.is_dir():
        shutil.copytree(SESSIONS_BUILD_CACHE, settings.build_dir, dirs_exist_ok=True)


def _keep_build(build_dir: Path) -> None:
    """Keep the session's compiled contracts for the next session on this machine."""
    _BUILD_CACHE.append(build_dir)
    shutil.copytree(build_dir, SESSIONS_BUILD_CACHE, dirs_exist_ok=True)


def compile_once(settings: Settings) -> None:
    """Compile the contracts into `settings`' build directory, once for every test process on
    this machine: parallel workers (pytest-xdist) wait for the first one and copy its build."""
    SESSIONS_BUILD_CACHE.parent.mkdir(parents=True, exist_ok=True)
    with (SESSIONS_BUILD_CACHE.parent / "test-build-cache.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        share_build(settings)
        compiler.build(settings)
        compiler.build(settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
        if not _BUILD_CACHE:
            _keep_build(settings.build_dir)


@contextlib.contextmanager
def own_node(settings: Settings) -> Iterator[LocalNode]:
    """A chain node of its own for `settings`, started; stopped at the end (unless a test already
    stopped it)."""
    node = LocalNode(settings)
    node.start()
    try:
        yield node
    finally:
        with contextlib.suppress(NodeNotRunning):
            node.stop()


@contextlib.contextmanager
def own_deployment(settings: Settings) -> Iterator[tuple[Ledger, LocalNode]]:
    """A chain node of its own for `settings` with the contracts deployed on it (compiled already:
    `settings` holds a build, see `share_build`), and a Ledger on it; both closed at the end."""
    with own_node(settings) as node:
        ledger = Ledger(settings)
        try:
            ledger.deploy()
            yield ledger, node
        finally:
            ledger.close()


# --- waiting on another process ------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds (it depends on another process), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def exited(pid: int) -> bool:
    """Whether ``pid`` has finished exiting (gone, or a zombie waiting to be reaped): every thread,
    not only the main one, which is a zombie while the others still exit."""
    return not Path(f"/proc/{pid}").exists() or not _threads_running(pid)


def anvil_saved_block(path: Path) -> int:
    """The block number in anvil's state file, or -1 before it is (completely) written."""
    try:
        return int(json.loads(path.read_text())["best_block_number"])
    except (OSError, ValueError, KeyError):
        return -1
