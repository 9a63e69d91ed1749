"""Anchoring the store on chain (``Anchors``): its root and row count recorded in the
``StoreAnchors`` contract (only the holder of ANCHOR_ROLE, the network's ``anchorer`` operator),
and in the store a snapshot of every leaf of that anchor. ``vpl audit anchor --every 3600`` runs
it at an interval; a store that has not changed is not anchored again. ``Anchors.verify`` checks
the store against the newest anchor (``ledger.audit.anchors.verification``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.audit.anchors.client import ChainAnchor, StoreAnchorsClient
from ledger.audit.anchors.digest import StoreDigest, digest_store
from ledger.audit.anchors.verification import StoreVerification, verify_store
from ledger.audit.needs import AnchorSource
from ledger.chain.tx import Signer
from ledger.errors import InputError
from ledger.store.anchors import StoreAnchor, StoreAnchorLeaf
from ledger.store.db import session

log = logging.getLogger(__name__)

#: Snapshots of this many newest anchors keep their leaves (older ones keep their header only).
KEEP_SNAPSHOTS = 3


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


class Anchors:
    """Anchor the store of `ledger` on chain and verify it against its anchors."""

    def __init__(self, ledger: AnchorSource) -> None:
        self.ledger = ledger
        self.client = StoreAnchorsClient(
            ledger.w3,
            ledger.sender,
            ledger.manifest.address("StoreAnchors"),
            ledger.build.get("StoreAnchors").abi,
        )
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
        """The store against its newest anchor on chain (``verify_store``)."""
        return verify_store(self.engine, self.client, self.ledger.records, self.ledger.w3)

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
