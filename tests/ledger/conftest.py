"""Fixtures of the ledger specifications: an event index per module, a scheme ready for batch
files per test, and one member's certified service per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.audit.index.follow import Indexer
from ledger.ledger import Ledger
from tests.audit_helpers import own_index
from tests.batch_helpers import BatchSetup, new_batch_setup
from tests.certificate_helpers import Service, issued_service


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
