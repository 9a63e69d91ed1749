"""Verification of the store against its newest anchor on chain (``verify_store``).

The newest snapshot is checked against the chain (recomputing its root: a snapshot altered to hide
a change no longer gives the root on chain; an anchor on chain with no snapshot means the snapshot
was deleted), then the rows now are compared with the snapshot: rows **altered**, **deleted**,
**inserted** (absent from the snapshot though older than it: an id below the highest anchored
that was not waiting to be linked, or created well before the digest began, by the store's own
clock) and rows **new since** the anchor (not covered yet); and rows **unlinked**: of a batch
chunk approved on chain ``UNLINKED_DEPTH`` blocks ago or more but not linked to it in the store
(a run killed in between), which the anchors cannot cover until linked (a re-run, a trace or a
certificate of them links them). A row inserted and anchored before anyone looked, or changed
between two anchors and changed back, is outside what anchoring can show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from ledger.audit.anchors.client import StoreAnchorsClient
from ledger.audit.anchors.digest import COVERED, StoreDigest, digest_store, merkle_root
from ledger.chain.contracts.service_records import ServiceRecordsClient
from ledger.earning.chunks import link_approved_chunks
from ledger.errors import RecordNotFound
from ledger.store.anchors import StoreAnchor, StoreAnchorLeaf
from ledger.store.records import RecordDetails

#: A row created this long before a digest began should have been in it: one absent from the
#: anchor and dated earlier was inserted back-dated (a row being written as the digest ran, and
#: committed just after it, is younger than this).
INSERT_MARGIN = timedelta(minutes=5)
#: A batch chunk approved on chain this many blocks ago whose store rows are still not linked to
#: it was left so by an interrupted run: its rows are outside the anchors until linked (a run in
#: progress links a chunk right after its approval is mined).
UNLINKED_DEPTH = 12


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


def verify_store(
    engine: Engine, client: StoreAnchorsClient, records: ServiceRecordsClient, w3: Web3
) -> StoreVerification:
    """The store against its newest anchor on chain (see the module docstring)."""
    count = client.count()
    digest = digest_store(engine)
    if count == 0:
        raise RecordNotFound(
            "the store has never been anchored: run `vpl audit anchor` (or the job "
            "`vpl audit anchor --every 3600`) first",
        )
    problems: list[str] = []
    with Session(engine) as db:
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
    # an anchor of a store with no settled rows has no leaves, and needs none
    usable = sorted(
        (i for i, a in snapshots.items() if i in with_leaves or a.rows == 0), reverse=True
    )
    if not usable:
        problems.append("no anchor's snapshot is left in the store to compare the rows with")
        # rows paid on chain and never linked are outside every anchor: found all the same
        unlinked = tuple(_unlinked(engine, records, w3, digest))
        return StoreVerification(None, None, 0, digest.rows, tuple(problems), unlinked,
                                 digest.rows, digest.pending)  # fmt: skip
    anchor_id = usable[0]
    if anchor_id != count:
        problems.append(
            f"the newest anchor on chain is {count}; the newest snapshot left is {anchor_id}"
        )
    snap = snapshots[anchor_id]
    chain = client.at(anchor_id)
    with Session(engine) as db:
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
    created = _created(engine, digest.leaves.keys() - leaves.keys())
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
    findings += _unlinked(engine, records, w3, digest)
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


def _unlinked(
    engine: Engine, records: ServiceRecordsClient, w3: Web3, digest: StoreDigest
) -> list[RowFinding]:
    """Rows of chunks approved on chain at least UNLINKED_DEPTH blocks ago and still not
    linked to their batch: paid, yet outside the anchors (nothing is linked here)."""
    pending = digest.pending_ids.get("record_details", [])
    if not pending:
        return []
    with Session(engine) as db:
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
    head = w3.eth.block_number
    findings = []
    for link in link_approved_chunks(engine, records, hashes, write=False):
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
