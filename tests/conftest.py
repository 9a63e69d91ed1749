"""Fixtures: real chain nodes per session, deployed once; each test gets fresh members and schemes
from ``tests/factories.py``, or earns in a scheme the session shares (``vol``, ``bee``,
``strict``). Chains of a test's own are built with ``tests/chain_helpers.py``; the test-only
contracts that issue and spend points directly are in ``tests/probes.py``.

The shared chain (``ledger``) is an anvil node: about twice as fast per transaction as ganache.
Behaviour that must hold on both nodes takes ``any_ledger`` and runs on ganache
(``ganache_ledger``) and on anvil (``anvil_ledger``); tests of what only ganache does take
``ganache_ledger``. Tests on PostgreSQL too take ``postgres_url`` (a server of their own, started
only when asked for) and make a database there with ``fresh_database``."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import create_engine, text

from ledger.chain.roles import role
from ledger.ledger import Ledger
from scripts.pg_server import pg_bin, postgres_server
from tests.chain_helpers import compile_once, make_settings, own_deployment
from tests.earning_helpers import Earning, shared_scheme
from tests.factories import Member, new_member
from tests.probes import deploy_issuer_probe, deploy_spending_probe

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


# --- the session's chains ------------------------------------------------------------------------


def store_check(database: Path) -> str:
    """SQLite's own check of a store the session's tests shared with the processes they started
    (API servers, the CLI): "ok" when nothing is damaged."""
    if not database.exists():
        return "ok"
    with contextlib.closing(sqlite3.connect(database)) as check:
        return "; ".join(str(row[0]) for row in check.execute("PRAGMA integrity_check"))


def _start(tmp_path_factory: pytest.TempPathFactory, kind: str) -> Iterator[Ledger]:
    """A `kind` node with the contracts deployed, the test probes holding their roles, and a
    registrar and an auditor: a session chain (some contract specifications start their own)."""
    settings = make_settings(tmp_path_factory.mktemp(f"chain-{kind}"), kind)
    compile_once(settings)
    with own_deployment(settings) as (ledger, _):
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
        assert store_check(settings.data_dir / "vpl.db") == "ok", "the session's store is damaged"


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
def issuer(ledger: Ledger) -> LocalAccount:
    """issuer-vol: the issuer of the schemes ``new_scheme`` admits unless told otherwise."""
    return ledger.operator("issuer-vol")


@pytest.fixture
def issuance_role_id() -> bytes:
    return role("issuance").id


# --- fresh members and the earning schemes shared by the session ---------------------------------


@pytest.fixture
def member(ledger: Ledger) -> Member:
    """A freshly registered member with its own key."""
    return new_member(ledger)


@pytest.fixture(scope="module")
def vol(ledger: Ledger) -> Earning:
    """A duration scheme (10 points an hour; A 1.2, B 1.0, C 0.8, D 0.5) with loose limits, set up
    once per session: every test earns in it as its own fresh members."""
    return shared_scheme(ledger, "duration")


@pytest.fixture(scope="module")
def bee(ledger: Ledger) -> Earning:
    """A fixed-point scheme (security_tip_major 100, safety_hazard 50, ...), shared likewise."""
    return shared_scheme(ledger, "fixed")


@pytest.fixture(scope="module")
def strict(ledger: Ledger) -> Earning:
    """Records are on time for two working days after the service; later ones need two reviewers."""
    return shared_scheme(ledger, "late")


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own (``scripts/pg_server.py``: initdb in a temporary directory,
    a free port, a socket in that directory), stopped and deleted at the end of the session."""
    try:
        pg_bin()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    with postgres_server() as server:
        yield server.url


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
