"""Turns revert data from any of our contracts into a typed ``ContractRevert`` with a clear message.

This is the one place custom errors are decoded; the API and the CLI only translate the result. What
each error means for a person is in ``ledger.chain.revert_messages``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from ledger import errors
from ledger.chain.revert_messages import message
from ledger.errors import ContractRevert, TransactionFailed

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)

_PANICS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x32: "array index out of bounds",
    0x41: "out of memory",
}


@dataclass(frozen=True)
class _ErrorAbi:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


def _error_class(name: str) -> type[ContractRevert]:
    for obj in vars(errors).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, ContractRevert)
            and name in getattr(obj, "solidity_errors", ())
        ):
            return obj
    return ContractRevert


def _canonical_type(entry: Mapping[str, Any]) -> str:
    kind: str = entry["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in entry["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


class RevertDecoder:
    """Decodes revert data using the custom errors of a set of ABIs."""

    def __init__(
        self, abis: Iterable[Iterable[Mapping[str, Any]]], role_names: Mapping[bytes, str]
    ):
        self._errors: dict[bytes, _ErrorAbi] = {}
        self._role_names = dict(role_names)
        for abi in abis:
            for entry in abi:
                if entry.get("type") != "error":
                    continue
                types = tuple(_canonical_type(i) for i in entry["inputs"])
                selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
                names = tuple(i["name"] for i in entry["inputs"])
                self._errors[selector] = _ErrorAbi(entry["name"], names, types)

    def decode(self, data: bytes | str | None, *, context: str = "") -> errors.ChainError:
        """The exception for revert `data` (hex or bytes); unknown data gives TransactionFailed."""
        raw = _to_bytes(data)
        prefix = f"{context}: " if context else ""
        if len(raw) < 4:
            return TransactionFailed(f"{prefix}the transaction reverted without a reason")
        selector, body = raw[:4], raw[4:]
        if selector == _ERROR_STRING:
            (reason,) = abi_decode(["string"], body)
            return ContractRevert(f"{prefix}{reason}", error="Error", args={"reason": reason})
        if selector == _PANIC:
            (code,) = abi_decode(["uint256"], body)
            text = _PANICS.get(code, f"panic 0x{code:02x}")
            return ContractRevert(f"{prefix}{text}", error="Panic", args={"code": code})
        spec = self._errors.get(selector)
        if spec is None:
            return TransactionFailed(f"{prefix}reverted with unknown error 0x{raw.hex()}")
        values = abi_decode(list(spec.types), body)
        args = {
            name: _plain(value, typ)
            for name, value, typ in zip(spec.names, values, spec.types, strict=True)
        }
        text = message(spec.name, args, self._role_names)
        return _error_class(spec.name)(text, error=spec.name, args=args, call=context or None)


def _plain(value: Any, typ: str) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    if typ.startswith("bytes") and isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
