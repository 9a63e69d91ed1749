"""Refused attempts: every request the ledger refused, written down for auditors (who, what, on
what, and the error; never the personal data), through the store's log
(``ledger.store.refusals``)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlmodel import col, select

from ledger.earning.parts import Store
from ledger.errors import LedgerError
from ledger.store import session
from ledger.store.refusals import RefusedAttempt, refusals_noted, write_refusal


class RefusalLog:
    """The refused attempts kept in the store (the log auditors read)."""

    def __init__(self, parts: Store) -> None:
        self.parts = parts

    def refused(self, *, actor: str, action: str, subject: str, exc: LedgerError) -> None:
        """Write down a refused attempt (never the personal data; the message is the error's)."""
        write_refusal(self.parts.engine, actor=actor, action=action, subject=subject, exc=exc)

    def refusals(self, *, last: int = 100) -> list[RefusedAttempt]:
        with session(self.parts.engine) as db:
            rows = db.exec(
                select(RefusedAttempt).order_by(col(RefusedAttempt.id).desc()).limit(last)
            ).all()
        return list(rows)

    def attempt(self, actor: str, action: str, subject: str) -> AbstractContextManager[None]:
        """A block whose LedgerError (other than bad input) is written down as refused."""
        return refusals_noted(self.parts.engine, actor, action, subject)
