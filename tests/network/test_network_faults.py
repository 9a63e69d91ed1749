"""Bad network files and faults on a validator network: each a clear error with exit code 4 or 5
from the CLI, and nothing written (no manifest, no store, no transaction, no node started).

A network file naming nodes that do not answer; a node of another chain id; a manifest made on
another chain (another genesis) with the same chain id; a validator whose key file is gone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from typer.testing import Result

from ledger.chain.deploy import manifest_path
from ledger.chain.validators import ValidatorNetwork, throwaway_settings
from ledger.config import Settings
from ledger.ledger import Ledger
from tests.network.conftest import vpl


def fails(result: Result, code: int, message: str) -> None:
    """Exit ``code`` and an ``error:`` line with ``message`` on stderr (after any warnings the
    run printed, such as failing over between nodes), without a traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "\nerror: " in "\n" + result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def written(settings: Settings) -> list[str]:
    """Every file under the deployments and data directories, except the validators' own and
    the compiler's cache (the contracts compiled, not a state of the ledger)."""
    found: list[str] = []
    for root in (settings.resolved_deployments_dir, settings.data_dir):
        if root.exists():
            found += [
                str(p.relative_to(root))
                for p in root.rglob("*")
                if p.is_file() and not {"validators", "build"} & set(p.relative_to(root).parts)
            ]
    return sorted(found)


def edit_network(settings: Settings, **changes: object) -> None:
    path = settings.config_dir / "networks" / f"{settings.network}.json"
    net = json.loads(path.read_text())
    net.update(changes)
    path.write_text(json.dumps(net))


@pytest.fixture
def other_network(tmp_path: Path) -> Iterator[ValidatorNetwork]:
    """A second validator network (another genesis, the same chain id as the session's), set up
    like a production network (not development: nothing is redeployed silently)."""
    settings = throwaway_settings(tmp_path, name="other", count=1)
    network = ValidatorNetwork(settings)
    try:
        network.up()
        edit_network(settings, development=False)
        yield network
    finally:
        network.down()


def test_a_network_file_naming_nodes_that_do_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = throwaway_settings(tmp_path, name="silent", count=3)  # never started
    urls = [settings.network_config.rpc_url, *settings.network_config.rpc_urls]

    result = vpl(settings, monkeypatch, "deploy")

    fails(result, 4, "no chain node answers at any of")
    assert all(url in result.stderr for url in urls)
    assert "vpl network up" in result.stderr
    assert written(settings) == []


def test_a_node_of_another_chain_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validator_network: ValidatorNetwork
) -> None:
    settings = throwaway_settings(tmp_path, name="elsewhere", count=1)
    session = validator_network.settings.network_config
    edit_network(settings, chain_id=session.chain_id + 1, rpc_url=session.rpc_url, rpc_urls=[])

    result = vpl(settings, monkeypatch, "deploy")

    fails(result, 4, f"runs chain id {session.chain_id}, but network 'elsewhere' expects")
    assert written(settings) == []


def test_a_manifest_made_on_another_genesis_is_refused_and_nothing_is_deployed(
    monkeypatch: pytest.MonkeyPatch, network_ledger: Ledger, other_network: ValidatorNetwork
) -> None:
    """The other network has the same chain id, but not the session network's genesis: the
    manifest copied over from the session network names contracts that are not there."""
    settings = other_network.settings
    manifest = manifest_path(settings)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest_path(network_ledger.settings), manifest)
    before = manifest.read_bytes()
    deployer = network_ledger.operator("deployer").address
    node = other_network.validator(1).rpc_url

    for command in (["deploy"], ["scheme", "list"]):
        result = vpl(settings, monkeypatch, *command)

        fails(result, 5, "this chain is not the one the manifest was written for")
        assert manifest.read_bytes() == before
        assert written(settings) == [manifest.name]
        assert _nonce(node, deployer) == 0, "nothing was sent"


def test_a_validator_whose_key_is_gone_is_refused_and_none_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = throwaway_settings(tmp_path, name="keyless", count=3)
    network = ValidatorNetwork(settings)
    network.create()
    second = network.validator(2)
    shutil.rmtree(second.directory / "keystore")

    result = vpl(settings, monkeypatch, "network", "up")

    fails(result, 4, f"validator 2 cannot seal: no key file for its signer {second.address}")
    assert not any(s.running for s in network.status())
    # another validator's key in its place is not its own
    shutil.copytree(network.validator(1).directory / "keystore", second.directory / "keystore")
    result = vpl(settings, monkeypatch, "network", "start-node", "2")
    fails(result, 4, "validator 2 cannot seal")
    assert not any(s.running for s in network.status())


def _nonce(url: str, address: str) -> int:
    answer = requests.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getTransactionCount",
            "params": [address, "latest"],
        },
        timeout=10,
    ).json()
    return int(answer["result"], 16)
