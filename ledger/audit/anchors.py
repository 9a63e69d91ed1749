"""Tamper evidence for the off-chain store: Merkle roots of its rows anchored on chain.

What the chain's hashes commit to lives in the store (the details of activities and service
records, issued certificates). An operator with write access to the database could change them
quietly; anchoring makes that visible:

- ``digest_store`` computes one leaf per covered row (keccak256 of the table, the row's id and
  the canonical JSON of its content columns) and the Merkle root over them, sorted by table and id.
- ``Anchors.anchor`` records the root and the row count in the ``StoreAnchors`` contract (only the
  holder of ANCHOR_ROLE, the network's ``anchorer`` operator) and keeps, in the store, a snapshot
  of every leaf of that anchor. ``vpl audit anchor --every 3600`` runs it at an interval; a store
  that has not changed is not anchored again.
- ``Anchors.verify`` checks the newest snapshot against the chain (recomputing its root: a
  snapshot altered to hide a change no longer gives the root on chain; an anchor on chain with no
  snapshot means the snapshot was deleted), then compares the rows now with the snapshot: rows
  **altered**, **deleted**, **inserted** (absent from the snapshot though older than it: an id
  below the highest anchored that was not waiting to be linked, or created well before the digest
  began, by the store's own clock) and rows **new since** the anchor (not covered yet); and rows
  **unlinked**: of a batch chunk approved on chain ``UNLINKED_DEPTH`` blocks ago or more but not
  linked to it in the store (a run killed in between), which the anchors cannot cover until
  linked (a re-run, a trace or a certificate of them links them).

Covered: activity details of activities created on chain, record details linked to the chain (a
record id or a paid batch), and certificates. Their content columns are covered; the links to the
chain (record ids, batch positions, which change as a record moves on chain) are checked against
the chain itself by ``vpl audit verify record:N``. A row inserted and anchored before anyone
looked, or changed between two anchors and changed back, is outside what anchoring can show.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eth_utils import keccak
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from ledger.chain.contracts.base import ContractClient
from ledger.chain.tx import Signer, TxResult
from ledger.earning.chunks import link_approved_chunks
from ledger.errors import InputError, RecordNotFound
from ledger.store.anchors import StoreAnchor, StoreAnchorLeaf
from ledger.store.db import session
from ledger.store.records import ActivityDetails, IssuedCertificate, RecordDetails, canonical_json

if TYPE_CHECKING:
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)

#: Snapshots of this many newest anchors keep their leaves (older ones keep their header only).
KEEP_SNAPSHOTS = 3
#: A row created this long before a digest began should have been in it: one absent from the
#: anchor and dated earlier was inserted back-dated (a row being written as the digest ran, and
#: committed just after it, is younger than this).
INSERT_MARGIN = timedelta(minutes=5)
#: A batch chunk approved on chain this many blocks ago whose store rows are still not linked to
#: it was left so by an interrupted run: its rows are outside the anchors until linked (a run in
#: progress links a chunk right after its approval is mined).
UNLINKED_DEPTH = 12
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


# --- the contract ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainAnchor:
    id: int
    root: str
    rows: int
    timestamp: int
    block: int
    anchorer: str


class StoreAnchorsClient(ContractClient):
    def anchor(self, account: Signer, root: bytes, rows: int) -> TxResult:
        return self._write(account, "anchor", root, rows)

    def count(self) -> int:
        return int(self._read("anchorCount"))

    def at(self, anchor_id: int) -> ChainAnchor:
        raw = self._read("anchorAt", anchor_id)
        return ChainAnchor(
            id=anchor_id,
            root="0x" + bytes(raw[0]).hex(),
            rows=int(raw[1]),
            timestamp=int(raw[2]),
            block=int(raw[3]),
            anchorer=str(raw[4]),
        )


# --- anchoring and verification ------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorOutcome:
    anchor_id: int
    root: str
    rows: int
    pending: int
    #: False when the store had not changed since the newest anchor (nothing sent).
    created: bool
    tx_hash: str | None
    block: int


@dataclass(frozen=True)
class RowFinding:
    #: altered, deleted, inserted, unlinked (paid on chain, not linked in the store)
    kind: str
    table: str
    row_id: int
    detail: str


@dataclass(frozen=True)
class StoreVerification:
    anchor_id: int | None
    anchored_at: datetime | None
    anchor_rows: int
    rows_now: int
    #: Problems with the anchors themselves (a snapshot altered or missing).
    anchor_problems: tuple[str, ...]
    findings: tuple[RowFinding, ...]
    #: Rows added since the anchor (not covered yet) and rows not yet linked to the chain.
    new_since: int
    pending: int
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def clean(self) -> bool:
        return not self.anchor_problems and not self.findings


class Anchors:
    """Anchor the store of `ledger` on chain and verify it against its anchors."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.client = ledger._client(StoreAnchorsClient, "StoreAnchors")
        self._stop = threading.Event()

    @property
    def engine(self) -> Engine:
        return self.ledger.engine

    def anchor(self, signer: Signer | None = None, *, force: bool = False) -> AnchorOutcome:
        """Anchor the store's root now, unless it equals the newest anchor's (`force` anchors
        anyway). The snapshot is written after the anchor is mined; a crash between the two is
        repaired by the next run (an anchor on chain whose root the store gives again)."""
        signer = signer or self.ledger.operator("anchorer")
        digest = digest_store(self.engine)
        root = "0x" + digest.root.hex()
        count = self.client.count()
        latest = self.client.at(count) if count else None
        if latest is not None and latest.root == root and not force:
            if self._snapshot(latest.id) is None:
                self._keep(latest.id, latest.root, latest.block, None, latest.timestamp, digest)
            return AnchorOutcome(latest.id, root, digest.rows, digest.pending, False, None,
                                 latest.block)  # fmt: skip
        result = self.client.anchor(signer, digest.root, digest.rows)
        anchor_id = self.client.count()
        mined = self.client.at(anchor_id)
        self._keep(anchor_id, root, result.block_number, result.tx_hash, mined.timestamp, digest)
        log.info("anchored the store: %d rows, root %s (anchor %d)", digest.rows, root, anchor_id)
        return AnchorOutcome(anchor_id, root, digest.rows, digest.pending, True, result.tx_hash,
                             result.block_number)  # fmt: skip

    def _keep(
        self,
        anchor_id: int,
        root: str,
        block: int,
        tx_hash: str | None,
        timestamp: int,
        digest: StoreDigest,
    ) -> None:
        with session(self.engine) as db:
            db.merge(
                StoreAnchor(
                    id=anchor_id,
                    root=root,
                    rows=digest.rows,
                    tx_hash=tx_hash or "",
                    block=block,
                    anchored_at=datetime.fromtimestamp(timestamp, UTC),
                    high_ids=json.dumps(digest.high_ids, sort_keys=True),
                    pending_ids=json.dumps(digest.pending_ids, sort_keys=True),
                    digest_at=digest.started_at,
                )
            )
            db.execute(delete(StoreAnchorLeaf).where(col(StoreAnchorLeaf.anchor_id) == anchor_id))
            rows = [
                {"anchor_id": anchor_id, "table_name": t, "row_id": i, "leaf": leaf}
                for (t, i), leaf in digest.leaves.items()
            ]
            for start in range(0, len(rows), 5_000):
                db.execute(StoreAnchorLeaf.__table__.insert(), rows[start : start + 5_000])  # type: ignore[attr-defined]
            kept = [
                a.id
                for a in db.exec(
                    select(StoreAnchor).order_by(col(StoreAnchor.id).desc()).limit(KEEP_SNAPSHOTS)
                )
            ]
            db.execute(
                delete(StoreAnchorLeaf).where(col(StoreAnchorLeaf.anchor_id).not_in(kept or [0]))
            )

    def _snapshot(self, anchor_id: int) -> StoreAnchor | None:
        with Session(self.engine) as db:
            return db.get(StoreAnchor, anchor_id)

    def anchors(self, *, last: int = 20) -> list[ChainAnchor]:
        """The newest anchors on chain, newest first."""
        if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last <= 500:
            raise InputError(f"last must be a whole number from 1 to 500, not {last!r}")
        count = self.client.count()
        return [self.client.at(i) for i in range(count, max(count - last, 0), -1)]

    def verify(self) -> StoreVerification:
        """The store against its newest anchor on chain (see the module docstring)."""
        count = self.client.count()
        digest = digest_store(self.engine)
        if count == 0:
            raise RecordNotFound(
                "the store has never been anchored: run `vpl audit anchor` (or the job "
                "`vpl audit anchor --every 3600`) first",
            )
        problems: list[str] = []
        with Session(self.engine) as db:
            snapshots = {a.id: a for a in db.exec(select(StoreAnchor))}
            with_leaves = {
                i
                for (i,) in db.execute(select(StoreAnchorLeaf.anchor_id).distinct())  # type: ignore[call-overload]
            }
        # Anchors newer than the newest snapshot are what deleting a snapshot would hide.
        newest = max(snapshots, default=0)
        missing = list(range(count, newest, -1))
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            problems.append(
                f"anchor(s) {shown} on chain have no snapshot in the store (deleted, or the "
                "anchoring job crashed before writing it: run it again)"
            )
        usable = sorted((i for i in with_leaves if i in snapshots), reverse=True)
        if not usable:
            problems.append("no anchor's snapshot is left in the store to compare the rows with")
            return StoreVerification(None, None, 0, digest.rows, tuple(problems), (),
                                     digest.rows, digest.pending)  # fmt: skip
        anchor_id = usable[0]
        if anchor_id != count:
            problems.append(
                f"the newest anchor on chain is {count}; the newest snapshot left is {anchor_id}"
            )
        snap = snapshots[anchor_id]
        chain = self.client.at(anchor_id)
        with Session(self.engine) as db:
            leaves = {
                (row.table_name, row.row_id): row.leaf
                for row in db.exec(
                    select(StoreAnchorLeaf)
                    .where(col(StoreAnchorLeaf.anchor_id) == anchor_id)
                    .order_by(col(StoreAnchorLeaf.table_name), col(StoreAnchorLeaf.row_id))
                )
            }
        recomputed = "0x" + merkle_root([bytes.fromhex(v[2:]) for v in leaves.values()]).hex()
        if recomputed != chain.root or len(leaves) != chain.rows:
            problems.append(
                f"the snapshot of anchor {anchor_id} does not give the root recorded on chain "
                f"({chain.root}, {chain.rows} rows): the snapshot itself was altered"
            )
        if snap.root != chain.root:
            problems.append(f"anchor {anchor_id}'s root in the store is not the chain's")
        high = json.loads(snap.high_ids)
        pending = {t: set(ids) for t, ids in json.loads(snap.pending_ids).items()}
        back_dated = _aware(snap.digest_at) - INSERT_MARGIN
        anchored_at = datetime.fromtimestamp(chain.timestamp, UTC)
        created = _created(self.engine, digest.leaves.keys() - leaves.keys())
        findings: list[RowFinding] = []
        new_since = 0
        for key in sorted(leaves.keys() | digest.leaves.keys()):
            table, row_id = key
            before, now = leaves.get(key), digest.leaves.get(key)
            if before is not None and now is None:
                findings.append(RowFinding("deleted", table, row_id, "anchored, gone now"))
            elif before is not None and before != now:
                findings.append(RowFinding("altered", table, row_id, "content differs from anchor"))
            elif before is None:
                at = created.get(key)
                below = row_id <= high.get(table, 0) and row_id not in pending.get(table, set())
                if below or (at is not None and at < back_dated):
                    when = at.isoformat() if at else "unknown"
                    findings.append(
                        RowFinding(
                            "inserted", table, row_id,
                            f"not anchored though older than anchor {anchor_id} (created {when})",
                        )
                    )  # fmt: skip
                else:
                    new_since += 1
        findings += self._unlinked(digest)
        return StoreVerification(
            anchor_id=anchor_id,
            anchored_at=anchored_at,
            anchor_rows=chain.rows,
            rows_now=digest.rows,
            anchor_problems=tuple(problems),
            findings=tuple(findings),
            new_since=new_since,
            pending=digest.pending,
        )

    def _unlinked(self, digest: StoreDigest) -> list[RowFinding]:
        """Rows of chunks approved on chain at least UNLINKED_DEPTH blocks ago and still not
        linked to their batch: paid, yet outside the anchors (nothing is linked here)."""
        pending = digest.pending_ids.get("record_details", [])
        if not pending:
            return []
        with Session(self.engine) as db:
            hashes = {
                str(h)
                for start in range(0, len(pending), 500)
                for h in db.exec(
                    select(RecordDetails.chunk_hash).where(
                        col(RecordDetails.id).in_(pending[start : start + 500]),
                        col(RecordDetails.chunk_hash).is_not(None),
                    )
                )
            }
        if not hashes:
            return []
        head = self.ledger.w3.eth.block_number
        findings = []
        for link in link_approved_chunks(
            self.ledger.engine, self.ledger.records, hashes, write=False
        ):
            c = link.chunk
            if head - c.block < UNLINKED_DEPTH:
                continue
            paid = (
                f"paid on chain in batch {c.batch_id} (block {c.block}, {head - c.block} blocks "
                "ago) but not linked to it in the store, so outside the anchors"
            )
            fix = f"`vpl audit verify batch:{c.batch_id}` or running the file again links it"
            findings += [RowFinding("unlinked", "record_details", i, f"{paid}; {fix}")
                         for i in link.rows]  # fmt: skip
            findings += [
                RowFinding("unlinked", "record_details", i,
                           f"{paid}; and it differs from the record paid: {why}")
                for i, why in link.differing
            ]  # fmt: skip
        return sorted(findings, key=lambda f: f.row_id)

    def run(
        self, every_seconds: float, *, on_anchor: Callable[[AnchorOutcome], None] | None = None
    ) -> None:
        """Anchor now and every `every_seconds` until ``stop()``."""
        while not self._stop.is_set():
            outcome = self.anchor()
            if on_anchor is not None:
                on_anchor(outcome)
            self._stop.wait(every_seconds)

    def stop(self) -> None:
        self._stop.set()


def _created(engine: Engine, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], datetime]:
    """Creation times of rows (to tell back-dated insertions from rows new since an anchor)."""
    by_table: dict[str, list[int]] = {}
    for table, row_id in keys:
        by_table.setdefault(table, []).append(row_id)
    out: dict[tuple[str, int], datetime] = {}
    models = {c.name: c.model for c in COVERED}
    with Session(engine) as db:
        for table, ids in by_table.items():
            model = models[table]
            for start in range(0, len(ids), 500):
                rows: Iterable[Any] = db.exec(
                    select(model).where(col(model.id).in_(ids[start : start + 500]))  # type: ignore[attr-defined]
                )
                for row in rows:
                    out[(table, row.id)] = _aware(row.created_at)
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def verification_data(v: StoreVerification) -> dict[str, Any]:
    return {
        "clean": v.clean,
        "anchor_id": v.anchor_id,
        "anchored_at": v.anchored_at,
        "anchor_rows": v.anchor_rows,
        "rows_now": v.rows_now,
        "new_since_anchor": v.new_since,
        "pending": v.pending,
        "anchor_problems": list(v.anchor_problems),
        "findings": [
            {"kind": f.kind, "table": f.table, "row_id": f.row_id, "detail": f.detail}
            for f in v.findings
        ],
    }
