"""Helpers of the deployment tests (tests/ledger/test_deploy*.py): manifests edited, foreign
code put on a chain, settings beside a node's own, and the chain state that shows nothing was
sent."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from web3 import Web3

from ledger.chain.accounts import from_mnemonic
from ledger.chain.deploy import Manifest
from ledger.config import DEV_MNEMONIC, Settings
from ledger.ledger import Ledger

#: Init code that deploys a contract returning 42 to any call: code that is not ours.
FOREIGN_INIT_CODE = "0x600a600c600039600a6000f3602a60005260206000f3"
#: A development account no operator uses: it deploys the foreign code.
STRANGER_INDEX = 18
#: What a deployment consists of, spelled out (CONTRACTS is the code's own list).
EVERY_CONTRACT = (
    "Forwarder", "Council", "SchemeRegistry", "MemberRegistry", "PointsLedger", "EarningRules",
    "Activities", "ServiceRecords", "Exchange", "Catalogue", "TimeBank", "Gifts", "StoreAnchors",
)  # fmt: skip


def edited(manifest: Manifest, **changes: object) -> Manifest:
    """A deep copy of `manifest` with top-level fields changed."""
    return manifest.model_copy(deep=True, update=changes)


def with_addresses(manifest: Manifest, addresses: dict[str, str]) -> Manifest:
    """A copy whose contracts sit at other addresses (everything else as recorded)."""
    copy = edited(manifest)
    for name, address in addresses.items():
        copy.contracts[name] = copy.contracts[name].model_copy(update={"address": address})
    return copy


def deploy_foreign_code(w3: Web3) -> str:
    """Put a contract that is not ours on the chain; its address."""
    stranger = from_mnemonic(DEV_MNEMONIC, STRANGER_INDEX)
    tx: dict[str, Any] = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(stranger.address, "pending"),
        "data": FOREIGN_INIT_CODE,
        "value": 0,
        "gas": 100_000,
        "gasPrice": w3.eth.gas_price,
    }
    signed = stranger.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1
    address = receipt["contractAddress"]
    assert address is not None
    assert w3.eth.get_code(address) == HexBytes("0x602a60005260206000f3")
    return str(address)


def settings_beside(node: Settings, root: Path, *, build_from: Settings) -> Settings:
    """Settings for `node`'s chain with a deployments directory and data directory of their own.

    The compiled build is copied over so that nothing is compiled again.
    """
    settings = Settings(
        data_dir=root / "data",
        deployments_dir=root / "deployments",
        rpc_url=node.network_config.rpc_url,
        vault_key=None,
        commitment_key=None,
    )
    shutil.copytree(build_from.build_dir, settings.build_dir, dirs_exist_ok=True)
    return settings


def chain_state(ledger: Ledger) -> tuple[int, int]:
    """The block number and the deployer's nonce: both unchanged means nothing was sent."""
    deployer = ledger.operator("deployer").address
    return ledger.w3.eth.block_number, ledger.w3.eth.get_transaction_count(deployer, "pending")
