"""web3 made cheaper where a relayed write spends most: its check of a whole ABI runs once per ABI
(``ledger.chain.abi_cache``; a bad ABI is still refused every time), and Keccak runs through
pysha3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import web3.utils.abi as web3_abi
from web3 import Web3
from web3.exceptions import Web3ValueError

from ledger.chain import abi_cache
from ledger.ledger import Ledger

TRANSFER = {
    "type": "function",
    "name": "transfer",
    "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
    "outputs": [],
    "stateMutability": "nonpayable",
}


def test_an_abi_is_checked_once_and_encodes_as_before(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    abi_cache.install()
    checked: list[int] = []
    original = abi_cache._original
    assert original is not None

    def counting(abi: Any) -> None:
        checked.append(id(abi))
        original(abi)

    monkeypatch.setattr(abi_cache, "_original", counting)
    abi = [dict(TRANSFER)]
    token = Web3().eth.contract(address=ledger.points.address, abi=abi)
    to = ledger.operator("relayer").address
    encoded = {token.encode_abi("transfer", args=[to, n]) for n in (1, 1, 1)}
    assert len(encoded) == 1
    assert encoded.pop().startswith("0xa9059cbb")  # transfer(address,uint256)
    assert checked.count(id(abi)) == 1  # not once per call


def test_an_abi_with_colliding_selectors_is_refused_every_time() -> None:
    abi_cache.install()
    # two functions with one selector: web3 refuses such an ABI, and the refusal is never remembered
    clash = [
        {**TRANSFER, "name": "tgeo", "inputs": []},
        {**TRANSFER, "name": "gsf", "inputs": []},
    ]
    for _ in range(2):
        with pytest.raises(Web3ValueError, match="colliding selectors"):
            web3_abi.validate_abi(clash)


def test_keccak_runs_through_pysha3_in_the_api_and_the_cli() -> None:
    """The faster hashing backend is chosen before anything hashes (a fresh interpreter)."""
    probe = (
        "import {module}\n"
        "from eth_utils import keccak\n"
        "keccak(b'')\n"
        "import eth_hash.auto\n"
        "print(type(eth_hash.auto.keccak.hasher.__self__).__name__)\n"
    )
    for module in ("api.app", "scripts.cli"):
        out = subprocess.run(
            [sys.executable, "-c", probe.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert out.stdout.strip() == "PySha3Backend", (module, out.stdout, out.stderr)
