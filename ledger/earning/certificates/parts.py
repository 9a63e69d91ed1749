"""What certificates use of the ledger that composes them (a Protocol the ``Ledger`` satisfies)."""

from __future__ import annotations

from typing import Protocol

from web3 import Web3

from ledger.chain.contracts import DurationRule, FixedRule, SchemeRegistryClient
from ledger.config import NetworkConfig
from ledger.earning.parts import RoleLookup, SchemeRecords, Store


class CertificateParts(Store, SchemeRecords, RoleLookup, Protocol):
    """The store, the chain's records, schemes and rules, and who holds which role."""

    @property
    def w3(self) -> Web3: ...

    @property
    def network(self) -> NetworkConfig: ...

    @property
    def schemes(self) -> SchemeRegistryClient: ...

    def rule(self, scheme: str | int, version: int | None = None) -> DurationRule | FixedRule:
        """A scheme's rule version (the current one by default)."""
        ...
