"""This machine's processes and ports as the chain nodes run on it need them: whether a process is
alive and what it runs, stopping a node with its process group, free and taken TCP ports."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from ledger.errors import NodeError

#: Seconds between two looks at a process that is to exit.
POLL_SECONDS = 0.05
#: Seconds a node's process group gets to exit after SIGKILL.
KILL_WAIT_SECONDS = 5.0
_CONNECT_TIMEOUT_SECONDS = 1.0
#: Where throwaway ports are drawn from when the kernel's ephemeral range cannot be read.
_EPHEMERAL_FALLBACK = (32768, 60999)
#: The lowest port handed out for throwaway nodes (below it sit well-known services).
_THROWAWAY_LOW = 20000

# --- processes ---------------------------------------------------------------------------------


def cmdline(pid: int) -> list[str] | None:
    """The command line of ``pid`` from /proc, or None where it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def runs(cmdline: list[str], command: tuple[str, ...]) -> bool:
    """Whether a process command line is ``command`` (possibly behind an interpreter: node)."""
    args = list(command[1:])
    head = cmdline[: len(cmdline) - len(args)]
    return (
        len(cmdline) > len(args)
        and cmdline[len(cmdline) - len(args) :] == args
        and any(Path(part).name == Path(command[0]).name for part in head)
    )


def pid_alive(pid: int, child: subprocess.Popen[bytes] | None = None) -> bool:
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


def _group_alive(pid: int, child: subprocess.Popen[bytes] | None) -> bool:
    """Whether the node, or anything it spawned in its session (npm wrappers do), is alive."""
    if pid_alive(pid, child):
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


def wait_gone(pid: int, timeout: float, child: subprocess.Popen[bytes] | None) -> bool:
    """Wait up to ``timeout`` seconds for the node's process group to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while _group_alive(pid, child):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def terminate(pid: int, timeout: float, child: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM the node, SIGKILL its process group after ``timeout``; True if it was killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_gone(pid, timeout, child):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    wait_gone(pid, KILL_WAIT_SECONDS, child)
    return True


# --- ports -------------------------------------------------------------------------------------


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
            if not port_taken(host, port):
                return port
    raise NodeError(f"no free TCP port on {host} between {_THROWAWAY_LOW} and {high}")


def free_port_range(length: int) -> int:
    """A first port whose next `length` ports are all free (validators count ports up)."""
    while True:
        base = free_port()
        if base + length > 65_000:
            continue
        sockets: list[socket.socket] = []
        try:
            for k in range(length):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + k))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel picks the source port of an outgoing connection from."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return _EPHEMERAL_FALLBACK


def host_port(url: str) -> tuple[str, int]:
    """The host and port an RPC URL points at."""
    parts = urlsplit(url)
    default = 443 if parts.scheme in ("https", "wss") else 80
    return parts.hostname or "127.0.0.1", parts.port or default


def port_taken(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=_CONNECT_TIMEOUT_SECONDS) as sock:
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
