"""Fixtures of the ledger specifications: an event index per module, a scheme ready for batch
files per test, one member's certified service per session, a vault on a fresh SQLite file, and
a spare chain node for the deployment tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ledger.audit.index.follow import Indexer
from ledger.config import Settings
from ledger.ledger import Ledger
from ledger.store import Vault, init_db, make_engine
from tests.audit_helpers import own_index
from tests.batch_helpers import BatchSetup, new_batch_setup
from tests.certificate_helpers import Service, issued_service
from tests.chain_helpers import make_settings, own_node
from tests.deploy_helpers import settings_beside


@pytest.fixture(scope="module")
def indexer(
    ledger: Ledger, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Indexer]:
    """An index of the session chain in a SQLite file of the module's own, shared by its tests
    (each syncs it)."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with own_index(ledger, f"sqlite:///{tmp_path_factory.mktemp(name) / 'index.db'}") as idx:
        yield idx


@pytest.fixture
def batch(ledger: Ledger) -> BatchSetup:
    """A fresh scheme with its organiser, reviewer and five members, ready for batch files."""
    return new_batch_setup(ledger)


@pytest.fixture(scope="session")
def service(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Service:
    """One member's service over a week two weeks ago and the registrar's certificate of it,
    shared by the certificate specifications (which leave it as they found it)."""
    return issued_service(ledger, tmp_path_factory.mktemp("batches"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "vault.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{db_path}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def vault(engine: Engine, key: bytes) -> Vault:
    return Vault(engine, key)


@pytest.fixture(scope="session")
def spare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A ganache node of the deployment tests' own, nothing deployed by the fixture (each test
    deploys with a deployments directory of its own)."""
    settings = make_settings(tmp_path_factory.mktemp("spare-chain"), "ganache")
    with own_node(settings):
        yield settings


@pytest.fixture
def on_spare(spare: Settings, ledger: Ledger, tmp_path: Path) -> Iterator[Ledger]:
    """A Ledger on the spare node with an empty deployments directory of its own."""
    spare_ledger = Ledger(settings_beside(spare, tmp_path, build_from=ledger.settings))
    yield spare_ledger
    spare_ledger.close()
