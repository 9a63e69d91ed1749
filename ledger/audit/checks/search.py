"""The explorer's search (``search``): what an auditor typed, told apart and checked to exist."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.audit.index.bounds import not_indexed_yet
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.errors import InputError, RecordNotFound
from ledger.values import parse_address

_SEARCH_RECORD = re.compile(r"^(?:record|r|#)\s*[:#]?\s*(\d{1,18})$", re.IGNORECASE)
_SEARCH_BATCH = re.compile(r"^(?:batch|b)\s*[:#]?\s*(\d{1,18})$", re.IGNORECASE)
_SEARCH_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class SearchHit:
    #: tx, block, address, record, batch or scheme.
    kind: str
    target: str


def search(ledger: AuditSource, index: IndexQueries, query: str) -> SearchHit:
    """What an auditor typed: a transaction hash, a block number, an address, a record
    (``record 12``, ``r12``, ``#12``), a batch (``batch 3``) or a scheme code, checked to exist
    (RecordNotFound or UnknownScheme when not; IndexBehind for a block the index has not read)."""
    q = (query or "").strip()
    indexed, head = index.indexed()
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", q):
        index.events(tx_hash=q.lower(), limit=1)  # RecordNotFound, saying how far the index is
        return SearchHit("tx", q.lower())
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", q):
        return SearchHit("address", parse_address(q))
    if re.fullmatch(r"\d{1,18}", q):
        block = int(q)
        if block > indexed:
            raise not_indexed_yet(block, indexed, head)
        return SearchHit("block", str(block))
    if found := _SEARCH_RECORD.match(q):
        ledger.earning.existing(int(found.group(1)))
        return SearchHit("record", found.group(1))
    if found := _SEARCH_BATCH.match(q):
        batch_id = int(found.group(1))
        if not 0 < batch_id <= ledger.records.batch_count():
            raise RecordNotFound(f"there is no batch {batch_id}")
        return SearchHit("batch", str(batch_id))
    if _SEARCH_CODE.match(q):
        return SearchHit("scheme", ledger.scheme(q).code)
    raise InputError(
        f"{q[:80]!r} is not a transaction hash, block number, address, record (record 12), batch "
        "(batch 3) or scheme code",
        query=q[:80],
    )
