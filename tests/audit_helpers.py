"""Shared by the audit specifications: an event index of the session chain of a test's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ledger.audit.index.follow import Indexer
from ledger.config import Settings
from ledger.ledger import Ledger


def index_of(ledger: Ledger, url: str, **kwargs: int) -> Indexer:
    """An indexer of `ledger`'s deployment writing to `url` (its own Ledger: its own store)."""
    settings: Settings = ledger.settings.model_copy(update={"database_url": url})
    return Indexer(Ledger(settings), **kwargs)


@contextlib.contextmanager
def own_index(ledger: Ledger, url: str) -> Iterator[Indexer]:
    """`index_of(ledger, url)`, its Ledger closed at the end."""
    idx = index_of(ledger, url)
    try:
        yield idx
    finally:
        idx.ledger.close()
