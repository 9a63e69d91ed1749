"""Start, stop and inspect the local chain node (ganache or anvil) of a development network.

The node runs detached, in a session of its own, so it outlives the command that started it
(``vpl chain up`` returns, the node keeps running, ``vpl chain down`` stops it). Its chain lives
in the node directory (``settings.node_dir``; ``ledger.chain.node.files``): ganache keeps a
database there, anvil a state file that it loads on start, dumps every few seconds and dumps again
on SIGTERM. A pid file, ``node.json``, says which process is ours; one whose process is gone, or is
now some other program, is stale and is cleaned up. The node of a network that is not a
development one, or of an explicit ``VPL_RPC_URL``, is external: it can be inspected, never
started or stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ledger.chain.node.files import (
    LOCK_FILE,
    PID_FILE,
    PidRecord,
    check_anvil_state,
    log_tail,
    node_binary,
    node_command,
)
from ledger.chain.node.host import (
    KILL_WAIT_SECONDS,
    cmdline,
    host_port,
    pid_alive,
    port_taken,
    runs,
    terminate,
    wait_gone,
)
from ledger.chain.node.probe import (
    RpcUnavailable,
    describe_listener,
    json_rpc,
    probe,
    wait_for_rpc,
)
from ledger.config import NetworkConfig, NodeConfig, Settings
from ledger.errors import NodeAlreadyRunning, NodeError, NodeNotRunning

#: How long a node that is being stopped may take to answer "stop mining", and to finish a block.
STOP_MINING_TIMEOUT_SECONDS = 5.0
#: Reads of the newest block, QUIET_POLL_SECONDS apart, that must agree before anvil is stopped.
QUIET_POLLS = 3
QUIET_POLL_SECONDS = 0.05
ZERO = "0x" + "00" * 20
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeStatus:
    """What runs at a network's RPC URL, and whether it is the node this data directory started."""

    #: A node answers at ``rpc_url``, or the process we started is alive (it may still be starting).
    running: bool
    #: Started by this tooling, per the pid file in ``data_dir``.
    managed: bool
    #: ``ganache`` or ``anvil`` for our node; for another, its name from ``web3_clientVersion``.
    kind: str | None
    pid: int | None
    rpc_url: str
    chain_id: int | None
    block_number: int | None
    #: The node's own directory (``settings.node_dir``): pid file, chain state and log.
    data_dir: Path
    #: What was stale (a pid file left by a crash, or naming another program), if anything.
    stale: str | None = None
    #: Set by ``start()`` when it found our node already running and left it alone.
    already_running: bool = False


class _DetachedPopen(subprocess.Popen[bytes]):
    """A node process meant to outlive this one: dropping it is not a leak (no ResourceWarning)."""

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.poll()


class LocalNode:
    """The local ganache or anvil node of a development network, started and stopped on demand."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def settings(self) -> Settings:
        """The settings this node was built with."""
        return self._settings

    @property
    def data_dir(self) -> Path:
        """The node directory: pid file, chain state, log."""
        return self._settings.node_dir

    @property
    def pid_file(self) -> Path:
        """The pid file that marks the node process as ours."""
        return self.data_dir / PID_FILE

    # --- public --------------------------------------------------------------------------------

    def status(self) -> NodeStatus:
        """Inspect without changing anything (a stale pid file is reported, not removed)."""
        net = self._settings.network_config
        if self._external_reason(net) is not None:
            return self._observe(net.rpc_url, stale=None)
        record, stale = self._find_ours()
        if record is not None:
            return self._observe(record.rpc_url, record=record)
        return self._observe(net.rpc_url, stale=stale)

    def start(self) -> NodeStatus:
        """Start the node and wait until it answers; if ours already runs, return its status."""
        net, node = self._local_config()
        with self._locked():
            record, stale = self._find_ours()
            if record is not None:
                return self._already_running(record, net, node)
            if stale is not None:
                logger.warning("removing a stale pid file: %s", stale)
                self._let_exit_finish()
                self.pid_file.unlink(missing_ok=True)
            if port_taken(node.host, node.port):
                raise self._port_taken_error(net, node, stale)
            record = self._launch(net, node)
        logger.info("%s node started (pid %d) at %s", record.kind, record.pid, record.rpc_url)
        return self._observe(record.rpc_url, record=record, stale=stale)

    def stop(self, timeout: float = 20.0) -> NodeStatus:
        """SIGTERM our node (anvil dumps its state then), SIGKILL it after ``timeout`` seconds.
        anvil is told to stop mining first: a block it mined while shutting down, after its
        dump, was answered with receipts and then missing when it started again (7 of 1,958
        transactions over 15 restarts under load); now what arrives meanwhile waits in its pool,
        which is not kept, and senders send it again."""
        net, _ = self._local_config()
        with self._locked():
            record, stale = self._find_ours()
            if record is None:
                if stale is not None:
                    self.pid_file.unlink(missing_ok=True)
                    raise NodeNotRunning(
                        f"no node started from {self.data_dir} is running; removed a stale pid "
                        f"file: {stale}",
                        stale=stale,
                    )
                message = f"no node started from {self.data_dir} is running"
                if port_taken(*host_port(net.rpc_url)):
                    message += (
                        f"; {describe_listener(net.rpc_url)} answers at {net.rpc_url}, but this "
                        "tooling did not start it, so it is left alone"
                    )
                raise NodeNotRunning(message, rpc_url=net.rpc_url)
            if record.kind == "anvil":
                _stop_mining(record.rpc_url)
            killed = terminate(record.pid, timeout, self._child(record.pid))
            self.pid_file.unlink(missing_ok=True)
            self._process = None
        if killed:
            logger.warning(
                "%s node (pid %d) ignored SIGTERM for %g s and was killed; what it had not saved "
                "yet is lost",
                record.kind,
                record.pid,
                timeout,
            )
        else:
            logger.info("%s node (pid %d) stopped", record.kind, record.pid)
        return NodeStatus(
            running=False,
            managed=True,
            kind=record.kind,
            pid=record.pid,
            rpc_url=record.rpc_url,
            chain_id=record.chain_id,
            block_number=None,
            data_dir=self.data_dir,
        )

    # --- configuration -------------------------------------------------------------------------

    def _external_reason(self, net: NetworkConfig) -> str | None:
        """Why the network's node is not ours to start or stop, or None if it is."""
        if not net.development or net.node is None:
            return f"network {net.name!r} is not a development network"
        if self._settings.rpc_url is not None:
            return "VPL_RPC_URL is set, which attaches to a running node; unset it to run one here"
        return None

    def _local_config(self) -> tuple[NetworkConfig, NodeConfig]:
        """The network and node settings, or NodeError if the node is external."""
        net = self._settings.network_config
        reason = self._external_reason(net)
        if reason is not None or net.node is None:
            raise NodeError(
                f"the node at {net.rpc_url} is external ({reason}); start and stop it where it "
                "runs, and use `vpl chain status` to check it from here",
                network=net.name,
                rpc_url=net.rpc_url,
            )
        node = net.node
        url_port = urlsplit(net.rpc_url).port
        if url_port is not None and url_port != node.port:
            raise NodeError(
                f"network {net.name!r} has rpc_url {net.rpc_url} but its node listens on port "
                f"{node.port}; make them agree in the network file, or set VPL_NODE_PORT",
                network=net.name,
            )
        return net, node

    def _command(self, net: NetworkConfig, node: NodeConfig) -> list[str]:
        """The command line that runs the configured node on this data directory."""
        binary = node_binary(node.kind, self._settings.node_modules_dir)
        return node_command(net, node, binary, self.data_dir)

    # --- pid file and processes ----------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise start and stop between processes sharing this data directory."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / LOCK_FILE).open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _find_ours(self) -> tuple[PidRecord | None, str | None]:
        """Our live node's pid record; or None and, if the pid file is stale, what is wrong."""
        try:
            text = self.pid_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"pid file {self.pid_file} cannot be read ({exc})"
        try:
            record = PidRecord.parse(text)
        except (ValueError, KeyError, TypeError) as exc:
            return None, f"pid file {self.pid_file} is not valid ({exc.__class__.__name__}: {exc})"
        problem = _identify(record, self._child(record.pid))
        if problem is not None:
            return None, f"pid file {self.pid_file} names {problem}"
        return record, None

    def _let_exit_finish(self) -> None:
        """Wait for the node the stale pid file names to finish exiting, if it is still exiting.

        A killed node's threads outlive its main thread (which shows as a zombie at once) and its
        memory (an empty command line), and until the last one is gone it still holds its port."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            record = PidRecord.parse(self.pid_file.read_text(encoding="utf-8"))
            child = self._child(record.pid)
            if pid_alive(record.pid, child) and cmdline(record.pid) == []:
                wait_gone(record.pid, KILL_WAIT_SECONDS, child)

    def _child(self, pid: int) -> subprocess.Popen[bytes] | None:
        """The Popen of ``pid`` if this object started it (so it can be reaped)."""
        if self._process is not None and self._process.pid == pid:
            return self._process
        return None

    def _launch(self, net: NetworkConfig, node: NodeConfig) -> PidRecord:
        """Run the node detached, record it, and wait until it answers with our chain id."""
        if node.kind == "anvil":
            check_anvil_state(self.data_dir)
        command = self._command(net, node)
        log_path = self.data_dir / f"{node.kind}.log"
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        with log_path.open("ab") as log:
            log.write(f"\n# {started_at} vpl starts: {shlex.join(command)}\n".encode())
            log.flush()
            try:
                process = _DetachedPopen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,
                )
            except OSError as exc:
                raise NodeError(f"cannot run {command[0]}: {exc}", kind=node.kind) from None
        self._process = process
        record = PidRecord(
            pid=process.pid,
            kind=node.kind,
            port=node.port,
            rpc_url=net.rpc_url,
            chain_id=net.chain_id,
            started_at=started_at,
            command=tuple(command),
        )
        record.write(self.pid_file)
        try:
            chain_id = wait_for_rpc(
                net.rpc_url, node.startup_timeout_seconds, alive=lambda: process.poll() is None
            )
            if chain_id != net.chain_id:
                raise NodeError(
                    f"{net.rpc_url} answers with chain id {chain_id}, not {net.chain_id}"
                )
        except BaseException as exc:
            terminate(process.pid, KILL_WAIT_SECONDS, process)
            self.pid_file.unlink(missing_ok=True)
            self._process = None
            if not isinstance(exc, NodeError):
                raise
            raise NodeError(
                f"the {node.kind} node did not start: {exc}. Last lines of {log_path}:\n"
                f"{log_tail(log_path)}",
                kind=node.kind,
                log_file=str(log_path),
            ) from None
        return record

    def _already_running(
        self, record: PidRecord, net: NetworkConfig, node: NodeConfig
    ) -> NodeStatus:
        """The status of our node that is already up, if it is the node the config asks for."""
        if record.kind != node.kind:
            raise NodeError(
                f"the {record.kind} node (pid {record.pid}) started from {self.data_dir} is "
                f"running, but the configuration asks for {node.kind}; stop it first with "
                f"`vpl chain down`, or set VPL_NODE={record.kind} to keep using it",
                running_kind=record.kind,
                configured_kind=node.kind,
            )
        if record.port != node.port or record.rpc_url != net.rpc_url:
            raise NodeError(
                f"the {record.kind} node (pid {record.pid}) started from {self.data_dir} listens "
                f"at {record.rpc_url}, but the configuration asks for {net.rpc_url}; stop it first "
                f"with `vpl chain down`, or set VPL_NODE_PORT={record.port} to keep using it",
                running_url=record.rpc_url,
                configured_url=net.rpc_url,
            )
        chain_id = wait_for_rpc(
            record.rpc_url,
            node.startup_timeout_seconds,
            alive=lambda: _identify(record, self._child(record.pid)) is None,
        )
        if chain_id != net.chain_id:
            raise NodeError(
                f"the {record.kind} node (pid {record.pid}) at {record.rpc_url} runs chain id "
                f"{chain_id}, but network {net.name!r} expects {net.chain_id}; stop it first with "
                "`vpl chain down`",
                chain_id=chain_id,
            )
        logger.info(
            "%s node (pid %d) is already running at %s", record.kind, record.pid, record.rpc_url
        )
        return replace(self._observe(record.rpc_url, record=record), already_running=True)

    def _port_taken_error(
        self, net: NetworkConfig, node: NodeConfig, stale: str | None
    ) -> NodeAlreadyRunning:
        """The error for a port held by a process this data directory did not start."""
        what = describe_listener(net.rpc_url)
        message = (
            f"port {node.port} on {node.host} is already taken by {what}, which was not started "
            f"from {self.data_dir}. Stop that process, choose another port with VPL_NODE_PORT, "
            f"or use it as it is: set VPL_RPC_URL={net.rpc_url} and skip `vpl chain up`"
        )
        if stale is not None:
            message += f" (a stale pid file was removed: {stale})"
        return NodeAlreadyRunning(message, port=node.port, host=node.host, listener=what)

    def _observe(
        self, url: str, *, record: PidRecord | None = None, stale: str | None = None
    ) -> NodeStatus:
        """Ask ``url`` for its chain id and block number and combine it with what we know."""
        answer = probe(url)
        kind = record.kind if record is not None else (answer[2] if answer else None)
        return NodeStatus(
            running=answer is not None or record is not None,
            managed=record is not None,
            kind=kind,
            pid=record.pid if record is not None else None,
            rpc_url=url,
            chain_id=answer[0] if answer else None,
            block_number=answer[1] if answer else None,
            data_dir=self.data_dir,
            stale=stale,
        )


def _identify(record: PidRecord, child: subprocess.Popen[bytes] | None) -> str | None:
    """None if the recorded process is alive and is our node; otherwise what it is instead."""
    if not pid_alive(record.pid, child):
        return f"process {record.pid}, which is no longer running (the {record.kind} node exited)"
    running = cmdline(record.pid)
    if running == []:  # its memory is already gone: it is exiting
        return f"process {record.pid}, which is no longer running (the {record.kind} node exited)"
    if running is not None and not runs(running, record.command):
        return f"process {record.pid}, which is now another program ({shlex.join(running)[:120]})"
    return None


def _stop_mining(rpc_url: str) -> None:
    """Ask anvil to mine no more blocks (automatic and interval mining off), then wait until a
    block it is still mining is stored. A node that does not answer is stopped all the same."""
    for method, params in (("evm_setAutomine", [False]), ("evm_setIntervalMining", [0])):
        try:
            json_rpc(rpc_url, method, params, STOP_MINING_TIMEOUT_SECONDS)
        except RpcUnavailable as exc:
            logger.warning("could not stop anvil mining before it stops (%s): %s", method, exc)
            return
    _wait_until_mined(rpc_url)


def _wait_until_mined(rpc_url: str) -> None:
    """Until the newest block number stays the same over QUIET_POLLS reads of the state, each
    taken after a block under way has written its accounts (anvil holds its state's lock while
    it executes a block, and stores the block just after). anvil dumps its state as accounts
    after blocks: a block under way then went into the accounts but not the blocks, and after a
    restart the chain's state held transactions, counts and balances its blocks and events did
    not (the fault run's index found holds the chain's counts lacked). Gives up after
    STOP_MINING_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + STOP_MINING_TIMEOUT_SECONDS
    last, same = None, 0
    while same < QUIET_POLLS and time.monotonic() < deadline:
        try:
            head = json_rpc(rpc_url, "eth_blockNumber", [], STOP_MINING_TIMEOUT_SECONDS)
            json_rpc(rpc_url, "eth_getBalance", [ZERO, "latest"], STOP_MINING_TIMEOUT_SECONDS)
        except RpcUnavailable as exc:
            logger.warning("could not see anvil's newest block before it stops: %s", exc)
            return
        same = same + 1 if head == last else 0
        last = head
        time.sleep(QUIET_POLL_SECONDS)
