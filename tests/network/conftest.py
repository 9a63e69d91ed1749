"""A real validator network for the tests: three go-ethereum clique signers on loopback, started
by the project's own code (``ledger.validators``), with the geth binary built once and cached."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.config import DEFAULT_CONFIG_DIR, Settings
from ledger.ledger import Ledger
from ledger.node import free_port
from ledger.validators import ValidatorNetwork
from tests.conftest import share_build

VALIDATORS = 3


def network_settings(root: Path, *, name: str = "clique-test") -> Settings:
    """Settings for a validator network of its own under `root`: the project's network file
    `clique.json` with free ports, every node's RPC URL for failover."""
    config = root / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config, ignore=shutil.ignore_patterns("deployments"))
    net = json.loads((config / "networks" / "clique.json").read_text())
    net["name"] = name
    net["validators"].update(
        count=VALIDATORS,
        first_rpc_port=_consecutive(),
        first_p2p_port=_consecutive(),
        first_auth_port=_consecutive(),
    )
    first = net["validators"]["first_rpc_port"]
    urls = [f"http://127.0.0.1:{first + k}" for k in range(VALIDATORS)]
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


def _consecutive() -> int:
    """A first port whose next VALIDATORS ports are all free (validators count ports up)."""
    while True:
        base = free_port()
        if base + VALIDATORS > 65_000:
            continue
        try:
            sockets = []
            for k in range(VALIDATORS):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + k))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base


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
    share_build(validator_network.settings)
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
