"""What the earning services use of the ledger that composes them, each as a small Protocol.

The ``Ledger`` satisfies them as it is (its lazily built store and contract clients are read
when used, so a service always sees the current ones); a service names only the parts it uses.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from ledger.chain.contracts import (
    ActivitiesClient,
    DurationRule,
    EarningRulesClient,
    FixedRule,
    Scheme,
    ServiceRecordsClient,
)


class Store(Protocol):
    """The off-chain store."""

    @property
    def engine(self) -> Engine: ...


class SchemeLookup(Protocol):
    def scheme(self, code_or_id: str | int) -> Scheme:
        """A scheme by code ("VOL") or id."""
        ...


class RecordsContract(Protocol):
    @property
    def records(self) -> ServiceRecordsClient: ...


class ActivitiesContract(Protocol):
    @property
    def activities(self) -> ActivitiesClient: ...


class RuleLookup(SchemeLookup, Protocol):
    @property
    def rules(self) -> EarningRulesClient: ...

    def rule(self, scheme: str | int, version: int | None = None) -> DurationRule | FixedRule:
        """A scheme's rule version (the current one by default)."""
        ...


class RoleLookup(Protocol):
    def has_role(self, *, role_name: str, account: str, scheme: str | int | None = None) -> bool:
        """Whether `account` holds a role (of `scheme`, for a scheme role)."""
        ...


class SchemeRecords(RecordsContract, SchemeLookup, Protocol):
    """The service-records contract, with schemes looked up."""


class StoredRecords(Store, RecordsContract, Protocol):
    """The store's details of records and the service-records contract."""


class ActivityParts(Store, ActivitiesContract, SchemeLookup, Protocol):
    """The store and the activities contract, with schemes looked up."""


class ReadingParts(Store, SchemeRecords, RoleLookup, Protocol):
    """What reading records for a viewer uses: also the viewer's roles."""


class SubmissionParts(Store, SchemeRecords, RuleLookup, Protocol):
    """What submitting records uses: also the scheme's rules."""


class EarningParts(SubmissionParts, ActivityParts, ReadingParts, Protocol):
    """Everything the earning service uses of the ledger that composes it."""


def current_rule(parts: RuleLookup, scheme_id: int) -> DurationRule | FixedRule | None:
    """The scheme's rule in force, or None before its issuer publishes one."""
    version = parts.rules.current_version(scheme_id)
    return None if version == 0 else parts.rule(scheme_id, version)
