"""Shared by the contract specifications: asserting a refusal, driving the council, events."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.logs import DISCARD

from ledger.chain.accounts import from_mnemonic
from ledger.chain.contracts import Call, ContractClient
from ledger.chain.roles import role
from ledger.chain.tx import TxResult
from ledger.config import DEV_MNEMONIC
from ledger.errors import ContractRevert
from ledger.ledger import Ledger

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = "0x" + "00" * 32
#: OpenZeppelin's DEFAULT_ADMIN_ROLE, as a decoded error argument: the council's role.
COUNCIL_ROLE = ZERO_BYTES32
MAX_UINT128 = 2**128 - 1
#: Indexes of the dev mnemonic that the network file leaves unnamed: funded, holding no role.
SPARE_INDEXES = (16, 17, 18)


def hex32(value: bytes) -> str:
    """A bytes32 as decoded error arguments carry it."""
    return "0x" + bytes(value).hex()


def role_id(name: str) -> str:
    """A role id (REGISTRAR_ROLE, ...) as decoded error arguments carry it."""
    return hex32(role(name).id)


def source() -> bytes:
    """A fresh, non-zero issuance source (stands in for an approved service record)."""
    return secrets.token_bytes(32)


def spare(n: int) -> LocalAccount:
    """The `n`-th funded dev account that no operator uses (a would-be council seat, a stranger)."""
    return from_mnemonic(DEV_MNEMONIC, SPARE_INDEXES[n])


@contextmanager
def reverts(
    kind: type[ContractRevert], error: str, args: dict[str, Any]
) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Expect the contract to refuse with exactly the custom error `error` carrying `args`."""
    with pytest.raises(kind) as info:
        yield info
    assert info.value.error == error, str(info.value)
    assert info.value.args_by_name == args


# --- the council ----------------------------------------------------------------------------------


def council(ledger: Ledger) -> list[LocalAccount]:
    """The council members of the network file, in order."""
    return [ledger.operator(name) for name in ledger.network.council.members]


def open_proposal(ledger: Ledger, calls: Sequence[Call], description: str = "") -> int:
    """A proposal approved by just enough council members to run, but not executed yet.

    The Ledger's pre-check is off: these tests put calls to the contracts' own checks at execution.
    """
    members = council(ledger)
    proposal_id = ledger.propose(
        proposer=members[0], calls=calls, description=description, check=False
    ).proposal.id
    for member in members[1 : ledger.council.threshold()]:
        ledger.approve(member=member, proposal_id=proposal_id)
    return proposal_id


def execute(ledger: Ledger, proposal_id: int) -> TxResult:
    """Execute an approved proposal as the first council member; the receipt of the execution."""
    tx_hash = ledger.execute(member=council(ledger)[0], proposal_id=proposal_id).tx_hash
    assert tx_hash is not None
    return receipt(ledger, tx_hash)


def govern(ledger: Ledger, calls: Sequence[Call], description: str = "") -> TxResult:
    """Propose, approve and execute `calls` (three transactions); the receipt of the execution."""
    return execute(ledger, open_proposal(ledger, calls, description))


# --- transactions and events ---------------------------------------------------------------------


def send(ledger: Ledger, account: LocalAccount, call: Call, *, mined: bool = False) -> TxResult:
    """Send `call` from `account` directly, not through the council.

    With ``mined`` the simulation is skipped (a fixed gas limit), so the transaction is mined and
    the refusal comes from the chain itself, not only from ``eth_estimateGas``.
    """
    return ledger.sender.send(
        account, call.target, call.data, gas=2_000_000 if mined else None, context="direct"
    )


def raw_call(client: ContractClient, fn: str, *args: Any) -> Call:
    """A call encoded straight from the ABI, bypassing the client's own input checks."""
    data = client.contract.encode_abi(fn, args=list(args))
    return Call(target=client.address, data=data, summary=f"raw {fn}")


def receipt(ledger: Ledger, tx_hash: str) -> TxResult:
    """A mined transaction as a TxResult (for its events)."""
    return ledger.sender.wait(tx_hash)


def events(client: ContractClient, result: TxResult, name: str) -> list[dict[str, Any]]:
    """The `name` events `client`'s contract emitted in `result`, as plain dicts."""
    event = getattr(client.contract.events, name)()
    found = event.process_receipt(result.receipt, errors=DISCARD)
    return [{k: _plain(v) for k, v in e["args"].items()} for e in found]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | HexBytes):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
