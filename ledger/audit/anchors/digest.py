"""The store's digest: one leaf per covered row (keccak256 of the table, the row's id and the
canonical JSON of its content columns) and the Merkle root over them, sorted by table and id.

Covered: activity details of activities created on chain, record details linked to the chain (a
record id or a paid batch), and certificates. Their content columns are covered; the links to the
chain (record ids, batch positions, which change as a record moves on chain) are checked against
the chain itself by ``vpl audit verify record:N``. Rows not yet linked to the chain are left for a
later anchor (``StoreDigest.pending_ids``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from ledger.store.records import ActivityDetails, IssuedCertificate, RecordDetails, canonical_json

_EMPTY_ROOT = keccak(b"vpl-store-empty")
_RELEASED = "#released-"


@dataclass(frozen=True)
class Covered:
    """A table the anchors cover: which rows, and which columns of them."""

    name: str
    model: type[SQLModel]
    columns: tuple[str, ...]
    #: Rows not yet settled (not linked to the chain) are left for a later anchor.
    settled: Callable[[Any], bool]


def _evidence(value: str) -> str:
    """A rejected record's evidence is released under a marker: the hash itself is covered."""
    return value.split(_RELEASED)[0]


COVERED: tuple[Covered, ...] = (
    Covered(
        "activity_details",
        ActivityDetails,
        ("scheme_id", "details_hash", "details_json", "created_at"),
        lambda r: r.activity_id is not None,
    ),
    Covered(
        "record_details",
        RecordDetails,
        (
            "scheme_id",
            "record_key",
            "volunteer",
            "activity_id",
            "start",
            "end",
            "details_hash",
            "evidence_hash",
            "details_json",
            "employer",
            "created_at",
        ),
        lambda r: r.record_id is not None or r.batch_id is not None,
    ),
    Covered(
        "certificate",
        IssuedCertificate,
        (
            "code",
            "member",
            "period_from",
            "period_to",
            "issuer",
            "content_hash",
            "document_json",
            "created_at",
        ),
        lambda r: True,
    ),
)


def row_leaf(table: str, row_id: int, values: dict[str, Any]) -> bytes:
    """keccak256 of a row: its table, id and content (canonical JSON; times as ISO 8601 UTC)."""
    content = {
        k: (v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v)
        for k, v in values.items()
    }
    if "evidence_hash" in content and isinstance(content["evidence_hash"], str):
        content["evidence_hash"] = _evidence(content["evidence_hash"])
    return keccak(b"vpl-store-row\x00" + canonical_json({"t": table, "id": row_id, "v": content}))


def merkle_root(leaves: list[bytes]) -> bytes:
    """The root over `leaves` in order: pairs hashed together (keccak256 of left || right), an
    odd one out carried up; the root of no leaves is a fixed tag."""
    if not leaves:
        return _EMPTY_ROOT
    level = leaves
    while len(level) > 1:
        nxt = [keccak(level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


@dataclass(frozen=True)
class StoreDigest:
    root: bytes
    #: (table, row id) -> leaf (0x hex), sorted by table and id.
    leaves: dict[tuple[str, int], str]
    #: Rows left out because they are not yet linked to the chain, by table.
    pending_ids: dict[str, list[int]]
    high_ids: dict[str, int]
    #: When the digest began, by the store's clock (rows' creation times are by the same clock).
    started_at: datetime

    @property
    def pending(self) -> int:
        return sum(len(v) for v in self.pending_ids.values())

    @property
    def rows(self) -> int:
        return len(self.leaves)


def _rows(engine: Engine, c: Covered) -> Iterator[Any]:
    with Session(engine) as db:
        yield from db.exec(
            select(c.model).order_by(col(c.model.id)).execution_options(yield_per=5_000)  # type: ignore[attr-defined]
        )


def digest_store(engine: Engine) -> StoreDigest:
    """The leaves and Merkle root of the covered rows of the store now."""
    started_at = datetime.now(UTC)
    leaves: dict[tuple[str, int], str] = {}
    high: dict[str, int] = {}
    pending: dict[str, list[int]] = {}
    for c in sorted(COVERED, key=lambda c: c.name):
        for row in _rows(engine, c):
            if not c.settled(row):
                pending.setdefault(c.name, []).append(row.id)
                continue
            leaf = row_leaf(c.name, row.id, {k: getattr(row, k) for k in c.columns})
            leaves[(c.name, row.id)] = "0x" + leaf.hex()
            high[c.name] = max(high.get(c.name, 0), row.id)
    root = merkle_root([bytes.fromhex(v[2:]) for v in leaves.values()])
    return StoreDigest(
        root=root, leaves=leaves, pending_ids=pending, high_ids=high, started_at=started_at
    )
