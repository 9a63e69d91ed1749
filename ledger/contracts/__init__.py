"""One typed client per contract."""

from ledger.contracts.base import Call, ContractClient
from ledger.contracts.catalogue import CatalogueClient, OrderStatus
from ledger.contracts.council import CouncilClient, Proposal
from ledger.contracts.gifts import Fund, FundEntry, Gift, GiftsClient
from ledger.contracts.members import MemberInfo, MemberRegistryClient, MemberStatus
from ledger.contracts.points import PointsLedgerClient
from ledger.contracts.records import (
    ActivitiesClient,
    Activity,
    Batch,
    BatchStatus,
    Limits,
    PackedRecord,
    Participation,
    Record,
    RecordStatus,
    ServiceRecordsClient,
    Standing,
)
from ledger.contracts.rules import DurationRule, EarningRulesClient, FixedRule, RuleKind
from ledger.contracts.schemes import Scheme, SchemeFlag, SchemeRegistryClient

__all__ = [
    "ActivitiesClient",
    "Activity",
    "Batch",
    "BatchStatus",
    "Call",
    "CatalogueClient",
    "ContractClient",
    "CouncilClient",
    "DurationRule",
    "EarningRulesClient",
    "FixedRule",
    "Fund",
    "FundEntry",
    "Gift",
    "GiftsClient",
    "Limits",
    "MemberInfo",
    "MemberRegistryClient",
    "MemberStatus",
    "OrderStatus",
    "PackedRecord",
    "Participation",
    "PointsLedgerClient",
    "Proposal",
    "Record",
    "RecordStatus",
    "RuleKind",
    "Scheme",
    "SchemeFlag",
    "SchemeRegistryClient",
    "ServiceRecordsClient",
    "Standing",
]
