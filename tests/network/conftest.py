"""A real validator network for the tests: three go-ethereum clique signers on loopback, started
by the project's own code (``ledger.validators``), with the geth binary built once and cached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ledger.config import Settings
from ledger.ledger import Ledger
from ledger.validators import ValidatorNetwork, throwaway_settings
from scripts.cli import app
from tests.conftest import compile_once

VALIDATORS = 3


def network_settings(root: Path, *, name: str = "clique-test") -> Settings:
    """Settings for a validator network of its own under `root` (free ports, failover URLs)."""
    return throwaway_settings(root, name=name, count=VALIDATORS)


@pytest.fixture(scope="session")
def validator_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValidatorNetwork]:
    """Three clique validators, up and peered; stopped at the end of the session."""
    settings = network_settings(tmp_path_factory.mktemp("validators"))
    network = ValidatorNetwork(settings)
    try:
        network.up()
        yield network
    finally:
        network.down()


@pytest.fixture(scope="session")
def network_ledger(validator_network: ValidatorNetwork) -> Iterator[Ledger]:
    """The contracts deployed on the validator network."""
    compile_once(validator_network.settings)
    ledger = Ledger(validator_network.settings)
    try:
        ledger.deploy()
        registrar = ledger.operator("registrar").address
        ledger.govern(
            [ledger.role_call(role_name="registrar", account=registrar, grant=True)],
            "a registrar on the validator network",
        )
        yield ledger
    finally:
        ledger.close()


def vpl(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """The CLI in-process, configured by environment variables as an operator would."""
    with monkeypatch.context() as env:
        for name, value in {
            "VPL_NETWORK": settings.network,
            "VPL_CONFIG_DIR": settings.config_dir,
            "VPL_DATA_DIR": settings.data_dir,
            "VPL_DEPLOYMENTS_DIR": settings.resolved_deployments_dir,
        }.items():
            env.setenv(name, str(value))
        env.delenv("VPL_RPC_URL", raising=False)
        return CliRunner().invoke(app, list(args))
