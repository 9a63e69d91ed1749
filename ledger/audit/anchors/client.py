"""The client of the ``StoreAnchors`` contract: the roots of the store anchored on chain."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.chain.contracts.base import ContractClient
from ledger.chain.tx import Signer, TxResult


@dataclass(frozen=True)
class ChainAnchor:
    id: int
    root: str
    rows: int
    timestamp: int
    block: int
    anchorer: str


class StoreAnchorsClient(ContractClient):
    def anchor(self, account: Signer, root: bytes, rows: int) -> TxResult:
        return self._write(account, "anchor", root, rows)

    def count(self) -> int:
        return int(self._read("anchorCount"))

    def at(self, anchor_id: int) -> ChainAnchor:
        raw = self._read("anchorAt", anchor_id)
        return ChainAnchor(
            id=anchor_id,
            root="0x" + bytes(raw[0]).hex(),
            rows=int(raw[1]),
            timestamp=int(raw[2]),
            block=int(raw[3]),
            anchorer=str(raw[4]),
        )
