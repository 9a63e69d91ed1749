"""Configuration: one ``Settings`` object (environment variables prefixed ``VPL_``, or ``.env``).

Settings are read once, by whoever builds a ``Ledger``, an app or a CLI run, and passed in; nothing
here runs at import time. Per-network and compiler settings live in ``hardhat-free-config/`` and
are validated into ``NetworkConfig`` and ``CompilerConfig``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigError, InsecureDefault

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = REPO_ROOT / "hardhat-free-config"

#: The well-known public test mnemonic of ganache/anvil/hardhat. Development chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"

NodeKind = Literal["ganache", "anvil"]
M = TypeVar("M", bound=BaseModel)


class NodeConfig(BaseModel):
    """How the tooling starts a local node (ignored when attaching to an external RPC URL)."""

    model_config = {"extra": "forbid"}

    kind: NodeKind = "ganache"
    host: str = "127.0.0.1"
    port: int = Field(8545, ge=1, le=65535)
    accounts: int = Field(20, ge=1, le=200)
    balance_ether: int = Field(1_000_000, ge=1)
    gas_limit: int = Field(30_000_000, ge=1_000_000)
    #: Seconds between blocks; 0 mines one block per transaction (instant).
    block_time: int = Field(0, ge=0)
    evm_version: str = "shanghai"
    startup_timeout_seconds: float = Field(60.0, gt=0)
    #: anvil records every step of every transaction, so that ``debug_traceTransaction`` gives
    #: step-by-step traces (gas profiles); it costs memory (ganache always traces).
    steps_tracing: bool = False


class ValidatorsConfig(BaseModel):
    """A validator network the tooling runs on this machine (``ledger.chain.validators``): `count`
    go-ethereum clique signers on loopback, ports counted up from the first ones."""

    model_config = {"extra": "forbid"}

    engine: Literal["clique"] = "clique"
    count: int = Field(3, ge=1, le=16)
    #: Seconds between blocks.
    period_seconds: int = Field(1, ge=1, le=60)
    host: str = "127.0.0.1"
    first_rpc_port: int = Field(8645, ge=1, le=65_000)
    first_p2p_port: int = Field(30403, ge=1, le=65_000)
    first_auth_port: int = Field(8751, ge=1, le=65_000)
    gas_limit: int = Field(30_000_000, ge=1_000_000)
    #: The validators' keys are the network mnemonic's accounts from this index on.
    key_index: int = Field(100, ge=0)
    #: The mnemonic's first accounts funded in the genesis (as a development node does).
    funded_accounts: int = Field(30, ge=0, le=1_000)
    #: Pending transactions one sender may have in a node's pool (the relayer keeps many).
    txpool_account_slots: int = Field(4_096, ge=16)
    #: Pending transactions a node's pool holds in all (and as many queued behind nonce gaps).
    txpool_global_slots: int = Field(16_384, ge=16)
    #: Transactions sent through a node's own RPC are its locals: kept across its restarts and
    #: never refused for a full pool. False makes the pool's limits apply to them too.
    txpool_locals: bool = True
    startup_timeout_seconds: float = Field(60.0, gt=0)


class OperatorKey(BaseModel):
    """Where an operator's signing key comes from: an index of the dev mnemonic, or a keystore."""

    model_config = {"extra": "forbid"}

    index: int | None = Field(None, ge=0)
    keystore: Path | None = None
    #: Name of the environment variable holding the keystore's password.
    password_env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OperatorKey:
        if (self.index is None) == (self.keystore is None):
            raise ValueError("an operator key needs exactly one of 'index' or 'keystore'")
        if self.keystore is not None and not self.password_env:
            raise ValueError("a keystore operator key needs 'password_env'")
        return self


class CouncilConfig(BaseModel):
    model_config = {"extra": "forbid"}

    members: list[str] = Field(min_length=1)
    threshold: int = Field(ge=1)
    proposal_lifetime_seconds: int = Field(7 * 24 * 3600, ge=60)

    @model_validator(mode="after")
    def _threshold_fits(self) -> CouncilConfig:
        if self.threshold > len(self.members):
            raise ValueError(
                f"council threshold {self.threshold} is larger than its {len(self.members)} members"
            )
        if len(set(self.members)) != len(self.members):
            raise ValueError("council members must be distinct")
        return self


class NetworkConfig(BaseModel):
    """One network file, ``hardhat-free-config/networks/<name>.json``."""

    model_config = {"extra": "forbid"}

    name: str
    chain_id: int = Field(ge=1)
    rpc_url: str
    #: True for a local chain the tooling starts itself: dev mnemonic allowed, nodes managed.
    development: bool = False
    node: NodeConfig | None = None
    #: A validator network run here (``vpl network up``) instead of a single development node.
    validators: ValidatorsConfig | None = None
    #: Further JSON-RPC URLs of the same chain: the client starts on the node furthest ahead
    #: (`rpc_url` first on a tie) and fails over to the furthest ahead of the others when the
    #: node it talks to stops answering (``ledger.chain.connection.ahead_first``).
    rpc_urls: list[str] = []
    mnemonic: str | None = None
    operators: dict[str, OperatorKey]
    council: CouncilConfig
    #: The ERC-1155 metadata URI template PointsLedger is deployed with (EIP-1155: a wallet puts
    #: the token id, 64 lowercase hex digits, for `{id}`). None: the API's own metadata endpoint
    #: at `VPL_PUBLIC_URL` (see ``Settings.network_config``).
    metadata_uri: str | None = None
    #: Blocks on top of a transaction's block before it counts as final (0 on an instant-seal
    #: local chain): writes wait for them, and the index marks newer events as not final.
    confirmations: int = Field(0, ge=0)
    #: The gas price every transaction pays, in wei; None asks the node (``eth_gasPrice``). A
    #: validator network sets one well above its base fee (see ``hardhat-free-config/networks``).
    gas_price_wei: int | None = Field(None, ge=0)

    @field_validator("metadata_uri")
    @classmethod
    def _resolvable(cls, value: str | None) -> str | None:
        if value is not None and (
            urlsplit(value).scheme not in ("http", "https") or "{id}" not in value
        ):
            raise ValueError(
                f"metadata_uri {value!r} must be an http(s) URI template with '{{id}}' in it, "
                "which wallets can fetch"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NetworkConfig:
        for member in self.council.members:
            if member not in self.operators:
                raise ValueError(f"council member {member!r} is not a named operator")
        if "deployer" not in self.operators:
            raise ValueError("a network needs an operator named 'deployer'")
        uses_index = any(op.index is not None for op in self.operators.values())
        if uses_index and not self.mnemonic:
            raise ValueError("operators given by 'index' need a 'mnemonic'")
        if self.development and self.node is None and self.validators is None:
            raise ValueError("a development network needs a 'node' or a 'validators' section")
        return self


class CompilerConfig(BaseModel):
    """``hardhat-free-config/compiler.json``: what the Solidity build depends on."""

    model_config = {"extra": "forbid"}

    solc_version: str
    evm_version: str = "shanghai"
    optimizer_enabled: bool = True
    optimizer_runs: int = Field(200, ge=1)
    via_ir: bool = False


def _load_json_model(model: type[M], path: Path) -> M:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"config file {path} is invalid: {problems}") from None


class AnomalyThresholds(BaseModel):
    """Thresholds of the anomaly rules (``ledger.audit.anomalies``), from ``audit.json`` in the config
    directory; each default is what a city would start with, and each rule is documented there."""

    model_config = {"extra": "forbid"}

    #: burst: more than `burst_records` records, or more than `burst_hours` hours of service, of
    #: one volunteer in one scheme on one service day (by the records' service times).
    burst_records: int = Field(6, ge=1)
    burst_hours: int = Field(12, ge=1, le=24)
    #: evidence_reuse: one evidence hash on more than `evidence_max_records` records.
    evidence_max_records: int = Field(1, ge=1)
    #: collusion: reviewers and volunteers approving each other in rings of up to
    #: `ring_max_length` accounts (2 is a pair), and one reviewer approving one volunteer's
    #: records `pair_max_approvals` times or more.
    ring_max_length: int = Field(4, ge=2, le=8)
    pair_max_approvals: int = Field(10, ge=2)
    #: fast_review: a record approved less than `min_review_seconds` after it was submitted, and
    #: `fast_run` or more approvals by one reviewer each less than `min_review_seconds` apart.
    min_review_seconds: int = Field(30, ge=1)
    fast_run: int = Field(5, ge=2)
    #: registration_burst: more than `registrations_max` members registered by one registrar
    #: within `registrations_window_seconds`.
    registrations_max: int = Field(50, ge=1)
    registrations_window_seconds: int = Field(600, ge=1)
    #: Blocks one run reads by default (the newest), and the most it reads when asked.
    default_blocks: int = Field(100_000, ge=1)
    max_blocks: int = Field(2_000_000, ge=1)


class Settings(BaseSettings):
    """Everything configurable, from ``VPL_*`` environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="VPL_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    network: str = "local"
    config_dir: Path = DEFAULT_CONFIG_DIR
    #: Solidity sources, and the npm packages (solc, nodes, OpenZeppelin) they build with.
    contracts_dir: Path = REPO_ROOT / "contracts"
    node_modules_dir: Path = REPO_ROOT / "node_modules"
    #: Local state: node database, build cache, SQLite file, development secrets.
    #: At the repository root by default, whatever the current directory, so that every command
    #: of one checkout shares one node, one vault and one set of development secrets.
    data_dir: Path = REPO_ROOT / ".vpl"
    deployments_dir: Path | None = None
    #: Built tools (the validator node's binary), keyed by version; shared by every data
    #: directory of this checkout, so a test run or a second network does not build them again.
    tools_dir: Path = REPO_ROOT / ".vpl" / "bin"
    #: Overrides the network file's RPC URL (attach to a running node).
    rpc_url: str | None = None
    #: Overrides the network file's node kind for a local chain.
    node: NodeKind | None = None
    #: Overrides the network file's node port for a local chain.
    node_port: int | None = Field(None, ge=1, le=65535)
    #: Overrides the network file's node ``steps_tracing`` for a local anvil chain.
    node_steps_tracing: bool | None = None
    database_url: str | None = None
    #: Bring the store to the code's schema revision when a process opens it (the development
    #: default). Off in production: the operator runs `vpl db upgrade`, then restarts, and a
    #: process finding the store at another revision refuses to start.
    database_auto_upgrade: bool = True
    #: The event index keeps this many newest blocks' hashes to detect reorgs and roll them back.
    index_reorg_depth: int = Field(64, ge=1, le=10_000)
    #: Most blocks asked for in one eth_getLogs request while catching up.
    index_blocks_per_request: int = Field(2_000, ge=1, le=1_000_000)
    #: 32 random bytes, base64: encrypts the personal-data vault.
    vault_key: str | None = None
    #: Secret for identity commitments (keyed hash of the ID number); never changes once used.
    commitment_key: str | None = None

    # --- the HTTP API --------------------------------------------------------------------------
    #: Where people reach the API; sign-in messages (EIP-4361) name its host and are refused
    #: when signed for another, and the points' ERC-1155 metadata URI is deployed under it.
    public_url: str = "http://127.0.0.1:8000"
    #: Bearer tokens are short-lived; sign in again after this.
    token_ttl_seconds: int = Field(900, ge=60, le=86_400)
    challenge_ttl_seconds: int = Field(300, ge=30, le=3_600)
    #: Wrong PINs of a custodial wallet before it locks, and for how long it stays locked.
    pin_max_attempts: int = Field(5, ge=1, le=20)
    pin_lockout_seconds: int = Field(900, ge=1)
    #: scrypt cost (N) of custodial keystores: 2**15 takes ~0.1 s to unlock here.
    wallet_kdf_n: int = Field(2**15, ge=2**10, le=2**20)
    #: Origins browsers may call the API from (CORS); none by default.
    cors_origins: list[str] = []
    #: Requests per minute per signed-in account, and per client IP address.
    rate_limit_per_account: int = Field(600, ge=1)
    rate_limit_per_ip: int = Field(1_200, ge=1)
    #: How many API processes serve together: each enforces its share of the rate limits (the
    #: limit divided by this, rounded up), so that together they allow no more than the limit.
    api_processes: int = Field(1, ge=1, le=1_000)
    #: The API process follows the chain into the event index (members' history, the explorer).
    api_follow_chain: bool = True
    api_follow_poll_seconds: float = Field(0.5, gt=0, le=60)
    #: The API counts requests, writes and their latency for /metrics (off: no /metrics).
    api_metrics: bool = True
    #: The operators (of the network file, comma-separated) an API process may relay members'
    #: signed requests with: it takes the first that no other process on the store holds (each
    #: sender's nonces are counted in its process), and refuses to start if every one is held.
    relayer: str = Field("relayer", min_length=1)
    #: The API's log lines: plain text, or one JSON object a line with a line per request.
    log_format: Literal["text", "json"] = "text"
    #: /ready answers 503 while the event index is more blocks than this behind the chain...
    ready_max_index_lag: int = Field(50, ge=0)
    #: ... or the newest block is older than this (a network sealing blocks every few seconds;
    #: None on a development node, which mines only when sent a transaction).
    ready_max_block_age_seconds: float | None = Field(None, gt=0)
    #: How long a relayed request prepared for signing stays valid.
    relay_validity_seconds: int = Field(600, ge=10, le=86_400)
    #: The most signed requests one relayed transaction carries: requests that arrive while one
    #: is on its way go out together in the next (1: each in its own transaction).
    relay_batch_most: int = Field(100, ge=1, le=1_000)
    #: How many relayed transactions may be on their way at once (the next batch leaves while
    #: the last is mined; on a validator network, several batches share a block).
    relay_lanes: int = Field(4, ge=1, le=64)
    #: Requests the API serves at once in its worker threads (a write holds one until its
    #: transaction is confirmed).
    api_threads: int = Field(200, ge=4, le=2_000)

    @field_validator(
        "data_dir", "config_dir", "contracts_dir", "node_modules_dir", "tools_dir", mode="after"
    )
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # --- derived -------------------------------------------------------------------------------

    @cached_property
    def network_config(self) -> NetworkConfig:
        path = self.config_dir / "networks" / f"{self.network}.json"
        if not path.exists():
            known = sorted(p.stem for p in (self.config_dir / "networks").glob("*.json"))
            raise ConfigError(
                f"unknown network {self.network!r}: no {path}. Known networks: {', '.join(known)}"
            )
        net = _load_json_model(NetworkConfig, path)
        if self.node is not None and net.node is not None:
            net.node.kind = self.node
        if self.node_steps_tracing is not None and net.node is not None:
            net.node.steps_tracing = self.node_steps_tracing
        if self.node_port is not None and net.node is not None:
            net.node.port = self.node_port
            if self.rpc_url is None:
                net.rpc_url = f"http://{net.node.host}:{self.node_port}"
        if self.rpc_url is not None:
            net.rpc_url = self.rpc_url
        if net.metadata_uri is None:
            net.metadata_uri = metadata_uri_template(self.public_url)
        if self.environment == "production":
            if net.development:
                raise InsecureDefault(
                    f"network {net.name!r} is a development network; choose a production network "
                    "file with VPL_NETWORK"
                )
            if net.mnemonic and net.mnemonic.strip() == DEV_MNEMONIC:
                raise InsecureDefault(
                    "the public test mnemonic cannot be used in production; use keystore operators"
                )
        return net

    @cached_property
    def anomaly_thresholds(self) -> AnomalyThresholds:
        """``audit.json`` of the config directory (its ``anomalies`` object); defaults without."""
        path = self.config_dir / "audit.json"
        if not path.exists():
            return AnomalyThresholds()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return AnomalyThresholds.model_validate(data.get("anomalies", {}))
        except (ValueError, AttributeError, ValidationError) as exc:
            raise ConfigError(f"{path}: not valid anomaly thresholds: {exc}") from None

    @cached_property
    def compiler_config(self) -> CompilerConfig:
        return _load_json_model(CompilerConfig, self.config_dir / "compiler.json")

    @property
    def resolved_deployments_dir(self) -> Path:
        return (self.deployments_dir or self.config_dir / "deployments").expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'vpl.db'}"

    @property
    def build_dir(self) -> Path:
        return self.data_dir / "build"

    @property
    def node_dir(self) -> Path:
        return self.data_dir / "node"

    def vault_key_bytes(self) -> bytes:
        return self._secret_bytes("vault_key")

    def commitment_key_bytes(self) -> bytes:
        return self._secret_bytes("commitment_key")

    def _secret_bytes(self, name: Literal["vault_key", "commitment_key"]) -> bytes:
        value = getattr(self, name)
        if value is None:
            if self.environment != "development" or not self.network_config.development:
                raise ConfigError(
                    f"VPL_{name.upper()} is not set. Generate one with `vpl secrets new` and keep "
                    "it in your secret store; it cannot be changed once data is written."
                )
            value = self._dev_secrets[name]
        try:
            key = base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            raise ConfigError(f"VPL_{name.upper()} is not valid base64") from None
        if len(key) != 32:
            raise ConfigError(f"VPL_{name.upper()} must be 32 bytes (base64), got {len(key)}")
        return key

    @cached_property
    def _dev_secrets(self) -> dict[str, str]:
        """Development only: secrets generated once into the data directory (never the repo).

        Safe when several threads or processes start at once: the file is written whole under a
        temporary name and linked into place; whoever links first wins and everyone reads that.
        """
        path = self.data_dir / "dev-secrets.json"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            generated = {"vault_key": new_secret(), "commitment_key": new_secret()}
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".dev-secrets-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(generated, handle)
                os.chmod(tmp, 0o600)
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return loaded


#: Where the API serves a scheme's ERC-1155 metadata (api/routers/governance/schemes.py).
METADATA_PATH = "/v1/metadata/{id}.json"


def metadata_uri_template(public_url: str) -> str:
    """The ERC-1155 URI template of the API at `public_url`: `{id}` is left for wallets."""
    return public_url.rstrip("/") + METADATA_PATH


def new_secret() -> str:
    """32 random bytes, base64: a fresh vault or commitment key."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")
