"""The log of refused attempts: every write the ledger refused (not bad input caught before it
was sent), who tried it, on what, and why, for auditors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from ledger.errors import InputError, LedgerError
from ledger.store.db import UtcDateTime, session, utcnow

log = logging.getLogger(__name__)


class RefusedAttempt(SQLModel, table=True):
    """A write the ledger refused: who tried what, on what, and why (for auditors)."""

    __tablename__ = "refused_attempt"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    actor: str = Field(index=True)
    action: str = Field(index=True)
    subject: str
    code: str = Field(index=True)
    error: str | None = None
    message: str


def write_refusal(
    engine: Engine, *, actor: str, action: str, subject: str, exc: LedgerError
) -> None:
    """Write down a refused attempt (never the personal data; the message is the error's)."""
    with session(engine) as db:
        db.add(
            RefusedAttempt(
                at=utcnow(),
                actor=actor,
                action=action,
                subject=subject,
                code=exc.code,
                error=getattr(exc, "error", None),
                message=str(exc)[:1000],
            )
        )


def note_refusal(
    engine: Engine, *, actor: str, action: str, subject: str, exc: LedgerError
) -> None:
    """``write_refusal``, but a store failure is logged instead of hiding the refusal itself."""
    try:
        write_refusal(engine, actor=actor, action=action, subject=subject, exc=exc)
    except Exception:  # never hide the refusal behind a store failure
        log.exception("could not write down a refused %s", action)


@contextmanager
def refusals_noted(engine: Engine, actor: str, action: str, subject: str) -> Iterator[None]:
    """A LedgerError raised inside (not bad input caught before sending) is written down as a
    refused attempt, then raised on."""
    try:
        yield
    except LedgerError as exc:
        if not isinstance(exc, InputError):
            note_refusal(engine, actor=actor, action=action, subject=subject, exc=exc)
        raise
