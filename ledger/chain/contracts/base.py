"""What every typed contract client shares: reads with decoded errors, writes through ``TxSender``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from eth_utils.abi import get_abi_output_types
from web3 import Web3
from web3._utils.abi import map_abi_data
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    MismatchedABI,
    Web3ValidationError,
)
from web3.logs import DISCARD
from web3.types import EventData

from ledger.chain.connection import batch_calls
from ledger.chain.tx import Sent, Signer, TxResult, TxSender
from ledger.errors import InputError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Struct = TypeVar("_Struct", bound="DataclassInstance")

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def _out_of_range(fn: str, args: tuple[Any, ...]) -> InputError:
    """A value the contract's types cannot hold (a negative id, a number past uint256): bad input,
    said plainly instead of web3's ABI-matching report."""
    shown = ", ".join(repr(a) if isinstance(a, int | str) else type(a).__name__ for a in args)
    return InputError(f"{fn}({shown}): a value is out of range for the contract's types")


def optional_address(value: str) -> str | None:
    """An address a contract returned, None for the zero address (none set)."""
    return None if int(value, 16) == 0 else Web3.to_checksum_address(value)


def from_struct(cls: type[_Struct], raw: Sequence[Any], **known: Any) -> _Struct:
    """The dataclass `cls` from a struct a contract returned: its fields other than those `known`
    are the struct's, in the struct's order, each converted by its type: ``int``, ``bool``,
    ``bytes``, an ``IntEnum``; ``str`` is an address (checksummed), ``str | None`` an address that
    is None when zero."""
    names = [f.name for f in fields(cls) if f.name not in known]
    kinds = _field_types(cls)
    values = {n: _converted(kinds[n], value) for n, value in zip(names, raw, strict=True)}
    return cls(**known, **values)


@cache
def _field_types(cls: type[DataclassInstance]) -> dict[str, Any]:
    return get_type_hints(cls)


def _converted(kind: Any, value: Any) -> Any:
    if kind == str | None:
        return optional_address(value)
    if kind is str:
        return Web3.to_checksum_address(value)
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        return kind(int(value))
    if kind in (int, bool, bytes):
        return kind(value)
    raise TypeError(f"no conversion from a contract's struct to {kind}")


@dataclass(frozen=True)
class Call:
    """One contract call, as a council proposal carries it."""

    target: str
    data: str
    summary: str


class ContractClient:
    """A deployed contract: python names and types over its ABI."""

    def __init__(
        self, w3: Web3, sender: TxSender, address: str, abi: Sequence[dict[str, Any]]
    ) -> None:
        self.w3 = w3
        self.sender = sender
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=list(abi))

    def _read(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, fn)(*args).call()
        except (ContractCustomError, ContractLogicError) as exc:
            data = exc.data if isinstance(exc.data, str) else None
            raise self.sender.decoder.decode(data, context=fn) from None
        except (MismatchedABI, Web3ValidationError):
            raise _out_of_range(fn, args) from None

    def _read_many(self, fn: str, args: Sequence[Sequence[Any]]) -> list[Any]:
        """``_read`` of `fn` once per argument list, in JSON-RPC batches: one round trip per 500
        reads instead of one per read (a read that reverts raises ChainError)."""
        if not args:
            return []
        function = getattr(self.contract.functions, fn)
        types = get_abi_output_types(function(*args[0]).abi)
        calls = [
            (str(self.address), bytes.fromhex(function(*a)._encode_transaction_data()[2:]))
            for a in args
        ]
        out = []
        for raw in batch_calls(self.w3, calls):
            values = map_abi_data(BASE_RETURN_NORMALIZERS, types, self.w3.codec.decode(types, raw))
            out.append(values[0] if len(values) == 1 else values)
        return out

    def _encode(self, fn: str, *args: Any) -> str:
        try:
            data: str = self.contract.encode_abi(fn, args=list(args))
        except (MismatchedABI, Web3ValidationError):
            raise _out_of_range(fn, args) from None
        return data

    def _write(self, account: Signer, fn: str, *args: Any, gas: int | None = None) -> TxResult:
        return self.sender.send(account, self.address, self._encode(fn, *args), gas=gas, context=fn)

    def _start(self, account: Signer, fn: str, *args: Any, gas: int | None = None) -> Sent:
        """``_write`` without waiting for the receipt (``TxSender.submit``)."""
        return self.sender.submit(
            account, self.address, self._encode(fn, *args), gas=gas, context=fn
        )

    def _call(self, fn: str, *args: Any, summary: str) -> Call:
        return Call(target=self.address, data=self._encode(fn, *args), summary=summary)

    def _events(self, result: TxResult, event: str) -> list[EventData]:
        return list(
            getattr(self.contract.events, event)().process_receipt(result.receipt, errors=DISCARD)
        )

    def role(self, constant: str) -> bytes:
        """A role id constant of this contract (e.g. REGISTRAR_ROLE)."""
        value: bytes = self._read(constant)
        return value

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(self._read("hasRole", role, account))

    def grant_role_call(self, role: bytes, account: str, summary: str) -> Call:
        return self._call("grantRole", role, account, summary=summary)

    def revoke_role_call(self, role: bytes, account: str, summary: str) -> Call:
        return self._call("revokeRole", role, account, summary=summary)
