"""The pages reads of the index answer with, and their cursors.

A page is newest first and says the block the index holds (nothing the index has not reached is
reported); its opaque cursor names a place on chain, so it stays valid while new blocks are
indexed (new rows are always above it).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from ledger.errors import InputError, InvalidCursor

#: The most rows one page holds.
MAX_LIMIT = 500
E = TypeVar("E")


@dataclass(frozen=True)
class HistoryEntry:
    """One movement of a member's points, seen from the member."""

    scheme_id: int
    #: The scheme's code, if the index saw it added.
    scheme: str | None
    #: issued, exchanged, redemption_hold, ... (``ledger.store.index.MOVEMENT_KINDS``).
    kind: str
    #: Positive when points came in, negative when they went out.
    delta: int
    #: The other side: the zero address for points created or burned, the PointsLedger for a hold.
    counterparty: str
    #: record:12, batch:3, order:7, request:5, exchange:9, fund:2, ... or None.
    reference: str | None
    block: int
    timestamp: datetime
    tx_hash: str
    log_index: int
    batch_index: int
    #: Whether the chain had the network's confirmations on top of its block at the last sync
    #: (``NetworkConfig.confirmations``): a clique network can still replace its newest blocks.
    final: bool = True


@dataclass(frozen=True)
class EventEntry:
    contract: str
    event: str
    address: str
    block: int
    timestamp: datetime
    tx_hash: str
    log_index: int
    args: dict[str, Any]
    #: See ``HistoryEntry.final``.
    final: bool = True


@dataclass(frozen=True, kw_only=True)
class IndexPage(Generic[E]):
    """One page of an answer of the index."""

    entries: tuple[E, ...]
    #: Pass as `cursor` for the next (older) page; None on the last page.
    next_cursor: str | None
    #: The answer holds everything up to this block and nothing after it.
    indexed_block: int
    #: The chain's newest block when the index last synced, and how far behind the index was.
    chain_head: int
    blocks_behind: int
    #: Entries up to this block are final (see ``HistoryEntry.final``).
    final_block: int = -1


@dataclass(frozen=True, kw_only=True)
class HistoryPage(IndexPage[HistoryEntry]):
    """A page of a member's movements of points."""

    entries: tuple[HistoryEntry, ...]  # named again: pydantic does not resolve the type variable
    member: str


@dataclass(frozen=True, kw_only=True)
class EventPage(IndexPage[EventEntry]):
    """A page of decoded events."""

    entries: tuple[EventEntry, ...]  # named again: pydantic does not resolve the type variable


def check_limit(limit: int) -> int:
    """A page size from 1 to ``MAX_LIMIT``; InputError for anything else."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InputError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}; page through "
            "longer answers with the cursor",
            limit=limit,
        )
    return limit


def encode_cursor(*place: int) -> str:
    """An opaque cursor naming a place on chain (block, log index[, batch index])."""
    return base64.urlsafe_b64encode(".".join(map(str, place)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> tuple[int, ...]:
    """The place a cursor names; InvalidCursor for anything this index did not give."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        place = tuple(int(p) for p in text.split("."))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        place = ()
    if len(place) != parts or any(p < 0 for p in place):
        raise InvalidCursor(
            f"the cursor {cursor[:40]!r} was not given by this index (or is damaged); start again "
            "without a cursor, or pass the next_cursor of the previous page unchanged",
            cursor=cursor[:40],
        )
    return place
