"""What the audit services need from whoever composes them, as narrow protocols.

The façade (``Ledger``) satisfies each of them structurally, and mypy checks it wherever one is
passed; the audit modules name these protocols, never the façade. Each lists only what its
services read: ``IndexSource`` the indexer, ``AnchorSource`` the store's anchors, ``AuditSource``
the traces, checks and anomaly rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from web3 import Web3

    from ledger.chain.compiler import Build
    from ledger.chain.contracts import (
        ActivitiesClient,
        MemberInfo,
        PointsLedgerClient,
        Record,
        Scheme,
        ServiceRecordsClient,
    )
    from ledger.chain.deploy import Manifest
    from ledger.chain.tx import Signer, TxSender
    from ledger.config import NetworkConfig, Settings


class Deployment(Protocol):
    """A deployment on a chain, and the store kept beside it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def w3(self) -> Web3: ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def build(self) -> Build: ...

    @property
    def engine(self) -> Engine: ...


class IndexSource(Deployment, Protocol):
    """What the indexer follows: the deployment, and the network's confirmations."""

    @property
    def network(self) -> NetworkConfig: ...


class AnchorSource(Deployment, Protocol):
    """What anchoring the store needs: a sender, the records client, the anchorer's key."""

    @property
    def sender(self) -> TxSender: ...

    @property
    def records(self) -> ServiceRecordsClient: ...

    def operator(self, name: str) -> Signer: ...


class RecordLookup(Protocol):
    def existing(self, record_id: int) -> Record: ...


class SchemeBalance(Protocol):
    @property
    def scheme(self) -> Scheme: ...

    @property
    def amount(self) -> int: ...


class AuditSource(Deployment, Protocol):
    """What the traces, the checks and the anomaly rules read: contract clients, schemes,
    members and their balances, records that exist."""

    @property
    def points(self) -> PointsLedgerClient: ...

    @property
    def records(self) -> ServiceRecordsClient: ...

    @property
    def activities(self) -> ActivitiesClient: ...

    @property
    def earning(self) -> RecordLookup: ...

    def scheme(self, code_or_id: str | int) -> Scheme: ...

    def member(self, address: str) -> MemberInfo: ...

    def balances(self, address: str) -> Sequence[SchemeBalance]: ...
