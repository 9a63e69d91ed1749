"""The off-chain store: SQLModel tables and sessions, and the encrypted personal-data vault."""

from ledger.store.access import PersonalDataAccess
from ledger.store.db import UtcDateTime, make_engine, session, utcnow
from ledger.store.schema import init_db
from ledger.store.vault import MemberIdentity, PersonalData, Vault, VaultEntry

__all__ = [
    "MemberIdentity",
    "PersonalData",
    "PersonalDataAccess",
    "UtcDateTime",
    "Vault",
    "VaultEntry",
    "init_db",
    "make_engine",
    "session",
    "utcnow",
]
