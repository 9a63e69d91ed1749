"""What the identity services use of the ledger that composes them, each as a small Protocol.

The ``Ledger`` satisfies them as it is (its settings, store and member registry client are read
when used, so a service always sees the current ones); each service names only the parts it uses.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from ledger.chain.contracts import MemberRegistryClient
from ledger.config import NetworkConfig, Settings


class Store(Protocol):
    """The off-chain store."""

    @property
    def engine(self) -> Engine: ...


class Configured(Protocol):
    @property
    def settings(self) -> Settings: ...


class AuthParts(Store, Configured, Protocol):
    """The store, the settings (public URL, lifetimes) and the network (its chain id)."""

    @property
    def network(self) -> NetworkConfig: ...


class WalletsParts(Store, Configured, Protocol):
    """The store and the settings (vault key, key derivation cost, PIN lock-out)."""


class ProxiesParts(Store, Protocol):
    @property
    def members(self) -> MemberRegistryClient: ...
