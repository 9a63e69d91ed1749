"""志愿积分链: the Python core of the volunteer points ledger.

Build a ``Ledger`` from ``Settings`` and call its operations; see docs/architecture.md for the architecture.
"""

import os
from importlib.util import find_spec

# Keccak through pysha3's C code rather than pycryptodome's (7x less a hash; web3 hashes each
# address it checksums, and a relayed write checksums hundreds): eth-hash picks its backend at the
# first hash, so this comes before anything here imports web3.
if find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

from ledger.audit.index.follow import Indexer, IndexStatus, SyncReport
from ledger.audit.index.pages import HistoryEntry, HistoryPage
from ledger.chain.contracts import Call, MemberInfo, MemberStatus, Proposal, Scheme, SchemeFlag
from ledger.chain.node import LocalNode, NodeStatus
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.governance.council import ProposalOutcome
from ledger.governance.schemes import Balance
from ledger.identity.members import Registration
from ledger.ledger import Ledger
from ledger.store import PersonalData

__all__ = [
    "Balance",
    "Call",
    "HistoryEntry",
    "HistoryPage",
    "IndexStatus",
    "Indexer",
    "Ledger",
    "LedgerError",
    "LocalNode",
    "MemberInfo",
    "MemberStatus",
    "NodeStatus",
    "PersonalData",
    "Proposal",
    "ProposalOutcome",
    "Registration",
    "Scheme",
    "SchemeFlag",
    "Settings",
    "SyncReport",
]
