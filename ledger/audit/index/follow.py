"""The event indexer: follows the chain and writes every event of our contracts into the index.

In Ponder's manner: a sync runs explicit steps over block ranges,

- **reorg**: the stored hash of the newest indexed block is compared with the chain's; on a
  mismatch the fork block is found among the kept hashes and everything indexed after it is
  deleted (``IndexBlock`` keeps the newest ``index_reorg_depth`` blocks' hashes);
- **block**: one ``eth_getLogs`` over every address of the deployment per range, the headers of the
  blocks that have logs (and of the blocks not yet final) in one batched request
  (``ledger.audit.index.node``), each log decoded with the build's ABIs
  (``ledger.audit.index.decoding``), kept whole (``IndexEvent``) and passed to the handlers
  registered for its ``"Contract:Event"`` (``ledger.audit.index.handlers``); a range is written
  in one database transaction with bulk inserts (``ledger.audit.index.writes``);
- **finalize**: hashes of blocks deeper than the reorg depth are dropped.

Reads are in ``ledger.audit.index.queries`` (``Indexer`` inherits them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ledger.audit.index import state as index_state
from ledger.audit.index import writes
from ledger.audit.index.bounds import behind
from ledger.audit.index.decoding import EventDecoder
from ledger.audit.index.handlers import handle_range
from ledger.audit.index.node import ChainMoved, NodeReader
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import IndexSource
from ledger.errors import IndexerError, ReorgTooDeep, RetryableChainError, RetryableIndexerError
from ledger.store.index import IndexBlock, IndexState
from ledger.store.lease import Lease

log = logging.getLogger(__name__)
#: The lease of the one process that follows the chain into a store's index, and how often the
#: others try to take it (a dead follower is replaced within this).
FOLLOWER_LEASE = "index-follower"
LEASE_POLL_SECONDS = 2.0
#: What the indexer follows (the ``Ledger``, typically; ``Indexer.ledger`` keeps its type).
L = TypeVar("L", bound=IndexSource)


@dataclass(frozen=True)
class Reorg:
    """A reorg undone: everything indexed after `fork_block` was deleted and indexed again."""

    fork_block: int
    #: Blocks of the old branch whose rows were deleted (indexed block - fork block).
    dropped_blocks: int
    dropped_events: int


@dataclass(frozen=True)
class SyncReport:
    from_block: int
    #: The index holds every block up to here now.
    to_block: int
    chain_head: int
    blocks: int
    events: int
    movements: int
    seconds: float
    reorg: Reorg | None
    rpc_requests: int

    @property
    def behind(self) -> int:
        return max(self.chain_head - self.to_block, 0)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class IndexStatus:
    indexed_block: int
    chain_head: int
    blocks_behind: int
    #: Blocks up to here are deeper than the reorg depth (their hashes are no longer kept).
    finalized_block: int
    events: int
    movements: int
    #: When the index last synced (unix seconds), None if never.
    synced_at: int | None


_SYNC_LOCKS: dict[str, threading.Lock] = {}
_SYNC_LOCKS_GUARD = threading.Lock()


def _sync_lock(database: str) -> threading.Lock:
    with _SYNC_LOCKS_GUARD:
        return _SYNC_LOCKS.setdefault(database, threading.Lock())


class Indexer(IndexQueries, Generic[L]):
    """Follows the chain of ``ledger``'s deployment into its store (``ledger.engine``)."""

    def __init__(
        self,
        ledger: L,
        *,
        reorg_depth: int | None = None,
        blocks_per_request: int | None = None,
    ) -> None:
        super().__init__(ledger.engine, confirmations=ledger.network.confirmations)
        self.ledger = ledger
        self.reorg_depth = reorg_depth or ledger.settings.index_reorg_depth
        self.blocks_per_request = blocks_per_request or ledger.settings.index_blocks_per_request
        self._stop = threading.Event()

    @cached_property
    def decoder(self) -> EventDecoder:
        manifest = self.ledger.manifest
        build = self.ledger.build
        return EventDecoder(
            {name: (c.address, build.get(name).abi) for name, c in manifest.contracts.items()}
        )

    def event_names(self) -> frozenset[str] | None:
        return frozenset(
            entry["name"]
            for artifact in self.ledger.build.artifacts.values()
            for entry in artifact.abi
            if entry.get("type") == "event"
        )

    @cached_property
    def _node(self) -> NodeReader:
        return NodeReader(self.ledger.w3)

    @cached_property
    def _addresses_by_name(self) -> dict[str, str]:
        return {name: address for address, name in self.decoder.names_by_address.items()}

    # --- public --------------------------------------------------------------------------------

    def sync(self, *, max_blocks: int | None = None) -> SyncReport:
        """Catch up with the chain (at most `max_blocks` blocks past the indexed block): undo a
        reorg first if there was one, then index block ranges, each in one database transaction.

        One sync at a time per database in this process (the API's follower thread and a caller
        both syncing wrote the same blocks twice); another process that indexed a range first is
        seen as a duplicate row, and the sync reads the index's state again and goes on."""
        if max_blocks is not None and max_blocks < 1:
            raise IndexerError("max_blocks must be at least 1 (or None for the whole chain)")
        with _sync_lock(str(self.ledger.engine.url)):
            return self._sync(max_blocks)

    def _sync(self, max_blocks: int | None) -> SyncReport:
        started = time.perf_counter()
        self._node.requests = 0
        state = self._state()
        first = state.indexed_block + 1
        reorg: Reorg | None = None
        events = movements = 0
        for _attempt in range(5):
            head = self._node.head()
            undone = self._reorg(state, head)
            if undone is not None:
                reorg = (
                    undone
                    if reorg is None
                    else Reorg(
                        undone.fork_block,
                        reorg.dropped_blocks + undone.dropped_blocks,
                        reorg.dropped_events + undone.dropped_events,
                    )
                )
                state = self._state()
                first = min(first, state.indexed_block + 1)
            target = head if max_blocks is None else min(head, state.indexed_block + max_blocks)
            try:
                while state.indexed_block < target:
                    start = state.indexed_block + 1
                    end = min(target, start + self.blocks_per_request - 1)
                    end, n_events, n_movements = self._block(state, start, end, head)
                    events += n_events
                    movements += n_movements
                    state = self._state()
                break
            except ChainMoved:
                log.info("the chain reorganised while it was read; checking again")
                state = self._state()
            except IntegrityError:
                log.info("another process indexed these blocks first; reading the index again")
                state = self._state()
        else:
            raise RetryableIndexerError(
                "the chain kept reorganising while the index read it; sync again later"
            )
        self._finalize(state)
        return SyncReport(
            from_block=first,
            to_block=state.indexed_block,
            chain_head=max(head, state.indexed_block),
            blocks=max(state.indexed_block - first + 1, 0),
            events=events,
            movements=movements,
            seconds=time.perf_counter() - started,
            reorg=reorg,
            rpc_requests=self._node.requests,
        )

    def status(self) -> IndexStatus:
        """How far the index is, and how far behind the chain's newest block (asks the node)."""
        head = self._node.head()
        with Session(self.engine) as db:
            row = db.get(IndexState, 1)
            indexed = row.indexed_block if row else self.ledger.manifest.deploy_block - 1
            counts = index_state.counts(db)
            synced_at = row.synced_at if row else None
        return IndexStatus(
            indexed_block=indexed,
            chain_head=head,
            blocks_behind=behind(indexed, head),
            finalized_block=max(min(indexed, head - self.reorg_depth), 0),
            events=counts[0],
            movements=counts[1],
            synced_at=synced_at,
        )

    def run(
        self,
        poll_seconds: float = 2.0,
        *,
        on_sync: Callable[[SyncReport], None] | None = None,
        lease: Lease | None = None,
        on_lead: Callable[[bool], None] | None = None,
    ) -> None:
        """Follow the chain until ``stop()``: sync, wait `poll_seconds`, again. A node that drops
        or a chain that moves under a sync is retried; any other error ends the loop. Once
        stopped, an Indexer stays stopped (a stop that comes before ``run`` starts counts).

        With a `lease` (the store's ``index-follower``), only while this process holds it: it is
        asked before each sync, taken when free (tried every LEASE_POLL_SECONDS), and
        `on_lead` told each time this process starts or stops following."""
        leading = False
        while not self._stop.is_set():
            if lease is not None:
                now = lease.held() or lease.acquire()
                if now != leading:
                    leading = now
                    if on_lead is not None:
                        on_lead(now)
                if not now:
                    self._stop.wait(LEASE_POLL_SECONDS)
                    continue
            try:
                report = self.sync(max_blocks=self.blocks_per_request * 10)
            except (RetryableChainError, RetryableIndexerError) as exc:
                log.warning("index sync failed, retrying in %.1f s: %s", poll_seconds, exc)
                self._stop.wait(poll_seconds)
                continue
            if on_sync is not None:
                on_sync(report)
            if report.behind == 0:
                self._stop.wait(poll_seconds)

    def stop(self) -> None:
        """Ends ``run`` after the range under way (from another thread or a signal handler); a
        lease it held is given up by whoever holds the lease object."""
        self._stop.set()

    def reset(self) -> None:
        """Delete the whole index (the next sync starts again from the deployment's block)."""
        index_state.reset(self.engine)

    # --- steps ---------------------------------------------------------------------------------

    def _state(self) -> IndexState:
        return index_state.open_state(self.engine, self.ledger.manifest)

    def _reorg(self, state: IndexState, head: int) -> Reorg | None:
        """Compare the newest kept block with the chain; on a mismatch roll back to the fork."""
        with Session(self.engine) as db:
            kept = list(db.exec(select(IndexBlock).order_by(IndexBlock.number.desc())))  # type: ignore[attr-defined]
        if not kept:
            return None
        newest = kept[0]
        [current] = self._node.hashes([newest.number])
        if current == newest.hash:
            return None
        hashes = self._node.hashes([b.number for b in kept])
        fork = next((b for b, h in zip(kept, hashes, strict=True) if h == b.hash), None)
        if fork is None:
            raise ReorgTooDeep(
                f"the chain no longer holds any of the {len(kept)} newest indexed blocks "
                f"({kept[-1].number}-{newest.number}): a reorg deeper than the {self.reorg_depth} "
                "blocks kept, or another chain. Run `vpl index reset` and sync again",
                oldest_kept=kept[-1].number,
                indexed_block=state.indexed_block,
            )
        dropped = writes.roll_back(self.engine, fork)
        log.warning(
            "reorg: blocks %d-%d replaced on chain; %d events rolled back",
            fork.number + 1,
            state.indexed_block,
            dropped,
        )
        return Reorg(fork.number, state.indexed_block - fork.number, dropped)

    def _block(self, state: IndexState, start: int, end: int, head: int) -> tuple[int, int, int]:
        """Index blocks start..end (fewer if the node refuses the range): logs, headers, handlers,
        one transaction. Returns the last block indexed and the events and movements written."""
        raw_logs, end = self._node.logs(start, end, self.decoder.addresses)
        decoded = [e for e in map(self.decoder.decode, raw_logs) if e is not None]
        unfinal = max(start, head - self.reorg_depth + 1)
        numbers = sorted(
            {e.block_number for e in decoded} | {start, end} | set(range(unfinal, end + 1))
        )
        headers = self._node.headers(numbers)
        for e in decoded:
            if headers[e.block_number]["hash"] != e.block_hash:
                raise ChainMoved
        if state.indexed_hash is not None and headers[start]["parentHash"] != state.indexed_hash:
            raise ChainMoved
        timestamps = {n: int(h["timestamp"], 16) for n, h in headers.items()}
        ctx = handle_range(decoded, self._addresses_by_name, timestamps)
        kept = [n for n in numbers if n >= unfinal or n == end]
        writes.write_range(
            self.engine, decoded, ctx, headers, kept, start=start, end=end, head=head
        )
        return end, len(decoded), len(ctx.movements)

    def _finalize(self, state: IndexState) -> None:
        """Forget the hashes of blocks deeper than the reorg depth (never the newest indexed)."""
        writes.finalize(self.engine, state.indexed_block - self.reorg_depth + 1)
