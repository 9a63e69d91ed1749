"""What every typed contract client shares: reads with decoded errors, writes through ``TxSender``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from eth_abi.exceptions import EncodingError
from eth_typing import HexStr
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_output_types
from web3 import Web3
from web3._utils.abi import map_abi_data
from web3._utils.contracts import encode_abi
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    MismatchedABI,
    Web3TypeError,
    Web3ValidationError,
)
from web3.logs import DISCARD
from web3.types import EventData

from ledger.chain.connection import batch_calls
from ledger.chain.tx import Sent, Signer, TxResult, TxSender
from ledger.errors import ChainError, InputError

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
class _Function:
    """A function of a contract's ABI that has one signature (no overloads), ready to encode and
    decode without looking it up again."""

    abi: Any
    selector: HexStr
    outputs: tuple[str, ...]


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
        self._functions: dict[str, _Function | None] = {}

    def _function(self, fn: str) -> _Function | None:
        """`fn` of the ABI, found once; None when it is overloaded (web3 picks by the arguments).

        Reads and writes encode through it, and reads go out as raw ``eth_call``s: web3's own way
        finds the function in the ABI again on every call and asks the node for its chain id
        first, about half of a read's time in a busy API (measured with py-spy)."""
        if fn in self._functions:
            return self._functions[fn]
        abi: list[Any] = list(self.contract.abi)
        found = [e for e in abi if e.get("type") == "function" and e.get("name") == fn]
        spec = None
        if len(found) == 1:
            selector = HexStr("0x" + function_abi_to_4byte_selector(found[0]).hex())
            spec = _Function(found[0], selector, tuple(get_abi_output_types(found[0])))
        self._functions[fn] = spec
        return spec

    def _read(self, fn: str, *args: Any) -> Any:
        spec = self._function(fn)
        if spec is not None:
            raw = self.sender.call(self.address, self._encode(fn, *args), context=fn)
            return self._decoded(fn, spec.outputs, raw)
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
        return self._read_each([(fn, a) for a in args])

    def _read_each(self, reads: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several reads of this contract, of any functions (`fn`, args), in JSON-RPC batches."""
        if not reads:
            return []
        calls = [(str(self.address), bytes.fromhex(self._encode(fn, *a)[2:])) for fn, a in reads]
        return [
            self._decoded(fn, self._outputs(fn, a), raw)
            for (fn, a), raw in zip(reads, batch_calls(self.w3, calls), strict=True)
        ]

    def _outputs(self, fn: str, args: Sequence[Any]) -> tuple[str, ...]:
        """The types `fn` returns (an overloaded one: of the function web3 picks for `args`)."""
        spec = self._function(fn)
        if spec is not None:
            return spec.outputs
        return tuple(get_abi_output_types(getattr(self.contract.functions, fn)(*args).abi))

    def _decoded(self, fn: str, types: tuple[str, ...], raw: bytes) -> Any:
        """A read's answer as web3 gives it: addresses checksummed, one value bare, else a list."""
        if not raw and types:
            raise ChainError(
                f"{fn} of the contract at {self.address} answered nothing: is it deployed on "
                "this chain? (`vpl deploy` deploys the contracts)"
            )
        values = map_abi_data(BASE_RETURN_NORMALIZERS, types, self.w3.codec.decode(types, raw))
        return values[0] if len(values) == 1 else values

    def _encode(self, fn: str, *args: Any) -> str:
        spec = self._function(fn)
        try:
            if spec is not None:
                return str(encode_abi(self.w3, spec.abi, args, spec.selector))
            data: str = self.contract.encode_abi(fn, args=list(args))
        except (MismatchedABI, Web3ValidationError, Web3TypeError, EncodingError):
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
