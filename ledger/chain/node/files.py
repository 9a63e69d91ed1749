"""What a local node runs and keeps in its directory (``settings.node_dir``): its binary and
command line, its chain's state files, the pid file that marks its process as ours, its log."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.config import NetworkConfig, NodeConfig
from ledger.errors import NodeError

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
_LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class PidRecord:
    """The contents of ``node.json``: which process is the node we started, and how."""

    pid: int
    kind: str
    port: int
    rpc_url: str
    chain_id: int
    started_at: str
    command: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> PidRecord:
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

    def write(self, path: Path) -> None:
        """Write the pid file atomically, so a reader never sees half of it."""
        partial = path.with_suffix(".json.partial")
        partial.write_text(self.dumps(), encoding="utf-8")
        os.replace(partial, path)


def node_command(net: NetworkConfig, node: NodeConfig, binary: Path, data_dir: Path) -> list[str]:
    """The command line that runs the configured node on `data_dir`."""
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
            "--database.dbPath": data_dir / GANACHE_DB,
            "--wallet.mnemonic": net.mnemonic,
        }
        return [str(binary), *_flags(options), "--logging.quiet"]
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
        "--state": data_dir / ANVIL_STATE,
        "--state-interval": ANVIL_STATE_INTERVAL_SECONDS,
        # Past states anvil moves out of memory (eth_call at an old block) go with the node's
        # own data, not ~/.foundry/anvil/tmp, which anvil never empties (gigabytes a day).
        "--cache-path": data_dir / ANVIL_CACHE,
        "--mnemonic": net.mnemonic,
    }
    tracing = ["--steps-tracing"] if node.steps_tracing else []
    return [str(binary), *_flags(options), *tracing, "--quiet"]


def node_binary(kind: str, modules: Path) -> Path:
    """The node executable under `modules` (node_modules; anvil's native binary, not its node
    wrapper)."""
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


def check_anvil_state(data_dir: Path) -> None:
    """Refuse a state file a crash damaged mid-save (anvil saves in place); copy a good one."""
    state = data_dir / ANVIL_STATE
    backup = data_dir / ANVIL_STATE_BACKUP
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


def log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty)"


def _flags(options: dict[str, object]) -> list[str]:
    """``--flag value`` pairs for a command line, leaving out the options whose value is None."""
    return [
        part for flag, value in options.items() if value is not None for part in (flag, str(value))
    ]


def _platform_tag() -> str:
    """The suffix of the platform package of foundry's npm binaries, e.g. ``linux-amd64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    return f"{sys.platform}-{arch or machine}"
