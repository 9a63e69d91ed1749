"""A validator network on this machine: several go-ethereum nodes sealing blocks together.

The brief's chain is run by several known parties, each keeping the ledger and verifying it. This
module runs that shape on loopback: N validator nodes of go-ethereum v1.13.15, the last release
whose clique proof-of-authority engine seals blocks (clique left geth in 1.14; Hyperledger Besu,
with QBFT, is in no package registry reachable from the build machines). Clique signers take turns
sealing a block every ``period_seconds``; with N signers, any ``floor(N/2) + 1`` keep sealing, so
3 validators tolerate the loss of one.

* **The binary** is built from the Go module proxy (``go install``) once, and cached under the data
  directory keyed by version, so a second run does not rebuild it.
* **Each validator** has its own data directory, key (a keystore unlocked by a password file
  generated here), ports (JSON-RPC on loopback, peer-to-peer with discovery off) and log. The
  genesis names the validators as the clique signers, sets zero base fee and the block gas limit,
  and funds the network file's operators; nodes run with gas price 0.
* **Peering** is explicit (``admin_addPeer`` between every pair), as a permissioned network is:
  no node finds or accepts strangers.

Clique refuses the Shanghai fork, so this chain runs the London/Paris EVM: the contracts are
compiled for ``evmVersion: paris`` (``hardhat-free-config/compiler.json``), which ganache and anvil
run as well.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.accounts import from_mnemonic, operator_address, operator_names
from ledger.chain.node import _cmdline, _pid_alive, _tail, free_port, wait_for_rpc
from ledger.config import DEFAULT_CONFIG_DIR, NetworkConfig, Settings, ValidatorsConfig
from ledger.errors import ConfigError, NodeError

log = logging.getLogger(__name__)

GETH_VERSION = "v1.13.15"
GETH_PACKAGE = "github.com/ethereum/go-ethereum/cmd/geth"
#: geth 1.13's dependency fjl/memsize links against a Go runtime symbol that newer Go refuses
#: by default; the flag lets the link go through (the package is only used by a debug command).
GETH_LDFLAGS = "-checklinkname=0"
#: Where Go is installed when it is not on PATH: the official archive's place, Debian's.
GO_INSTALLS = (Path("/usr/local/go/bin/go"), Path("/usr/lib/go/bin/go"))
PID_FILE = "geth.json"
LOG_FILE = "geth.log"
#: Funds for each operator in the genesis: gas is free (price 0), but a balance check remains.
OPERATOR_BALANCE_WEI = 10**24
_STOP_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Validator:
    """One validator node: its number (1-based), key address, ports and directory."""

    number: int
    address: str
    rpc_port: int
    p2p_port: int
    auth_port: int
    directory: Path
    host: str = "127.0.0.1"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc_port}"


@dataclass(frozen=True)
class ValidatorStatus:
    """What one validator says about itself (``running`` False: the rest are None)."""

    number: int
    address: str
    rpc_url: str
    running: bool
    pid: int | None
    head: int | None = None
    peers: int | None = None
    #: Whether the chain's clique snapshot counts this node's key as a signer.
    signer: bool | None = None
    #: The number of the newest block this node sealed, among the last few it holds.
    last_sealed: int | None = None


class ValidatorNetwork:
    """The validator nodes of one network file (its ``validators`` section) under the data
    directory: build, create, start, stop, inspect."""

    def __init__(self, settings: Settings, *, count: int | None = None) -> None:
        """`count` overrides the network file's number of validators when the network is first
        created; afterwards the number it was created with holds (its genesis names them)."""
        self.settings = settings
        net = settings.network_config
        if net.validators is None:
            raise ConfigError(
                f"network {net.name!r} has no 'validators' section: it is not a validator network "
                "this tooling runs (choose one with VPL_NETWORK, e.g. clique)"
            )
        self.net: NetworkConfig = net
        created = self._created_count()
        if created is not None and count is not None and count != created:
            raise ConfigError(
                f"the {net.name} network here was created with {created} validators; its genesis "
                f"names them. Remove {self.root} to start a network of {count}"
            )
        chosen = created or count or net.validators.count
        self.config: ValidatorsConfig = net.validators.model_copy(update={"count": chosen})

    def _created_count(self) -> int | None:
        try:
            return int(json.loads((self.root / "network.json").read_text())["count"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    # --- layout --------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.settings.data_dir / "validators" / self.net.name

    @property
    def geth(self) -> Path:
        """Where the geth binary of `GETH_VERSION` is cached."""
        return self.settings.tools_dir / f"geth-{GETH_VERSION}" / "geth"

    def keys(self) -> list[LocalAccount]:
        """The validators' keys, from the network's mnemonic (a network this tooling runs is a
        development one; production validators keep their own keys)."""
        if self.net.mnemonic:
            return [
                from_mnemonic(self.net.mnemonic, self.config.key_index + k)
                for k in range(self.config.count)
            ]
        raise ConfigError(
            f"network {self.net.name!r} has no mnemonic: a validator network run by this tooling "
            "derives its validators' keys from one (production validators keep their own keys)"
        )

    def validators(self) -> list[Validator]:
        c = self.config
        return [
            Validator(
                number=k + 1,
                address=key.address,
                rpc_port=c.first_rpc_port + k,
                p2p_port=c.first_p2p_port + k,
                auth_port=c.first_auth_port + k,
                directory=self.root / f"node-{k + 1}",
                host=c.host,
            )
            for k, key in enumerate(self.keys())
        ]

    def validator(self, number: int) -> Validator:
        nodes = self.validators()
        if not 1 <= number <= len(nodes):
            raise ConfigError(f"validator {number} does not exist: this network has 1-{len(nodes)}")
        return nodes[number - 1]

    # --- the binary ----------------------------------------------------------------------------

    def install(self) -> Path:
        """The cached geth binary, built from the Go module proxy on first use."""
        if self.geth.is_file() and os.access(self.geth, os.X_OK):
            return self.geth
        go = shutil.which("go") or next(
            (str(p) for p in GO_INSTALLS if os.access(p, os.X_OK)), None
        )  # a shell without Go on PATH (a service, a CI job) still finds the usual installs
        if go is None:
            raise NodeError(
                "building the validator node (go-ethereum) needs Go 1.21 or newer on PATH; "
                "install it (e.g. `apt-get install golang`, or the Go toolchain) and run again"
            )
        self.geth.parent.mkdir(parents=True, exist_ok=True)
        log.warning("building geth %s (a few minutes, once)", GETH_VERSION)
        env = {**os.environ, "GOBIN": str(self.geth.parent), "GOFLAGS": "-mod=mod"}
        started = time.monotonic()
        done = subprocess.run(
            [go, "install", f"-ldflags={GETH_LDFLAGS}", f"{GETH_PACKAGE}@{GETH_VERSION}"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not self.geth.is_file():
            raise NodeError(
                f"building geth {GETH_VERSION} failed: {done.stderr.strip()[-2000:]}",
            )
        log.warning("built geth %s in %.0f s", GETH_VERSION, time.monotonic() - started)
        return self.geth

    # --- genesis and keys ----------------------------------------------------------------------

    def genesis(self) -> dict[str, Any]:
        """Clique genesis: the validators as signers, London rules, zero base fee."""
        signers = "".join(v.address[2:].lower() for v in self.validators())
        funded = {
            addr[2:].lower(): {"balance": hex(OPERATOR_BALANCE_WEI)}
            for addr in self._operator_addresses()
        }
        forks = [
            "homesteadBlock",
            "eip150Block",
            "eip155Block",
            "eip158Block",
            "byzantiumBlock",
            "constantinopleBlock",
            "petersburgBlock",
            "istanbulBlock",
            "berlinBlock",
            "londonBlock",
        ]
        return {
            "config": {
                "chainId": self.net.chain_id,
                **dict.fromkeys(forks, 0),
                "clique": {"period": self.config.period_seconds, "epoch": 30_000},
            },
            # now, not 1970: clique seals each block no earlier than its parent's time + period
            "timestamp": hex(int(time.time())),
            "difficulty": "0x1",
            "gasLimit": hex(self.config.gas_limit),
            "baseFeePerGas": "0x0",
            "extraData": "0x" + "00" * 32 + signers + "00" * 65,
            "alloc": funded,
        }

    def _operator_addresses(self) -> list[str]:
        """The named operators, and on a network with a mnemonic its first accounts (as a local
        development node funds them)."""
        named = [operator_address(self.net, name) for name in operator_names(self.net)]
        derived = [
            from_mnemonic(self.net.mnemonic, k).address
            for k in range(self.config.funded_accounts if self.net.mnemonic else 0)
        ]
        return sorted(set(named) | set(derived))

    def create(self) -> list[Validator]:
        """Write each validator's key, password and genesis state (once; kept afterwards)."""
        geth = self.install()
        nodes = self.validators()
        genesis = self.genesis()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "network.json").write_text(json.dumps({"count": self.config.count}))
        for node, key in zip(nodes, self.keys(), strict=True):
            if (node.directory / "geth" / "chaindata").exists():
                continue
            node.directory.mkdir(parents=True, exist_ok=True)
            password = node.directory / "password"
            if not password.exists():
                password.write_text(secrets.token_hex(16))
                password.chmod(0o600)
            keystore = node.directory / "keystore"
            keystore.mkdir(exist_ok=True)
            encrypted = Account.encrypt(
                key.key, password.read_text(), kdf="scrypt", iterations=2**12
            )
            (keystore / f"validator-{node.address.lower()}.json").write_text(json.dumps(encrypted))
            genesis_file = node.directory / "genesis.json"
            genesis_file.write_text(json.dumps(genesis, indent=2))
            done = subprocess.run(
                [str(geth), "--datadir", str(node.directory), "init", str(genesis_file)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise NodeError(
                    f"geth init of validator {node.number} failed: {done.stderr[-1500:]}"
                )
        return nodes

    # --- running -------------------------------------------------------------------------------

    def command(self, node: Validator) -> list[str]:
        return [
            str(self.geth),
            "--datadir", str(node.directory),
            "--networkid", str(self.net.chain_id),
            "--syncmode", "full",
            "--port", str(node.p2p_port),
            "--nodiscover",
            "--maxpeers", str(self.config.count + 2),
            "--http",
            "--http.addr", node.host,
            "--http.port", str(node.rpc_port),
            "--http.api", "eth,net,web3,txpool,clique,admin",
            "--http.vhosts", "*",
            "--authrpc.addr", "127.0.0.1",
            "--authrpc.port", str(node.auth_port),
            "--ipcdisable",
            "--mine",
            "--miner.etherbase", node.address,
            # the least tip a validator takes from others' transactions: 1 wei (geth turns 0
            # into 1 gwei); the client pays the network file's gas_price_wei, far above it
            "--miner.gasprice", "1",
            "--miner.gaslimit", str(self.config.gas_limit),
            "--txpool.pricelimit", "1",
            "--txpool.accountslots", str(self.config.txpool_account_slots),
            "--txpool.globalslots", str(self.config.txpool_global_slots),
            "--txpool.accountqueue", str(self.config.txpool_account_slots),
            "--txpool.globalqueue", str(self.config.txpool_global_slots),
            *(() if self.config.txpool_locals else ("--txpool.nolocals",)),
            "--rpc.gascap", str(self.config.gas_limit * 2),
            "--unlock", node.address,
            "--password", str(node.directory / "password"),
            "--allow-insecure-unlock",
            "--verbosity", "3",
        ]  # fmt: skip

    def up(self) -> list[ValidatorStatus]:
        """Create what is missing, start every validator that is not running, peer them all.
        Every validator's key is checked first: none starts if one cannot seal."""
        self.create()
        for node in self.validators():
            self._check_key(node)
        for node in self.validators():
            self.start_node(node.number, peer=False)
        self.peer_all()
        self._converge()
        return self.status()

    def start_node(self, number: int, *, peer: bool = True) -> ValidatorStatus:
        """Start validator `number` (a running one is left alone) and connect it to the others."""
        node = self.validator(number)
        self.create()
        pid = self._pid(node)
        if pid is None:
            self._check_key(node)
            logfile = (node.directory / LOG_FILE).open("ab")
            with logfile:
                process = subprocess.Popen(
                    self.command(node),
                    stdout=logfile,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            (node.directory / PID_FILE).write_text(
                json.dumps({"pid": process.pid, "rpc_url": node.rpc_url})
            )
            try:
                wait_for_rpc(
                    node.rpc_url,
                    self.config.startup_timeout_seconds,
                    alive=lambda: process.poll() is None,
                )
            except NodeError as exc:
                tail = _tail(node.directory / LOG_FILE)
                raise NodeError(f"validator {number} did not start: {exc}\n{tail}") from None
        if peer:
            self.peer_all()
        return self.node_status(node)

    def _converge(self) -> None:
        """Wait until the running validators are peered and hold one head past the genesis.

        A fresh chain's validators each seal a block 1 of their own before they are peered, and
        a node still at its genesis drops the blocks its peers announce: they agree only once
        geth's sync, run every 10 s, has taken the heaviest of those forks. Work sent before that
        may be sealed on a fork that is then dropped; `up` returns when they agree."""
        running = [n for n in self.validators() if self._pid(n) is not None]
        deadline = time.monotonic() + self.config.startup_timeout_seconds
        while len(running) > 1:
            peers = [len(_rpc(n.rpc_url, "admin_peers", []) or []) for n in running]
            heads = [_rpc(n.rpc_url, "eth_getBlockByNumber", ["latest", False]) for n in running]
            numbers = [int(h["number"], 16) for h in heads]
            if (
                len({h["hash"] for h in heads}) == 1
                and min(numbers) >= 1
                and min(peers) >= len(running) - 1
            ):
                return
            if time.monotonic() > deadline:
                log.warning(
                    "the validators do not agree on a head yet (peers %s, heads %s)", peers, numbers
                )
                return
            time.sleep(0.25)

    def _check_key(self, node: Validator) -> None:
        """A created validator must still have its sealing key and the password that opens it."""
        keystore = node.directory / "keystore"
        address = node.address.lower()[2:]
        keys = [
            f for f in keystore.glob("*") if f.is_file() and address in f.read_text().lower()
        ] if keystore.is_dir() else []  # fmt: skip
        password = node.directory / "password"
        missing = (
            f"no key file for its signer {node.address} in {keystore}"
            if not keys
            else f"the password file {password} that opens its key is gone"
            if not password.is_file()
            else None
        )
        if missing is not None:
            raise NodeError(
                f"validator {node.number} cannot seal: {missing}. Put the file back from the "
                f"validator's backup and run again; nothing was started (a development network's "
                f"validator can be made afresh by removing {self.root}, which starts a new chain)",
                validator=node.number,
            )

    def stop_node(self, number: int, *, kill: bool = False) -> ValidatorStatus:
        """Stop validator `number`: SIGTERM (geth writes its state), or SIGKILL with `kill`."""
        node = self.validator(number)
        pid = self._pid(node)
        if pid is not None:
            _stop(pid, kill=kill)
        with contextlib.suppress(FileNotFoundError):
            (node.directory / PID_FILE).unlink()
        return self.node_status(node)

    def down(self) -> list[ValidatorStatus]:
        for node in self.validators():
            self.stop_node(node.number)
        return self.status()

    def peer_all(self) -> None:
        """Connect every running validator to every other (static peers, discovery is off)."""
        running = [n for n in self.validators() if self._pid(n) is not None]
        enodes: dict[int, str] = {}
        for node in running:
            info = _rpc(node.rpc_url, "admin_nodeInfo", [])
            enodes[node.number] = (
                str(info["enode"]).split("?")[0].replace("@127.0.0.1:", f"@{node.host}:")
            )
        for node in running:
            for other, enode in enodes.items():
                if other != node.number:
                    _rpc(node.rpc_url, "admin_addPeer", [enode])

    # --- status --------------------------------------------------------------------------------

    def status(self) -> list[ValidatorStatus]:
        return [self.node_status(node) for node in self.validators()]

    def node_status(self, node: Validator) -> ValidatorStatus:
        pid = self._pid(node)
        base = ValidatorStatus(
            number=node.number,
            address=node.address,
            rpc_url=node.rpc_url,
            running=pid is not None,
            pid=pid,
        )
        if pid is None:
            return base
        try:
            head = int(_rpc(node.rpc_url, "eth_blockNumber", []), 16)
            peers = int(_rpc(node.rpc_url, "net_peerCount", []), 16)
            signers = {s.lower() for s in _rpc(node.rpc_url, "clique_getSigners", [])}
            sealed = None
            for number in range(head, max(head - 2 * self.config.count, 0), -1):
                if str(_rpc(node.rpc_url, "clique_getSigner", [hex(number)])).lower() == (
                    node.address.lower()
                ):
                    sealed = number
                    break
        except NodeError:
            return base
        return ValidatorStatus(
            number=node.number,
            address=node.address,
            rpc_url=node.rpc_url,
            running=True,
            pid=pid,
            head=head,
            peers=peers,
            signer=node.address.lower() in signers,
            last_sealed=sealed,
        )

    def _pid(self, node: Validator) -> int | None:
        """The pid of this validator's running geth, per its pid file (None: not running)."""
        try:
            record = json.loads((node.directory / PID_FILE).read_text())
            pid = int(record["pid"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        if not _pid_alive(pid) or not any("geth" in part for part in _cmdline(pid) or []):
            return None
        return pid


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    import requests

    try:
        answer = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10
        ).json()
    except (requests.RequestException, ValueError) as exc:
        raise NodeError(
            f"{url} did not answer {method}: {type(exc).__name__}", rpc_url=url
        ) from None
    if "error" in answer:
        raise NodeError(f"{url} refused {method}: {answer['error']}", rpc_url=url)
    return answer.get("result")


def _stop(pid: int, *, kill: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + _STOP_WAIT_SECONDS
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def throwaway_settings(
    root: Path,
    *,
    name: str = "clique-local",
    count: int = 3,
    period_seconds: int | None = None,
    gas_limit: int | None = None,
) -> Settings:
    """Settings for a validator network of its own under `root` (tests, benchmarks): the
    project's ``clique.json`` with free ports, every node's RPC URL for failover, the store and
    the deployment manifest under `root` too."""
    config = root / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config, ignore=shutil.ignore_patterns("deployments"))
    net = json.loads((config / "networks" / "clique.json").read_text())
    net["name"] = name
    validators = net["validators"]
    validators.update(
        count=count,
        first_rpc_port=_free_run(count),
        first_p2p_port=_free_run(count),
        first_auth_port=_free_run(count),
    )
    if period_seconds is not None:
        validators["period_seconds"] = period_seconds
    if gas_limit is not None:
        validators["gas_limit"] = gas_limit
    first = validators["first_rpc_port"]
    urls = [f"http://127.0.0.1:{first + k}" for k in range(count)]
    net["rpc_url"], net["rpc_urls"] = urls[0], urls[1:]
    (config / "networks" / f"{name}.json").write_text(json.dumps(net))
    return Settings(
        network=name,
        config_dir=config,
        data_dir=root / "data",
        deployments_dir=root / "deployments",
        vault_key=None,
        commitment_key=None,
    )


def _free_run(length: int) -> int:
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
