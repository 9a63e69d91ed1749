"""What the spending services use of the ledger that composes them, each as a small Protocol.

The ``Ledger`` satisfies them as it is (its store, chain connection and contract clients are built
lazily and read when used, so a service always sees the current ones, also after a deployment);
each service names only the parts it uses.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine
from web3 import Web3

from ledger.chain.contracts import (
    CatalogueClient,
    GiftsClient,
    MemberRegistryClient,
    PointsLedgerClient,
    Scheme,
    SchemeRegistryClient,
)
from ledger.chain.contracts.exchange import ExchangeClient
from ledger.chain.contracts.timebank import TimeBankClient
from ledger.chain.deploy import Manifest
from ledger.chain.revert import RevertDecoder


class Store(Protocol):
    """The off-chain store."""

    @property
    def engine(self) -> Engine: ...


class SchemeLookup(Protocol):
    def scheme(self, code_or_id: str | int) -> Scheme:
        """A scheme by code ("VOL") or id."""
        ...

    def scheme_code(self, scheme_id: int) -> str:
        """A scheme's code by id (read once: it never changes)."""
        ...


class Schemes(Protocol):
    @property
    def schemes(self) -> SchemeRegistryClient: ...


class Members(Protocol):
    @property
    def members(self) -> MemberRegistryClient: ...


class Chain(Protocol):
    """The chain connection and the verified deployment (where each contract's events start)."""

    @property
    def w3(self) -> Web3: ...

    @property
    def manifest(self) -> Manifest: ...


class ClearingParts(Store, SchemeLookup, Schemes, Chain, Protocol):
    @property
    def exchange_contract(self) -> ExchangeClient: ...


class ExchangeParts(ClearingParts, Members, Protocol):
    @property
    def decoder(self) -> RevertDecoder: ...


class CatalogueParts(Store, SchemeLookup, Chain, Protocol):
    @property
    def catalogue_contract(self) -> CatalogueClient: ...


class GiftsParts(Store, SchemeLookup, Schemes, Protocol):
    @property
    def gifts_contract(self) -> GiftsClient: ...


class TimeBankParts(Store, SchemeLookup, Members, Protocol):
    @property
    def timebank_contract(self) -> TimeBankClient: ...

    def has_role(self, *, role_name: str, account: str, scheme: str | int | None = None) -> bool:
        """Whether `account` holds a role (of `scheme`, for a scheme role)."""
        ...


class ControlsParts(Store, SchemeLookup, Schemes, Protocol):
    @property
    def points(self) -> PointsLedgerClient: ...

    @property
    def w3(self) -> Web3: ...
