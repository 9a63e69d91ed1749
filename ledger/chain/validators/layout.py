"""Where and what each validator of a validator network is, before any of them runs: its number,
key, ports and directory; the go-ethereum binary (built from the Go module proxy once, cached
under the data directory keyed by version); the genesis naming the validators as the clique
signers (zero base fee, the block gas limit, the network file's operators funded); each node's
key file, password and command line; and the settings of a throwaway network for tests.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.accounts import from_mnemonic, operator_address, operator_names
from ledger.chain.node.host import free_port_range
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
#: Funds for each operator in the genesis: gas is free (price 0), but a balance check remains.
OPERATOR_BALANCE_WEI = 10**24


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


class ValidatorLayout:
    """The validator nodes of one network file (its ``validators`` section) under the data
    directory: their keys, ports, directories, binary, genesis and command lines."""

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

    # --- each node ----------------------------------------------------------------------------

    def command(self, node: Validator) -> list[str]:
        """The geth command line that runs validator `node`."""
        return [
            str(self.geth),
            "--datadir", str(node.directory),
            "--networkid", str(self.net.chain_id),
            "--syncmode", "full",
            # each block's state written as it is sealed or imported: geth otherwise keeps the
            # newest state in memory until a clean stop, and a validator that crashes (kill -9)
            # comes back rewound to that stop, seals blocks on its old head, and two of three
            # rewound at once outvote the third with another history
            "--gcmode", "archive",
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

    def check_key(self, node: Validator) -> None:
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
        first_rpc_port=free_port_range(count),
        first_p2p_port=free_port_range(count),
        first_auth_port=free_port_range(count),
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
