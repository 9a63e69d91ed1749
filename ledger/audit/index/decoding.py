"""Decoding of raw JSON-RPC logs of our contracts (each ``"Contract:Event"`` with its arguments
and the accounts it names), and the domain references (``record:12``) an event's arguments make."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import eth_abi
from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak

from ledger.audit.index.bounds import ZERO_ADDRESS
from ledger.store.index import REF_ARGS


@dataclass(frozen=True)
class DecodedEvent:
    """One log of our contracts, decoded."""

    contract: str
    event: str
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    args: dict[str, Any]
    #: Every account named in an address argument (lower case, without the zero address).
    accounts: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.contract}:{self.event}"


@dataclass(frozen=True)
class _EventSpec:
    contract: str
    name: str
    #: (name, type, ABI entry, dynamic: only its keccak is in the topic, one word: sliced)
    indexed: tuple[tuple[str, str, dict[str, Any], bool, bool], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_abis: tuple[dict[str, Any], ...]
    #: Every data value is one word (uint, int, address, bool, bytes32): decoded by slicing.
    static_words: bool


class EventDecoder:
    """Decodes raw JSON-RPC logs of the given contracts (name -> (address, ABI)) with eth_abi."""

    def __init__(self, contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]) -> None:
        self._specs: dict[tuple[str, str], _EventSpec] = {}
        self.names_by_address: dict[str, str] = {}
        self.events_by_contract: dict[str, set[str]] = {}
        for name, (address, abi) in contracts.items():
            self.names_by_address[address.lower()] = name
            self.events_by_contract[name] = set()
            for entry in abi:
                if entry.get("type") != "event" or entry.get("anonymous"):
                    continue
                inputs = [dict(i) for i in entry["inputs"]]
                signature = f"{entry['name']}({','.join(collapse_if_tuple(i) for i in inputs)})"
                topic = "0x" + keccak(text=signature).hex()
                data = [i for i in inputs if not i.get("indexed")]
                self._specs[(address.lower(), topic)] = _EventSpec(
                    contract=name,
                    name=entry["name"],
                    indexed=tuple(
                        (i["name"], t, i, _is_dynamic(t), _is_word(t))
                        for i in inputs
                        if i.get("indexed")
                        for t in (collapse_if_tuple(i),)
                    ),
                    data_names=tuple(i["name"] for i in data),
                    data_types=tuple(collapse_if_tuple(i) for i in data),
                    data_abis=tuple(data),
                    static_words=all(_is_word(collapse_if_tuple(i)) for i in data),
                )
                self.events_by_contract[name].add(entry["name"])

    @property
    def addresses(self) -> list[str]:
        return list(self.names_by_address)

    def decode(self, raw: Mapping[str, Any]) -> DecodedEvent | None:
        """The decoded event of a raw log, or None for a log this decoder does not know."""
        topics: list[str] = raw["topics"]
        if not topics:
            return None
        spec = self._specs.get((raw["address"].lower(), topics[0]))
        if spec is None:
            return None
        args: dict[str, Any] = {}
        accounts: list[str] = []
        for (name, type_, abi, dynamic, word), topic in zip(spec.indexed, topics[1:], strict=True):
            if dynamic:
                args[name] = topic  # the keccak of the value, as the chain keeps it
                continue
            value = _word(type_, topic[2:])
            args[name] = value if word else _plain(value, abi)
            if type_ == "address" and value != ZERO_ADDRESS:
                accounts.append(value)
        if spec.data_types:
            data = raw["data"][2:]
            if spec.static_words:  # one 32-byte word per value: sliced, not parsed by eth_abi
                values = tuple(
                    _word(t, data[64 * i : 64 * i + 64]) for i, t in enumerate(spec.data_types)
                )
            else:
                values = eth_abi.decode(spec.data_types, bytes.fromhex(data))
            for name, type_, abi, value in zip(
                spec.data_names, spec.data_types, spec.data_abis, values, strict=True
            ):
                args[name] = value if spec.static_words else _plain(value, abi)
                if type_ == "address" and value != ZERO_ADDRESS:
                    accounts.append(value)
                elif type_ == "address[]":
                    accounts.extend(v for v in value if v != ZERO_ADDRESS)
        return DecodedEvent(
            contract=spec.contract,
            event=spec.name,
            address=raw["address"].lower(),
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            tx_hash=raw["transactionHash"],
            tx_index=int(raw["transactionIndex"], 16),
            log_index=int(raw["logIndex"], 16),
            args=args,
            accounts=tuple(dict.fromkeys(accounts)),
        )


def _is_word(type_: str) -> bool:
    """A value that is one 32-byte word by itself (so ``_word`` reads it)."""
    if type_.endswith("]"):
        return False
    return type_ in ("address", "bool", "bytes32") or type_.startswith(("uint", "int"))


def _word(type_: str, word: str) -> Any:
    """One ABI word (64 hex digits) of an elementary static type; others through eth_abi."""
    if type_ == "address":
        return "0x" + word[24:].lower()
    if type_.startswith("uint"):
        return int(word, 16)
    if type_ == "bytes32":
        return "0x" + word.lower()
    if type_ == "bool":
        return int(word, 16) != 0
    if type_.startswith("int"):
        value = int(word, 16)
        return value - (1 << 256) if value >> 255 else value
    return eth_abi.decode([type_], bytes.fromhex(word))[0]


def _is_dynamic(type_: str) -> bool:
    return type_ in ("string", "bytes") or type_.endswith("]") or type_.startswith("(")


def _plain(value: Any, abi: Mapping[str, Any]) -> Any:
    """A JSON-ready value: bytes as 0x hex, structs as objects by field name, arrays as lists."""
    type_ = abi["type"]
    if type_.endswith("]"):
        inner = {**abi, "type": type_[: type_.rindex("[")]}
        return [_plain(v, inner) for v in value]
    if type_ == "tuple":
        return {c["name"]: _plain(v, c) for c, v in zip(abi["components"], value, strict=True)}
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if type_ == "address":
        return value.lower()  # one spelling everywhere in the index
    return value


def event_refs(args: Mapping[str, Any]) -> list[str]:
    """The domain references an event's arguments make (``REF_ARGS``; struct fields too), in
    order, each once; an id of 0 means none and makes no reference."""
    refs: list[str] = []
    for name, value in args.items():
        if isinstance(value, dict):
            refs.extend(event_refs(value))
            continue
        kind = REF_ARGS.get(name)
        if kind is not None and type(value) is int and value > 0:
            refs.append(f"{kind}:{value}")
    return list(dict.fromkeys(refs))
