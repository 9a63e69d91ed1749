"""The bounds every read of the index keeps: it answers only about blocks it holds, and refuses
a block beyond them, a transaction it holds nothing of, or a malformed block, hash or time with an
error that says what to do next."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ledger.errors import IndexBehind, InputError, RecordNotFound
from ledger.values import parse_time

#: The zero address as the index spells it (every address in the index is lower case).
ZERO_ADDRESS = "0x" + "00" * 20
_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


def check_tx_hash(tx_hash: object) -> str:
    """A transaction hash (0x and 64 hex digits); InputError for anything else."""
    if not isinstance(tx_hash, str) or not _TX_HASH.match(tx_hash):
        raise InputError(f"a transaction hash is 0x and 64 hex digits, not {str(tx_hash)[:80]!r}")
    return tx_hash


def check_block(value: object, name: str = "block") -> int:
    """A block number (0 or more); InputError for anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name} must be a block number (0 or more), not {value!r}")
    return value


def moment(value: str | datetime | None, what: str) -> int | None:
    """A Unix time from what the CLI and the API are given (no zone: China Standard Time)."""
    return None if value is None else parse_time(value, what=what)


def behind(indexed: int, head: int) -> int:
    """How many blocks the index was behind the chain's `head` at its last sync."""
    return max(head - indexed, 0)


def not_indexed_yet(block: int, indexed: int, head: int) -> IndexBehind:
    """The refusal of one block the index has not reached (a lookup of that block)."""
    return _index_behind(
        f"block {block} is not indexed yet: the index holds blocks up to {indexed}, "
        f"{behind(indexed, head)} behind the chain's {head} at its last sync; "
        "sync the index (vpl index sync) or ask again shortly",
        indexed,
        head,
        block=block,
    )


def beyond_index(block: int, indexed: int, head: int) -> IndexBehind:
    """The refusal of a range or a moment that reaches past the indexed block."""
    return _index_behind(
        f"the index holds the chain up to block {indexed}, not {block}: wait for it to catch up "
        f"({behind(indexed, head)} blocks behind at its last sync) or ask about earlier blocks",
        indexed,
        head,
    )


def _index_behind(message: str, indexed: int, head: int, **details: Any) -> IndexBehind:
    return IndexBehind(
        message,
        **details,
        indexed_block=indexed,
        chain_head=head,
        blocks_behind=behind(indexed, head),
    )


def no_events_in(tx_hash: str, indexed: int, head: int) -> RecordNotFound:
    """The refusal of a transaction the index holds no event of ours in."""
    return RecordNotFound(
        f"no event of our contracts in transaction {tx_hash} up to block {indexed}: the chain "
        "does not hold it, it touched none of our contracts, or it is newer than the index "
        f"({behind(indexed, head)} blocks behind the chain)",
        tx_hash=tx_hash,
        indexed_block=indexed,
    )
