"""The test-only contracts (tests/solidity) that stand in for a contract holding a role: the
IssuerProbe holds ISSUANCE_ROLE (points issued straight through PointsLedger.issue), the
SpendingProbe SPENDING_ROLE; both owned by `minter()`."""

from __future__ import annotations

from pathlib import Path

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector

from ledger.chain import compiler
from ledger.chain.accounts import from_mnemonic
from ledger.chain.contracts import ContractClient
from ledger.chain.tx import TxResult
from ledger.config import DEV_MNEMONIC
from ledger.ledger import Ledger

#: Deploys and owns the test-only IssuerProbe that holds ISSUANCE_ROLE (see tests/solidity).
TEST_MINTER_INDEX = 19

PROBE_SOURCES = Path(__file__).parent / "solidity"

#: IssuerProbe address per deployed ledger (keyed by the PointsLedger address).
_PROBES: dict[str, str] = {}

#: SpendingProbe address per deployed ledger (keyed by the PointsLedger address).
_SPENDING_PROBES: dict[str, str] = {}


def minter() -> LocalAccount:
    """The key that owns the IssuerProbe (itself it holds no role)."""
    return from_mnemonic(DEV_MNEMONIC, TEST_MINTER_INDEX)


def deploy_issuer_probe(ledger: Ledger) -> str:
    """Deploy the test-only IssuerProbe for `ledger` (owned by `minter()`); returns its address."""
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    artifact = build.get("IssuerProbe")
    data = artifact.bytecode + abi_encode(["address"], [ledger.points.address]).hex()
    address, _ = ledger.sender.deploy(minter(), data, context="deploy IssuerProbe")
    _PROBES[ledger.points.address] = address
    return address


def probe_address(ledger: Ledger) -> str:
    return _PROBES[ledger.points.address]


def deploy_spending_probe(ledger: Ledger) -> str:
    """Deploy a test-only SpendingProbe for `ledger` (owned by `minter()`); the first one deployed
    for a ledger is the one the session's council grants SPENDING_ROLE (``spending_probe``)."""
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    artifact = build.get("SpendingProbe")
    data = artifact.bytecode + abi_encode(["address"], [ledger.points.address]).hex()
    address, _ = ledger.sender.deploy(minter(), data, context="deploy SpendingProbe")
    _SPENDING_PROBES.setdefault(ledger.points.address, address)
    return address


def spending_probe(ledger: Ledger) -> ContractClient:
    """The SpendingProbe holding SPENDING_ROLE on `ledger`, as a client (sign with `minter()`)."""
    return probe_client(ledger, _SPENDING_PROBES[ledger.points.address])


def probe_client(ledger: Ledger, address: str) -> ContractClient:
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    return ContractClient(ledger.w3, ledger.sender, address, build.get("SpendingProbe").abi)


def issue_points(
    ledger: Ledger, member: str, scheme_id: int, amount: int, source: bytes
) -> TxResult:
    """Issue points straight through PointsLedger.issue, as a contract holding ISSUANCE_ROLE."""
    data = (
        "0x"
        + (
            function_signature_to_4byte_selector("issue(address,uint256,uint256,bytes32)")
            + abi_encode(
                ["address", "uint256", "uint256", "bytes32"], [member, scheme_id, amount, source]
            )
        ).hex()
    )
    return ledger.sender.send(minter(), probe_address(ledger), data, context="issue")
