"""Start, stop and inspect the local chain node (ganache or anvil) of a development network.

The node runs detached, in a session of its own, so it outlives the command that started it
(``vpl chain up`` returns, the node keeps running, ``vpl chain down`` stops it). Its chain lives
in the node directory (``settings.node_dir``): ganache keeps a database there, anvil a state file
that it loads on start, dumps every few seconds and dumps again on SIGTERM. A pid file,
``node.json``, says which process is ours; one whose process is gone, or is now some other
program, is stale and is cleaned up. The node of a network that is not a development one, or of
an explicit ``VPL_RPC_URL``, is external: it can be inspected, never started or stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import logging
import os
import platform
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ledger.config import NetworkConfig, NodeConfig, Settings
from ledger.errors import NodeAlreadyRunning, NodeError, NodeNotRunning

__all__ = ["LocalNode", "NodeStatus", "free_port", "wait_for_rpc"]

logger = logging.getLogger(__name__)

PID_FILE = "node.json"
LOCK_FILE = "node.lock"
GANACHE_DB = "ganache-db"
ANVIL_STATE = "anvil-state.json"
#: A copy of anvil's state as it was when the node last started cleanly.
ANVIL_STATE_BACKUP = "anvil-state.last-start.json"
#: Where anvil persists past states it moves out of memory (read by eth_call at old blocks).
ANVIL_CACHE = "anvil-cache"
#: How often anvil dumps its state file: a crash (SIGKILL, power loss) loses at most this much.
ANVIL_STATE_INTERVAL_SECONDS = 2
_POLL_SECONDS = 0.05
_PROBE_TIMEOUT_SECONDS = 1.0
_KILL_WAIT_SECONDS = 5.0
_LOG_TAIL_LINES = 25


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


@dataclass(frozen=True)
class _PidRecord:
    """The contents of ``node.json``: which process is the node we started, and how."""

    pid: int
    kind: str
    port: int
    rpc_url: str
    chain_id: int
    started_at: str
    command: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> _PidRecord:
        """Read a pid file; ValueError, KeyError or TypeError if it is not one."""
        raw = json.loads(text)
        return cls(
            pid=int(raw["pid"]),
            kind=str(raw["kind"]),
            port=int(raw["port"]),
            rpc_url=str(raw["rpc_url"]),
            chain_id=int(raw["chain_id"]),
            started_at=str(raw["started_at"]),
            command=tuple(str(part) for part in raw["command"]),
        )

    def dumps(self) -> str:
        """The pid file's JSON text."""
        return json.dumps({**asdict(self), "command": list(self.command)}, indent=2) + "\n"


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
            if _port_taken(node.host, node.port):
                raise self._port_taken_error(net, node, stale)
            record = self._launch(net, node)
        logger.info("%s node started (pid %d) at %s", record.kind, record.pid, record.rpc_url)
        return self._observe(record.rpc_url, record=record, stale=stale)

    def stop(self, timeout: float = 20.0) -> NodeStatus:
        """SIGTERM our node (anvil dumps its state then), SIGKILL it after ``timeout`` seconds."""
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
                if _port_taken(*_host_port(net.rpc_url)):
                    message += (
                        f"; {_describe_listener(net.rpc_url)} answers at {net.rpc_url}, but this "
                        "tooling did not start it, so it is left alone"
                    )
                raise NodeNotRunning(message, rpc_url=net.rpc_url)
            killed = _terminate(record.pid, timeout, self._child(record.pid))
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
        binary = str(self._binary(node.kind))
        if node.kind == "ganache":
            options: dict[str, object] = {
                "--server.host": node.host,
                "--server.port": node.port,
                "--chain.chainId": net.chain_id,
                "--chain.networkId": net.chain_id,
                "--chain.hardfork": node.evm_version,
                "--wallet.totalAccounts": node.accounts,
                "--wallet.defaultBalance": node.balance_ether,
                "--miner.blockGasLimit": node.gas_limit,
                "--miner.blockTime": node.block_time,
                "--database.dbPath": self.data_dir / GANACHE_DB,
                "--wallet.mnemonic": net.mnemonic,
            }
            return [binary, *_flags(options), "--logging.quiet"]
        options = {
            "--host": node.host,
            "--port": node.port,
            "--chain-id": net.chain_id,
            "--hardfork": node.evm_version,
            "--accounts": node.accounts,
            "--balance": node.balance_ether,
            "--gas-limit": node.gas_limit,
            "--base-fee": 0,
            "--gas-price": 0,
            "--block-time": node.block_time or None,
            "--state": self.data_dir / ANVIL_STATE,
            "--state-interval": ANVIL_STATE_INTERVAL_SECONDS,
            # Past states anvil moves out of memory (eth_call at an old block) go with the node's
            # own data, not ~/.foundry/anvil/tmp, which anvil never empties (gigabytes a day).
            "--cache-path": self.data_dir / ANVIL_CACHE,
            "--mnemonic": net.mnemonic,
        }
        return [binary, *_flags(options), "--quiet"]

    def _binary(self, kind: str) -> Path:
        """The node executable under node_modules (anvil's native binary, not its node wrapper)."""
        modules = self._settings.node_modules_dir
        if kind == "anvil":
            # The npm wrapper re-sends SIGTERM and exits at once, before anvil has dumped its state.
            native = modules / "@foundry-rs" / f"anvil-{_platform_tag()}" / "bin" / "anvil"
            if native.is_file():
                return native
        wrapper = modules / ".bin" / kind
        if not wrapper.exists():
            raise NodeError(
                f"{kind} is not installed: {wrapper} does not exist; run `npm install` in "
                f"{modules.parent}, or choose the other node with VPL_NODE",
                kind=kind,
            )
        return wrapper

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

    def _find_ours(self) -> tuple[_PidRecord | None, str | None]:
        """Our live node's pid record; or None and, if the pid file is stale, what is wrong."""
        try:
            text = self.pid_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"pid file {self.pid_file} cannot be read ({exc})"
        try:
            record = _PidRecord.parse(text)
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
            record = _PidRecord.parse(self.pid_file.read_text(encoding="utf-8"))
            child = self._child(record.pid)
            if _pid_alive(record.pid, child) and _cmdline(record.pid) == []:
                _wait_gone(record.pid, _KILL_WAIT_SECONDS, child)

    def _child(self, pid: int) -> subprocess.Popen[bytes] | None:
        """The Popen of ``pid`` if this object started it (so it can be reaped)."""
        if self._process is not None and self._process.pid == pid:
            return self._process
        return None

    def _write_record(self, record: _PidRecord) -> None:
        """Write the pid file atomically, so a reader never sees half of it."""
        partial = self.pid_file.with_suffix(".json.partial")
        partial.write_text(record.dumps(), encoding="utf-8")
        os.replace(partial, self.pid_file)

    def _launch(self, net: NetworkConfig, node: NodeConfig) -> _PidRecord:
        """Run the node detached, record it, and wait until it answers with our chain id."""
        if node.kind == "anvil":
            self._check_anvil_state()
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
        record = _PidRecord(
            pid=process.pid,
            kind=node.kind,
            port=node.port,
            rpc_url=net.rpc_url,
            chain_id=net.chain_id,
            started_at=started_at,
            command=tuple(command),
        )
        self._write_record(record)
        try:
            chain_id = wait_for_rpc(
                net.rpc_url, node.startup_timeout_seconds, alive=lambda: process.poll() is None
            )
            if chain_id != net.chain_id:
                raise NodeError(
                    f"{net.rpc_url} answers with chain id {chain_id}, not {net.chain_id}"
                )
        except BaseException as exc:
            _terminate(process.pid, _KILL_WAIT_SECONDS, process)
            self.pid_file.unlink(missing_ok=True)
            self._process = None
            if not isinstance(exc, NodeError):
                raise
            raise NodeError(
                f"the {node.kind} node did not start: {exc}. Last lines of {log_path}:\n"
                f"{_tail(log_path)}",
                kind=node.kind,
                log_file=str(log_path),
            ) from None
        return record

    def _check_anvil_state(self) -> None:
        """Refuse a state file a crash damaged mid-save (anvil saves in place); copy a good one."""
        state = self.data_dir / ANVIL_STATE
        backup = self.data_dir / ANVIL_STATE_BACKUP
        try:
            text = state.read_bytes()
        except FileNotFoundError:
            return
        try:
            json.loads(text)
        except ValueError as exc:
            restore = (
                f"move {backup} (the state when the node last started) into its place to go on "
                "from there, or "
                if backup.exists()
                else ""
            )
            raise NodeError(
                f"anvil's state file {state} is damaged ({exc}), probably by a crash while anvil "
                f"was saving it; {restore}delete it to start a new chain",
                state_file=str(state),
            ) from None
        partial = backup.with_suffix(".partial")
        partial.write_bytes(text)
        os.replace(partial, backup)

    def _already_running(
        self, record: _PidRecord, net: NetworkConfig, node: NodeConfig
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
        what = _describe_listener(net.rpc_url)
        message = (
            f"port {node.port} on {node.host} is already taken by {what}, which was not started "
            f"from {self.data_dir}. Stop that process, choose another port with VPL_NODE_PORT, "
            f"or use it as it is: set VPL_RPC_URL={net.rpc_url} and skip `vpl chain up`"
        )
        if stale is not None:
            message += f" (a stale pid file was removed: {stale})"
        return NodeAlreadyRunning(message, port=node.port, host=node.host, listener=what)

    def _observe(
        self, url: str, *, record: _PidRecord | None = None, stale: str | None = None
    ) -> NodeStatus:
        """Ask ``url`` for its chain id and block number and combine it with what we know."""
        answer = _probe(url)
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


# --- helpers -----------------------------------------------------------------------------------


def wait_for_rpc(url: str, timeout: float, *, alive: Callable[[], bool] | None = None) -> int:
    """Poll ``eth_chainId`` at ``url`` until it answers and return the chain id."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            per_try = max(min(_PROBE_TIMEOUT_SECONDS, remaining), 0.1)
            return int(_rpc(url, "eth_chainId", [], per_try), 16)
        except _RpcUnavailable as exc:
            problem = str(exc)
        except (ValueError, TypeError):
            problem = "eth_chainId did not return a hex number"
        if alive is not None and not alive():
            raise NodeError(f"the node process exited before {url} answered", rpc_url=url)
        if time.monotonic() >= deadline:
            raise NodeError(
                f"no JSON-RPC answer from {url} within {timeout:g} s (last: {problem})", rpc_url=url
            )
        time.sleep(_POLL_SECONDS)


#: Where throwaway ports are drawn from when the kernel's ephemeral range cannot be read.
_EPHEMERAL_FALLBACK = (32768, 60999)
#: The lowest port handed out for throwaway nodes (below it sit well-known services).
_THROWAWAY_LOW = 20000


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel picks the source port of an outgoing connection from."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return _EPHEMERAL_FALLBACK


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for tests and throwaway nodes).

    It lies below the kernel's ephemeral range: a port in that range can be taken as the source
    port of a client's own connection attempt while the node is down (a connection to itself,
    which succeeds), and then the restarted node cannot bind it."""
    low, _ = _ephemeral_range()
    high = low - 1 if low - 1 > _THROWAWAY_LOW else 60999
    candidates = list(range(_THROWAWAY_LOW, high))
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            if not _port_taken(host, port):
                return port
    raise NodeError(f"no free TCP port on {host} between {_THROWAWAY_LOW} and {high}")


def _flags(options: dict[str, object]) -> list[str]:
    """``--flag value`` pairs for a command line, leaving out the options whose value is None."""
    return [
        part for flag, value in options.items() if value is not None for part in (flag, str(value))
    ]


class _RpcUnavailable(Exception):
    """Nothing answered the JSON-RPC request with a result."""


def _rpc(url: str, method: str, params: list[Any], timeout: float) -> Any:
    """One JSON-RPC call over plain HTTP, bypassing any proxy (the node is usually local)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise _RpcUnavailable(f"{exc.__class__.__name__}: {exc}") from None
    if not isinstance(reply, dict) or "result" not in reply:
        raise _RpcUnavailable(f"{method} got no result: {str(reply)[:200]}")
    return reply["result"]


def _probe(url: str) -> tuple[int, int, str | None] | None:
    """Chain id, block number and client name of the node at ``url``, or None if none answers."""
    try:
        chain_id = int(_rpc(url, "eth_chainId", [], _PROBE_TIMEOUT_SECONDS), 16)
        block_number = int(_rpc(url, "eth_blockNumber", [], _PROBE_TIMEOUT_SECONDS), 16)
    except (_RpcUnavailable, ValueError, TypeError):
        return None
    return chain_id, block_number, _client_name(url)


def _client_name(url: str) -> str | None:
    """``ganache``, ``anvil``, ``besu``... from ``web3_clientVersion``, if the node says."""
    try:
        version = _rpc(url, "web3_clientVersion", [], _PROBE_TIMEOUT_SECONDS)
    except _RpcUnavailable:
        return None
    return str(version).split("/", 1)[0].lower() or None


def _describe_listener(url: str) -> str:
    """A phrase naming what answers at ``url``: a node and its chain id, or something else."""
    try:
        chain_id = int(_rpc(url, "eth_chainId", [], _PROBE_TIMEOUT_SECONDS), 16)
    except (_RpcUnavailable, ValueError, TypeError):
        return "a program that does not answer JSON-RPC"
    client = _client_name(url) or "JSON-RPC"
    article = "an" if client[0] in "aeiou" else "a"
    return f"{article} {client} node with chain id {chain_id}"


def _host_port(url: str) -> tuple[str, int]:
    """The host and port an RPC URL points at."""
    parts = urlsplit(url)
    default = 443 if parts.scheme in ("https", "wss") else 80
    return parts.hostname or "127.0.0.1", parts.port or default


def _port_taken(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=_PROBE_TIMEOUT_SECONDS) as sock:
            return not _connected_to_itself(sock)
    except OSError:
        return False


def _connected_to_itself(sock: socket.socket) -> bool:
    """Whether a connection landed on its own source port (TCP's simultaneous open on loopback:
    a connection to a closed port in the ephemeral range can pick that port as its source port)."""
    try:
        return bool(sock.getsockname()[:2] == sock.getpeername()[:2])
    except OSError:
        return False


def _platform_tag() -> str:
    """The suffix of the platform package of foundry's npm binaries, e.g. ``linux-amd64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    return f"{sys.platform}-{arch or machine}"


def _cmdline(pid: int) -> list[str] | None:
    """The command line of ``pid`` from /proc, or None where it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _runs(cmdline: list[str], command: tuple[str, ...]) -> bool:
    """Whether a process command line is ``command`` (possibly behind an interpreter: node)."""
    args = list(command[1:])
    head = cmdline[: len(cmdline) - len(args)]
    return (
        len(cmdline) > len(args)
        and cmdline[len(cmdline) - len(args) :] == args
        and any(Path(part).name == Path(command[0]).name for part in head)
    )


def _pid_alive(pid: int, child: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether ``pid`` is a live process (reaping it first if it is our exited child)."""
    if child is not None:
        if child.poll() is not None:
            return False
    else:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _threads_running(pid)


def _threads_running(pid: int) -> bool:
    """Whether any thread of ``pid`` still runs: its main thread shows as a zombie as soon as it
    exits, while the others may still be exiting and holding the process's files and sockets."""
    process = Path(f"/proc/{pid}")
    if not process.is_dir():
        return True  # no /proc to ask: os.kill(pid, 0) said it exists
    stats = [process / "stat", *process.glob("task/*/stat")]
    return any(_state(stat) not in ("Z", "X", None) for stat in stats)


def _state(stat: Path) -> str | None:
    """The state letter in a /proc stat file (``Z`` for a zombie: exited, not yet reaped)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return fields[0] if fields else None


def _identify(record: _PidRecord, child: subprocess.Popen[bytes] | None) -> str | None:
    """None if the recorded process is alive and is our node; otherwise what it is instead."""
    if not _pid_alive(record.pid, child):
        return f"process {record.pid}, which is no longer running (the {record.kind} node exited)"
    cmdline = _cmdline(record.pid)
    if cmdline == []:  # its memory is already gone: it is exiting
        return f"process {record.pid}, which is no longer running (the {record.kind} node exited)"
    if cmdline is not None and not _runs(cmdline, record.command):
        return f"process {record.pid}, which is now another program ({shlex.join(cmdline)[:120]})"
    return None


def _group_alive(pid: int, child: subprocess.Popen[bytes] | None) -> bool:
    """Whether the node, or anything it spawned in its session (npm wrappers do), is alive."""
    if _pid_alive(pid, child):
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if group == str(pid) and state != "Z":
            return True
    return False


def _wait_gone(pid: int, timeout: float, child: subprocess.Popen[bytes] | None) -> bool:
    """Wait up to ``timeout`` seconds for the node's process group to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while _group_alive(pid, child):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


def _terminate(pid: int, timeout: float, child: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM the node, SIGKILL its process group after ``timeout``; True if it was killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout, child):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    _wait_gone(pid, _KILL_WAIT_SECONDS, child)
    return True


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty)"
