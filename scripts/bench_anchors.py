"""Benchmark of the store's tamper evidence: the leaves and Merkle root of a large store.

    .venv/bin/python scripts/bench_anchors.py [--rows 100000] [--database-url URL]

Fills a fresh store (SQLite in a temporary directory unless --database-url) with `rows` record
details linked to the chain (the covered rows that dominate a city's store), then times
``digest_store`` (read every covered row, hash it, build the tree) twice. Prints figures; asserts
nothing. Anchoring itself is one transaction whatever the size; the snapshot write is timed too.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ledger.audit.anchors.digest import StoreDigest, digest_store
from ledger.store import init_db, make_engine
from ledger.store.anchors import StoreAnchorLeaf
from ledger.store.db import session
from ledger.store.records import RecordDetails


def fill(url: str, rows: int) -> None:
    engine = make_engine(url)
    init_db(engine)
    now = datetime.now(UTC)
    details = json.dumps(
        {
            "activity": "助老送餐",
            "place": "百瑞景社区",
            "content": "为独居老人送午餐",
            "hours": "2.0",
            "organising_unit": "百瑞景社区居委会",
        },
        ensure_ascii=False,
    )
    batch = []
    for i in range(rows):
        batch.append(
            {
                "scheme_id": 1,
                "record_key": f"R-{i}",
                "volunteer": "0x" + os.urandom(20).hex(),
                "record_id": i + 1,
                "activity_id": 0,
                "start": 1_700_000_000 + i * 7200,
                "end": 1_700_003_600 + i * 7200,
                "details_hash": "0x" + os.urandom(32).hex(),
                "evidence_hash": "0x" + os.urandom(32).hex(),
                "details_json": details,
                "created_at": now,
            }
        )
        if len(batch) == 10_000 or i == rows - 1:
            with engine.begin() as conn:
                conn.execute(RecordDetails.__table__.insert(), batch)  # type: ignore[attr-defined]
            batch = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vpl-bench-anchors-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'store.db'}"
        started = time.perf_counter()
        fill(url, args.rows)
        print(f"store of {args.rows:,} record rows filled in {time.perf_counter() - started:.1f} s")
        engine = make_engine(url)
        digest: StoreDigest | None = None
        for run in (1, 2):
            started = time.perf_counter()
            digest = digest_store(engine)
            took = time.perf_counter() - started
            print(
                f"digest {run}: {digest.rows:,} leaves, root 0x{digest.root.hex()[:16]}..., "
                f"{took:.2f} s ({digest.rows / took:,.0f} rows/s)"
            )
        assert digest is not None
        started = time.perf_counter()
        rows = [
            {"anchor_id": 1, "table_name": t, "row_id": i, "leaf": leaf}
            for (t, i), leaf in digest.leaves.items()
        ]
        with session(engine) as db:
            for at in range(0, len(rows), 5_000):
                db.execute(StoreAnchorLeaf.__table__.insert(), rows[at : at + 5_000])  # type: ignore[attr-defined]
        print(f"snapshot of {len(rows):,} leaves written in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
