"""Shared by the contract specifications: values as decoded errors carry them, spare accounts,
sending transactions directly and reading their events (asserting refusals: ``refusals``; driving
the council: ``governance``)."""

from __future__ import annotations

import secrets
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.logs import DISCARD

from ledger.chain.accounts import from_mnemonic
from ledger.chain.contracts import Call, ContractClient, Standing
from ledger.chain.roles import role
from ledger.chain.tx import TxResult
from ledger.config import DEV_MNEMONIC
from ledger.ledger import Ledger

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = "0x" + "00" * 32
#: OpenZeppelin's DEFAULT_ADMIN_ROLE, as a decoded error argument: the council's role.
COUNCIL_ROLE = ZERO_BYTES32
MAX_UINT128 = 2**128 - 1
#: The largest balance a member's account word holds (PointsLedger.MAX_BALANCE): the most points
#: one amount may carry.
MAX_BALANCE = 2**88 - 1
#: Indexes of the dev mnemonic that the network file leaves unnamed: funded, holding no role.
SPARE_INDEXES = (16, 17, 18)
#: An account word never written: no balance, no earning standing (every field zero).
NO_STANDING = Standing(0, 0, 0, 0, 0, 0, 0, 0)


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
