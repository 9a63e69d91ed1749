"""ledger.chain.deploy on a chain that is not the manifest's: a brand-new chain, another
deployment's chain, a development chain restarted (its state saved or lost)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes
from web3 import Web3

from ledger.chain import deploy
from ledger.chain.deploy import CONTRACTS, rollout
from ledger.chain.node import LocalNode
from ledger.errors import ForeignCode
from ledger.ledger import Ledger
from tests.chain_helpers import anvil_saved_block, exited, make_settings, own_node, wait_until
from tests.deploy_helpers import (
    chain_state,
    deploy_foreign_code,
    edited,
    settings_beside,
    with_addresses,
)
from tests.factories import new_scheme

# --- deploying onto a chain that is not the manifest's -------------------------------------------


@pytest.fixture
def on_new_chain(ledger: Ledger, tmp_path: Path) -> Iterator[Ledger]:
    """A Ledger on a brand-new anvil node of its own (nothing ever deployed there)."""
    settings = make_settings(tmp_path / "node", "anvil")
    with own_node(settings):
        fresh = Ledger(settings_beside(settings, tmp_path, build_from=ledger.settings))
        try:
            yield fresh
        finally:
            fresh.close()


def test_deploy_on_a_reset_development_chain_deploys_afresh_and_keeps_the_old_manifest(
    on_new_chain: Ledger, ledger: Ledger
) -> None:
    """A development chain started anew (other genesis, none of the contracts there): `vpl up`
    after deleting the data directory must work, so deploy starts over and keeps the old file."""
    path = deploy.manifest_path(on_new_chain.settings)
    path.parent.mkdir(parents=True)
    text = ledger.manifest.model_dump_json()  # written for the session chain, not the spare one
    path.write_text(text, encoding="utf-8")
    assert not any(
        on_new_chain.w3.eth.get_code(Web3.to_checksum_address(c.address))
        for c in ledger.manifest.contracts.values()
    )

    on_new_chain.vault  # noqa: B018 - the store of the old deployment exists
    database = on_new_chain.settings.data_dir / "vpl.db"
    assert database.exists()

    outcome = on_new_chain.deploy()

    assert outcome.created
    assert outcome.replaced is not None and outcome.replaced.exists()
    assert not database.exists(), "the old deployment's store is set aside, not reused"
    assert list(database.parent.glob("vpl.reset-*.db"))
    assert outcome.manifest.genesis_hash != ledger.manifest.genesis_hash
    kept = [p for p in path.parent.iterdir() if p != path]
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == text
    deploy.verify(on_new_chain.w3, outcome.manifest, on_new_chain.build)


def test_deploy_onto_foreign_code_at_the_manifest_addresses_fails_and_changes_nothing(
    on_spare: Ledger, ledger: Ledger
) -> None:
    foreign = {name: deploy_foreign_code(on_spare.w3) for name in CONTRACTS}
    first = on_spare.w3.eth.get_block(1)  # this chain's own block: only the code is foreign
    manifest = with_addresses(
        edited(ledger.manifest, deploy_block=1, deploy_block_hash=first["hash"].to_0x_hex()),
        foreign,
    )
    path = deploy.manifest_path(on_spare.settings)
    path.parent.mkdir(parents=True)
    path.write_text(manifest.model_dump_json(), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    before = chain_state(on_spare)

    with pytest.raises(ForeignCode) as info:
        on_spare.deploy()

    assert str(info.value) == (
        f"the code at Forwarder's address {foreign['Forwarder']} is not the code deployed there; "
        "refusing to use a chain with foreign code"
    )
    assert chain_state(on_spare) == before
    assert path.read_text(encoding="utf-8") == text
    assert list(path.parent.iterdir()) == [path]


def test_an_interrupted_deployment_resumes_without_deploying_twice(
    on_new_chain: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between handing admin to the council and renouncing the deployer's must not leave
    the deployer in charge: running deploy again finishes the handover with the same contracts."""
    real_submit = on_new_chain.sender.submit
    calls: list[str] = []

    def crash_at_first_renounce(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("context", ""))
        if kwargs.get("context") == "renounceRole":
            raise RuntimeError("power cut")
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(on_new_chain.sender, "submit", crash_at_first_renounce)
    with pytest.raises(RuntimeError, match="power cut"):
        on_new_chain.deploy()
    monkeypatch.undo()
    path = deploy.manifest_path(on_new_chain.settings)
    partial = path.with_suffix(".partial.json")
    assert not path.exists() and partial.exists()
    left = rollout._Progress.model_validate_json(partial.read_text(encoding="utf-8")).contracts
    assert set(left) == set(CONTRACTS)

    outcome = on_new_chain.deploy()

    assert outcome.created
    assert {n: c.address for n, c in outcome.manifest.contracts.items()} == {
        n: c.address for n, c in left.items()
    }
    assert not partial.exists()
    deploy.verify(on_new_chain.w3, outcome.manifest, on_new_chain.build)  # deployer renounced


# --- a development chain restarted ---------------------------------------------------------------

#: Longer than the chains the defect was first seen on (it shows after 1,500-2,000 blocks).
LONG_CHAIN_BLOCKS = 2500
#: Restarts tried until anvil reports another genesis: after the k-th it keeps the first one with
#: a chance of 1/k, so twelve in a row without a change happen about once in 500 million runs.
MAX_RESTARTS = 12


def genesis_hash(w3: Web3) -> str:
    return HexBytes(w3.eth.get_block(0)["hash"]).to_0x_hex()


def kill_hard(node: LocalNode, w3: Web3) -> None:
    """kill -9 the node once its state file holds its newest block (a block mined just now)."""
    w3.provider.make_request("anvil_mine", ["0x1"])  # type: ignore[arg-type]
    newest = w3.eth.block_number
    wait_until(lambda: anvil_saved_block(node.data_dir / "anvil-state.json") >= newest)
    pid = node.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: exited(pid))


def test_a_long_anvil_chain_restarted_is_still_the_deployments_chain(
    ledger: Ledger, tmp_path: Path
) -> None:
    """anvil 1.7 makes a new genesis block at each start and saves every one in its state file, in
    no set order, so a restarted chain (stopped or killed) may report another genesis though its
    history, code and balances are intact. The chain id, the deployment block's hash and the code
    at the manifest's addresses still prove it is the deployment's chain: the ledger works on."""
    node_settings = make_settings(tmp_path / "node", "anvil")
    with own_node(node_settings) as node:
        settings = settings_beside(node_settings, tmp_path, build_from=ledger.settings)
        first = Ledger(settings)
        manifest = first.deploy().manifest
        before = new_scheme(first)
        first.w3.provider.make_request("anvil_mine", [hex(LONG_CHAIN_BLOCKS)])  # type: ignore[arg-type]
        length = first.w3.eth.block_number
        assert length > LONG_CHAIN_BLOCKS
        w3 = first.w3
        for restart in range(1, MAX_RESTARTS + 1):
            if restart % 2:
                node.stop()
            else:
                kill_hard(node, w3)
            node.start()
            if restart >= 2 and genesis_hash(w3) != manifest.genesis_hash:
                break
        first.close()

        assert genesis_hash(w3) != manifest.genesis_hash, "anvil kept its genesis: no case shown"
        assert w3.eth.block_number >= length
        deploy_block = w3.eth.get_block(manifest.deploy_block)
        assert HexBytes(deploy_block["hash"]).to_0x_hex() == manifest.deploy_block_hash
        old_style = edited(manifest, deploy_block_hash=None)  # identified by the genesis, as before
        with pytest.raises(ForeignCode, match="this chain is not the one the manifest was written"):
            deploy.verify(w3, old_style)

        again = Ledger(settings)
        try:
            deploy.verify(again.w3, manifest, again.build)
            assert again.deploy().created is False
            assert again.scheme(before.code) == before
            after = new_scheme(again)
            assert again.scheme(after.code).id == before.id + 1
        finally:
            again.close()
