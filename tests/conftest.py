"""Fixtures: a real chain node per session (ganache by default, anvil for the smoke run), deployed
once; each test gets fresh members and schemes from ``tests/factories.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.accounts import from_mnemonic
from ledger.config import DEV_MNEMONIC, Settings
from ledger.ledger import Ledger
from ledger.node import LocalNode, free_port
from ledger.roles import role

#: Stands in for the contracts that will hold ISSUANCE_ROLE (service records, exchange).
TEST_MINTER_INDEX = 19


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


def _start(tmp_path_factory: pytest.TempPathFactory, kind: str) -> Iterator[Ledger]:
    settings = make_settings(tmp_path_factory.mktemp(f"chain-{kind}"), kind)
    node = LocalNode(settings)
    node.start()
    ledger = Ledger(settings)
    try:
        ledger.deploy()
        calls = [
            ledger.role_call(
                role_name="registrar", account=ledger.operator("registrar").address, grant=True
            ),
            ledger.role_call(
                role_name="auditor", account=ledger.operator("auditor").address, grant=True
            ),
            ledger.role_call(role_name="issuance", account=minter().address, grant=True),
        ]
        ledger.govern(calls, "test bootstrap")
        yield ledger
    finally:
        ledger.close()
        node.stop()


def minter() -> LocalAccount:
    return from_mnemonic(DEV_MNEMONIC, TEST_MINTER_INDEX)


@pytest.fixture(scope="session")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A deployed ledger on a ganache node the suite starts itself."""
    yield from _start(tmp_path_factory, "ganache")


@pytest.fixture(scope="session")
def anvil_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The same, on anvil."""
    yield from _start(tmp_path_factory, "anvil")


@pytest.fixture(params=["ganache", pytest.param("anvil", marks=pytest.mark.anvil)])
def any_ledger(request: pytest.FixtureRequest) -> Ledger:
    """Runs a test once per node kind: behaviour shared by ganache and anvil."""
    return request.getfixturevalue("ledger" if request.param == "ganache" else "anvil_ledger")


@pytest.fixture
def registrar(ledger: Ledger) -> LocalAccount:
    return ledger.operator("registrar")


@pytest.fixture
def issuance_role_id() -> bytes:
    return role("issuance").id
