"""What batch issuance uses of the ledger that composes it (a Protocol the ``Ledger`` satisfies)."""

from __future__ import annotations

from typing import Protocol

from web3 import Web3

from ledger.chain.contracts import MemberRegistryClient, PointsLedgerClient, SchemeRegistryClient
from ledger.chain.tx import TxSender
from ledger.earning.parts import ActivitiesContract, SubmissionParts
from ledger.earning.service import Earning


class BatchParts(SubmissionParts, ActivitiesContract, Protocol):
    """The store, the contracts a run reads and writes, the sender that keeps its transactions
    in flight, and the earning service (activities, the store's details, refused attempts)."""

    @property
    def w3(self) -> Web3: ...

    @property
    def members(self) -> MemberRegistryClient: ...

    @property
    def points(self) -> PointsLedgerClient: ...

    @property
    def schemes(self) -> SchemeRegistryClient: ...

    @property
    def sender(self) -> TxSender: ...

    @property
    def earning(self) -> Earning: ...
