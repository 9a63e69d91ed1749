"""Benchmark of the event indexer: catch-up speed from a local anvil node.

    .venv/bin/python scripts/bench_indexer.py [--records 10000] [--files 2] [--chunk 200]
                                              [--database-url postgresql+psycopg://...]

It registers `records` members in batches and pays them `files` CSV files by batch issuance
(``ledger.earning.batch``, as ``bench_earning.py`` does), so the chain holds tens of thousands of events
(MemberRegistered, one TransferSingle per record, the batches' own events). Then it indexes the
whole chain from the deployment's block into a fresh database (SQLite in a temporary directory
unless --database-url), timed end to end: eth_getLogs, block headers, decoding, handlers and
bulk inserts; a second sync shows the cost of an up-to-date check. Prints figures; asserts
nothing (the target, >= 5,000 events/s, is checked here, never in timed unit tests). Then it
times the auditors' queries over that index (reconciliation, quota use, a batch trace, a
member's file, events by reference).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Callable

from web3 import Web3

from ledger.audit.checks.members import member_file
from ledger.audit.checks.quota import quota_use
from ledger.audit.checks.supply import reconcile
from ledger.audit.index.follow import Indexer
from ledger.audit.trace.batches import trace_batch
from ledger.ledger import Ledger
from scripts.bench_earning import bench_chain, cst_midnight, pay_file, setup, write_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="members, records per file")
    parser.add_argument("--files", type=int, default=2, help="files paid (one record a member)")
    parser.add_argument("--chunk", type=int, default=200, help="records per batch")
    parser.add_argument("--database-url", default=None, help="index into this database")
    args = parser.parse_args()
    with bench_chain() as (root, settings, ledger):
        members = [Web3.to_checksum_address(secrets.token_bytes(20)) for _ in range(args.records)]
        print(f"anvil: registering {args.records} members, paying {args.files} files ...")
        started = time.perf_counter()
        keys = setup(ledger, members, per_registration=200)
        today = cst_midnight(ledger)
        for f in range(args.files):
            path = root / f"day-{f}.csv"
            write_file(path, members, today - (args.files - f) * 86400 + 8 * 3600, f"D{f}")
            pay_file(ledger, keys, path, args.chunk)
        print(
            f"chain ready in {time.perf_counter() - started:.0f} s, "
            f"head {ledger.w3.eth.block_number}",
            flush=True,
        )

        url = args.database_url or f"sqlite:///{root / 'index.db'}"
        index_settings = settings.model_copy(update={"database_url": url})
        indexer = Indexer(Ledger(index_settings))
        indexer.reset()
        assert indexer.decoder.addresses  # the verified manifest and the ABIs, outside the timing
        report = indexer.sync()
        again = indexer.sync()
        backend = url.split(":", 1)[0]
        print(
            f"catch-up into {backend}: {report.events} events ({report.movements} point "
            f"movements) in {report.blocks} blocks, {report.seconds:.2f} s, "
            f"{report.events_per_second:,.0f} events/s, {report.rpc_requests} JSON-RPC requests"
        )
        print(f"up-to-date sync: {again.seconds * 1000:.0f} ms, {again.rpc_requests} requests")
        print("target: >= 5,000 events/s catch-up from a local node")
        audit_queries(ledger, indexer, members[0])
        indexer.ledger.close()


def audit_queries(ledger: Ledger, index: Indexer, member: str) -> None:
    """Auditors' queries over the index just built (scheme VOL, its batches, one member): the
    median of a few runs of each, in milliseconds."""
    batch_id = ledger.records.batch_count()
    queries: list[tuple[str, Callable[[], object]]] = [
        ("reconcile VOL (every movement of the scheme)", lambda: reconcile(ledger, index, "VOL")),
        ("quota use VOL (12 windows)", lambda: quota_use(ledger, index, "VOL")),
        (f"trace batch {batch_id} (read back from its transaction)",
         lambda: trace_batch(ledger, index, batch_id)),
        ("a member's file (first page of events)", lambda: member_file(ledger, index, member)),
        (f"events of batch:{batch_id}", lambda: index.events(ref=f"batch:{batch_id}")),
    ]  # fmt: skip
    for name, query in queries:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            query()
            times.append((time.perf_counter() - started) * 1000)
        print(f"audit: {name}: {statistics.median(times):,.1f} ms")


if __name__ == "__main__":
    main()
