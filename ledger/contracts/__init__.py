"""One typed client per contract."""

from ledger.contracts.base import Call, ContractClient
from ledger.contracts.council import CouncilClient, Proposal
from ledger.contracts.members import MemberInfo, MemberRegistryClient, MemberStatus
from ledger.contracts.points import PointsLedgerClient
from ledger.contracts.rules import DurationRule, EarningRulesClient, FixedRule, RuleKind
from ledger.contracts.schemes import Scheme, SchemeFlag, SchemeRegistryClient

__all__ = [
    "Call",
    "ContractClient",
    "CouncilClient",
    "DurationRule",
    "EarningRulesClient",
    "FixedRule",
    "MemberInfo",
    "MemberRegistryClient",
    "MemberStatus",
    "PointsLedgerClient",
    "Proposal",
    "RuleKind",
    "Scheme",
    "SchemeFlag",
    "SchemeRegistryClient",
]
