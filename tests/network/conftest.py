"""A real validator network for the tests: three go-ethereum clique signers on loopback, started
by the project's own code (``ledger.chain.validators``), with the geth binary built once and cached."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner, Result

from ledger.chain.validators import ValidatorNetwork, throwaway_settings
from ledger.config import Settings
from ledger.ledger import Ledger
from scripts.cli import app
from tests.chain_helpers import compile_once

VALIDATORS = 3


def network_settings(root: Path, *, name: str = "clique-test") -> Settings:
    """Settings for a validator network of its own under `root` (free ports, failover URLs)."""
    return throwaway_settings(root, name=name, count=VALIDATORS)


def rpc(url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC request to one node; its result (None for an error)."""
    answer = requests.post(url, timeout=10, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                  "params": params}).json()  # fmt: skip
    return answer.get("result")


@contextlib.contextmanager
def own_network(
    root: Path, name: str, count: int, **validators: Any
) -> Iterator[tuple[ValidatorNetwork, Ledger]]:
    """A validator network of a test module's own under `root` (`validators` overrides its
    network file's ``validators`` settings) and a Ledger on it; both stopped at the end."""
    settings = throwaway_settings(root, name=name, count=count)
    path = settings.config_dir / "networks" / f"{name}.json"
    net = json.loads(path.read_text())
    net["validators"].update(validators)
    path.write_text(json.dumps(net))
    network = ValidatorNetwork(settings)
    network.up()
    compile_once(settings)  # the revert decoder reads the contracts' build
    ledger = Ledger(settings)
    try:
        yield network, ledger
    finally:
        ledger.close()
        network.down()


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
