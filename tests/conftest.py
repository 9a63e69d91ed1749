"""Fixtures: real chain nodes per session, deployed once; each test gets fresh members and schemes
from ``tests/factories.py``.

The shared chain (``ledger``) is an anvil node: about twice as fast per transaction as ganache.
Behaviour that must hold on both nodes takes ``any_ledger`` and runs on ganache
(``ganache_ledger``) and on anvil (``anvil_ledger``); tests of what only ganache does take
``ganache_ledger``. Tests on PostgreSQL too take ``postgres_url`` (a server of their own, started
only when asked for) and make a database there with ``fresh_database``."""

from __future__ import annotations

import fcntl
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from sqlalchemy import create_engine, text

from ledger.chain import compiler
from ledger.chain.accounts import from_mnemonic
from ledger.chain.contracts import ContractClient
from ledger.chain.node import LocalNode, free_port
from ledger.chain.roles import role
from ledger.chain.tx import TxResult
from ledger.config import DEV_MNEMONIC, Settings
from ledger.ledger import Ledger

#: Deploys and owns the test-only IssuerProbe that holds ISSUANCE_ROLE (see tests/solidity).
TEST_MINTER_INDEX = 19
PROBE_SOURCES = Path(__file__).parent / "solidity"
#: IssuerProbe address per deployed ledger (keyed by the PointsLedger address).
_PROBES: dict[str, str] = {}
#: SpendingProbe address per deployed ledger (keyed by the PointsLedger address).
_SPENDING_PROBES: dict[str, str] = {}
#: The build cache of the session's first chain; every later chain starts with a copy of it, so
#: the contracts are compiled once per session (the cache is keyed by a hash of the sources).
_BUILD_CACHE: list[Path] = []
#: Where a session leaves its compiled contracts for the next session on this machine.
SESSIONS_BUILD_CACHE = Path(__file__).resolve().parents[1] / ".vpl" / "test-build-cache"


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


# --- parallel workers (pytest-xdist) -------------------------------------------------------------

#: Tests that share one validator network (a session fixture taking minutes to set up).
_NETWORK_TESTS = "tests/network/"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The validator-network tests first: they are the longest run of one worker, so they start
    at once while the other worker takes the rest (the same order in every process)."""
    items.sort(key=lambda item: not item.nodeid.startswith(_NETWORK_TESTS))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadgroup`` with each test module a group (its tests run in order in one worker,
    as they do in one process: module fixtures are built once, and a module's last test may read
    what the earlier ones did), and every validator-network test in one group (one network).
    pytest 9.2 ignores the ``xdist_group`` mark: xdist 3.8 renames ``item._nodeid``, which pytest
    no longer reads."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class NetworkTogether(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _NETWORK_TESTS if nodeid.startswith(_NETWORK_TESTS) else nodeid.split("::")[0]

    return NetworkTogether(config, log)


def _start(tmp_path_factory: pytest.TempPathFactory, kind: str) -> Iterator[Ledger]:
    settings = make_settings(tmp_path_factory.mktemp(f"chain-{kind}"), kind)
    compile_once(settings)
    node = LocalNode(settings)
    node.start()
    ledger = Ledger(settings)
    try:
        ledger.deploy()
        probe = deploy_issuer_probe(ledger)
        spending = deploy_spending_probe(ledger)
        calls = [
            ledger.role_call(
                role_name="registrar", account=ledger.operator("registrar").address, grant=True
            ),
            ledger.role_call(
                role_name="auditor", account=ledger.operator("auditor").address, grant=True
            ),
            ledger.role_call(role_name="issuance", account=probe, grant=True),
            ledger.role_call(role_name="spending", account=spending, grant=True),
        ]
        ledger.govern(calls, "test bootstrap")
        yield ledger
    finally:
        ledger.close()
        node.stop()


def minter() -> LocalAccount:
    """The key that owns the IssuerProbe (itself it holds no role)."""
    return from_mnemonic(DEV_MNEMONIC, TEST_MINTER_INDEX)


def deploy_issuer_probe(ledger: Ledger) -> str:
    """Deploy the test-only IssuerProbe for `ledger` (owned by `minter()`); returns its address."""
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    artifact = build.get("IssuerProbe")
    data = artifact.bytecode + abi_encode(["address"], [ledger.points.address]).hex()
    address, _ = ledger.sender.deploy(minter(), data, context="deploy IssuerProbe")
    _PROBES[ledger.points.address] = address
    return address


def probe_address(ledger: Ledger) -> str:
    return _PROBES[ledger.points.address]


def deploy_spending_probe(ledger: Ledger) -> str:
    """Deploy a test-only SpendingProbe for `ledger` (owned by `minter()`); the first one deployed
    for a ledger is the one the session's council grants SPENDING_ROLE (``spending_probe``)."""
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    artifact = build.get("SpendingProbe")
    data = artifact.bytecode + abi_encode(["address"], [ledger.points.address]).hex()
    address, _ = ledger.sender.deploy(minter(), data, context="deploy SpendingProbe")
    _SPENDING_PROBES.setdefault(ledger.points.address, address)
    return address


def spending_probe(ledger: Ledger) -> ContractClient:
    """The SpendingProbe holding SPENDING_ROLE on `ledger`, as a client (sign with `minter()`)."""
    return probe_client(ledger, _SPENDING_PROBES[ledger.points.address])


def probe_client(ledger: Ledger, address: str) -> ContractClient:
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    return ContractClient(ledger.w3, ledger.sender, address, build.get("SpendingProbe").abi)


def issue_points(
    ledger: Ledger, member: str, scheme_id: int, amount: int, source: bytes
) -> TxResult:
    """Issue points straight through PointsLedger.issue, as a contract holding ISSUANCE_ROLE."""
    data = (
        "0x"
        + (
            function_signature_to_4byte_selector("issue(address,uint256,uint256,bytes32)")
            + abi_encode(
                ["address", "uint256", "uint256", "bytes32"], [member, scheme_id, amount, source]
            )
        ).hex()
    )
    return ledger.sender.send(minter(), probe_address(ledger), data, context="issue")


@pytest.fixture(scope="session")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The shared chain: a deployed ledger on an anvil node the suite starts itself."""
    yield from _start(tmp_path_factory, "anvil")


@pytest.fixture(scope="session")
def ganache_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The same, on a ganache node (for ``any_ledger`` and what only ganache does)."""
    yield from _start(tmp_path_factory, "ganache")


@pytest.fixture(scope="session")
def anvil_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The same, on an anvil node of its own: a test may move its clock by months."""
    yield from _start(tmp_path_factory, "anvil")


@pytest.fixture(params=["ganache", pytest.param("anvil", marks=pytest.mark.anvil)])
def any_ledger(request: pytest.FixtureRequest) -> Ledger:
    """Runs a test once per node kind: behaviour shared by ganache and anvil."""
    return request.getfixturevalue(f"{request.param}_ledger")


@pytest.fixture
def registrar(ledger: Ledger) -> LocalAccount:
    return ledger.operator("registrar")


@pytest.fixture
def issuance_role_id() -> bytes:
    return role("issuance").id


# --- PostgreSQL --------------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.fail(
            "PostgreSQL is not installed (Debian package postgresql): scripts/dev.sh installs it"
        )
    return Path(initdb).parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own (initdb in a temporary directory, a free port, a socket in
    that directory), stopped and deleted at the end of the session. As root it runs as the
    ``postgres`` user (initdb refuses root)."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="vpl-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "vpl", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-w",
        "-l",
        str(root / "log"),
        "start",
    )
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "vpl", "vpl")
        yield f"postgresql+psycopg://vpl@127.0.0.1:{port}/vpl"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    """A database URL of its own: a SQLite file, or a new database on the test PostgreSQL server."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'store.db'}"
    server = request.getfixturevalue("postgres_url")
    name = f"store_{secrets.token_hex(6)}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name
