"""Looking for people in what a running system wrote, for tests/e2e/test_personal_data.py: the
needles (a person's name, ID number and phone in each form a careless write would leave them
in) and the haystacks (each transaction input and each event of a chain, read over JSON-RPC, and
each file under a directory, its SQLite stores read by a child process)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from eth_utils import keccak

from ledger.store import PersonalData
from tests.ledger.test_registration import personal_needles
from tests.store_files import read_store_files

#: Blocks asked for in one JSON-RPC batch.
BLOCKS_PER_BATCH = 50


@dataclass(frozen=True)
class Needle:
    """One byte string to look for: whose it is and what it is. A control needle (an address) is
    one that must be found, so that a scan finding nothing is known to have looked."""

    person: int
    what: str
    value: bytes
    control: bool = False


@dataclass(frozen=True)
class Finding:
    where: str
    person: int
    what: str
    control: bool


def needles(people: Sequence[PersonalData], addresses: Sequence[str]) -> list[Needle]:
    """Each person's data: plain (UTF-8, JSON's \\u escapes, URL encoding), unsalted sha256 and
    keccak of the ID number, the name and the phone, and each of those in hex. The scanner
    compares lower case, so hex is found in either case, with or without 0x. And, as controls,
    each person's address: its 20 bytes (calldata, topics) and its checksummed text (the store)."""
    found: list[Needle] = []
    for i, (person, address) in enumerate(zip(people, addresses, strict=True)):
        assert person.phone is not None
        forms = personal_needles(person)
        for name, value in (("name", person.name), ("phone", person.phone)):
            forms[f"sha256({name})"] = hashlib.sha256(value.encode()).digest()
            forms[f"keccak({name})"] = keccak(text=value)
        hexed = {f"hex({what})": value.hex().encode() for what, value in forms.items()}
        escaped = {"name (JSON \\u escapes)": json.dumps(person.name)[1:-1],
                   "name (URL-encoded)": quote(person.name)}  # fmt: skip
        forms |= {what: form.encode() for what, form in escaped.items() if form != person.name}
        found += [Needle(i, what, value.lower()) for what, value in (forms | hexed).items()]
        found.append(Needle(i, "address (20 bytes)", bytes.fromhex(address[2:]).lower(), True))
        found.append(Needle(i, "address (text)", address.encode().lower(), True))
    return found


@dataclass
class Scanner:
    """Every needle looked for in every haystack given to it; what it read, and what it found."""

    needles: list[Needle]
    findings: list[Finding] = field(default_factory=list)
    #: Haystacks and bytes read, by kind.
    sources: dict[str, int] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)
    #: The hashes of the transactions whose input was read.
    transactions: set[str] = field(default_factory=set)

    def scan(self, kind: str, where: str, data: bytes) -> None:
        """Look in `data`, from `where`, a haystack of `kind` (block, tx input, log, file, store;
        a block is counted, its transactions and logs are read)."""
        self.sources[kind] = self.sources.get(kind, 0) + 1
        self.read[kind] = self.read.get(kind, 0) + len(data)
        if kind == "tx input":
            self.transactions.add(where.split()[1])
        low = data.lower()
        for n in self.needles:
            if n.value in low:
                self.findings.append(Finding(where, n.person, n.what, n.control))

    def personal(self) -> list[Finding]:
        return [f for f in self.findings if not f.control]

    def summary(self) -> dict[str, tuple[int, int]]:
        """Haystacks and bytes read, by kind."""
        return {kind: (n, self.read[kind]) for kind, n in sorted(self.sources.items())}

    def controls(self, where_prefix: str) -> set[int]:
        """The people whose address was found in a haystack whose name starts `where_prefix`."""
        return {f.person for f in self.findings if f.control and f.where.startswith(where_prefix)}


def rpc(url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call's result."""
    with httpx.Client(timeout=60) as http:
        [result] = _rpc_batch(http, url, [(method, params)])
    return result


def _rpc_batch(http: httpx.Client, url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """Several JSON-RPC calls in one request: their results, in order."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    answers = http.post(url, json=body).json()
    by_id = {a["id"]: a for a in answers}
    for i in range(len(calls)):
        assert "error" not in by_id[i], (calls[i], by_id[i])
    return [by_id[i]["result"] for i in range(len(calls))]


def chain_haystacks(rpc_url: str) -> Iterator[tuple[str, str, bytes]]:
    """(kind, where, bytes) of every transaction input, and of every log (its data and topics),
    of every block from 0 to the head, read with eth_getBlockByNumber (full transactions) and
    eth_getBlockReceipts."""
    with httpx.Client(timeout=60) as http:
        [head] = _rpc_batch(http, rpc_url, [("eth_blockNumber", [])])
        for first in range(0, int(head, 16) + 1, BLOCKS_PER_BATCH):
            numbers = [
                hex(n) for n in range(first, min(first + BLOCKS_PER_BATCH, int(head, 16) + 1))
            ]
            calls = [("eth_getBlockByNumber", [n, True]) for n in numbers]
            calls += [("eth_getBlockReceipts", [n]) for n in numbers]
            results = _rpc_batch(http, rpc_url, calls)
            blocks, receipts = results[: len(numbers)], results[len(numbers) :]
            for block, block_receipts in zip(blocks, receipts, strict=True):
                yield "block", f"block {int(block['number'], 16)}", b""
                for tx in block["transactions"]:
                    yield "tx input", f"tx {tx['hash']} input", bytes.fromhex(tx["input"][2:])
                for receipt in block_receipts:
                    for log in receipt["logs"]:
                        data = bytes.fromhex(log["data"][2:]) + b"".join(
                            bytes.fromhex(t[2:]) for t in log["topics"]
                        )
                        where = f"log {receipt['transactionHash']}#{int(log['logIndex'], 16)}"
                        yield "log", where, data


def is_store(path: Path) -> bool:
    """An SQLite store's database file (vpl.db, or a kept vpl-<suffix>.db)."""
    return path.name.startswith("vpl") and path.suffix == ".db"


def file_haystacks(root: Path) -> Iterator[tuple[str, str, bytes]]:
    """(kind, where, bytes) of every file under `root`: each SQLite store whole (the database,
    its write-ahead log and shared memory together, read by a child process: see
    tests/store_files.py), every other file as it is."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    store_parts = {
        Path(f"{db}{part}") for db in filter(is_store, files) for part in ("-wal", "-shm")
    }
    for path in files:
        where = str(path.relative_to(root))
        if is_store(path):
            yield "store", where, read_store_files(path)
        elif path not in store_parts:
            yield "file", where, path.read_bytes()
