"""One typed client per contract."""

from ledger.chain.contracts.activities import ActivitiesClient, Activity, Participation
from ledger.chain.contracts.base import Call, ContractClient
from ledger.chain.contracts.catalogue import CatalogueClient, OrderStatus
from ledger.chain.contracts.council import CouncilClient, Proposal
from ledger.chain.contracts.gifts import Fund, FundEntry, Gift, GiftsClient
from ledger.chain.contracts.members import MemberInfo, MemberRegistryClient, MemberStatus
from ledger.chain.contracts.packed_records import PackedRecord
from ledger.chain.contracts.points import PointsLedgerClient, Standing
from ledger.chain.contracts.rules import DurationRule, EarningRulesClient, FixedRule, RuleKind
from ledger.chain.contracts.schemes import Scheme, SchemeFlag, SchemeRegistryClient
from ledger.chain.contracts.service_records import (
    Batch,
    BatchStatus,
    Limits,
    Record,
    RecordStatus,
    ServiceRecordsClient,
)

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
