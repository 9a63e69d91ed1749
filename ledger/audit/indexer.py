"""The event indexer: follows the chain and decodes every event of our contracts into tables.

In Ponder's manner: a sync runs explicit steps over block ranges,

- **reorg**: the stored hash of the newest indexed block is compared with the chain's; on a
  mismatch the fork block is found among the kept hashes and everything indexed after it is
  deleted (``IndexBlock`` keeps the newest ``index_reorg_depth`` blocks' hashes);
- **block**: one ``eth_getLogs`` over every address of the deployment per range, the headers of the
  blocks that have logs (and of the blocks not yet final) in one batched request, each log decoded
  with the build's ABIs, kept whole (``IndexEvent``) and passed to the handlers registered for its
  ``"Contract:Event"``; a range is written in one database transaction with bulk inserts;
- **finalize**: hashes of blocks deeper than the reorg depth are dropped.

Handlers (``@on("PointsLedger:TransferSingle")``) add typed rows: the points movements of members'
history (``PointMovement``, with the kind and reference of the domain event of the same
transaction) and the schemes. Reads are in ``ledger.audit.queries`` (``Indexer`` inherits them).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import eth_abi
from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak
from sqlalchemy import Table, delete, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from ledger.audit.queries import IndexQueries
from ledger.chain.connection import rpc_batch
from ledger.errors import (
    ChainError,
    IndexerError,
    IndexMismatch,
    ReorgTooDeep,
    RetryableChainError,
    RetryableIndexerError,
)
from ledger.store import session
from ledger.store.index import (
    INDEX_SCHEMA_VERSION,
    INDEX_TABLES,
    REF_ARGS,
    IndexBlock,
    IndexedScheme,
    IndexEvent,
    IndexEventAccount,
    IndexEventRef,
    IndexSchema,
    IndexState,
    PointMovement,
)

if TYPE_CHECKING:
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
#: Kinds of the top byte of a points source or reference (ServiceRecords, TimeBank, Exchange).
SOURCE_RECORD, SOURCE_BATCH, SOURCE_TIMEBANK, REF_EXCHANGE = 1, 2, 3, 4
_LOW_248 = (1 << 248) - 1


# --- decoding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedEvent:
    """One log of our contracts, decoded."""

    contract: str
    event: str
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    args: dict[str, Any]
    #: Every account named in an address argument (lower case, without the zero address).
    accounts: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.contract}:{self.event}"


@dataclass(frozen=True)
class _EventSpec:
    contract: str
    name: str
    #: (name, type, ABI entry, dynamic: only its keccak is in the topic, one word: sliced)
    indexed: tuple[tuple[str, str, dict[str, Any], bool, bool], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_abis: tuple[dict[str, Any], ...]
    #: Every data value is one word (uint, int, address, bool, bytes32): decoded by slicing.
    static_words: bool


class EventDecoder:
    """Decodes raw JSON-RPC logs of the given contracts (name -> (address, ABI)) with eth_abi."""

    def __init__(self, contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]) -> None:
        self._specs: dict[tuple[str, str], _EventSpec] = {}
        self.names_by_address: dict[str, str] = {}
        self.events_by_contract: dict[str, set[str]] = {}
        for name, (address, abi) in contracts.items():
            self.names_by_address[address.lower()] = name
            self.events_by_contract[name] = set()
            for entry in abi:
                if entry.get("type") != "event" or entry.get("anonymous"):
                    continue
                inputs = [dict(i) for i in entry["inputs"]]
                signature = f"{entry['name']}({','.join(collapse_if_tuple(i) for i in inputs)})"
                topic = "0x" + keccak(text=signature).hex()
                data = [i for i in inputs if not i.get("indexed")]
                self._specs[(address.lower(), topic)] = _EventSpec(
                    contract=name,
                    name=entry["name"],
                    indexed=tuple(
                        (i["name"], t, i, _is_dynamic(t), _is_word(t))
                        for i in inputs
                        if i.get("indexed")
                        for t in (collapse_if_tuple(i),)
                    ),
                    data_names=tuple(i["name"] for i in data),
                    data_types=tuple(collapse_if_tuple(i) for i in data),
                    data_abis=tuple(data),
                    static_words=all(_is_word(collapse_if_tuple(i)) for i in data),
                )
                self.events_by_contract[name].add(entry["name"])

    @property
    def addresses(self) -> list[str]:
        return list(self.names_by_address)

    def decode(self, raw: Mapping[str, Any]) -> DecodedEvent | None:
        """The decoded event of a raw log, or None for a log this decoder does not know."""
        topics: list[str] = raw["topics"]
        if not topics:
            return None
        spec = self._specs.get((raw["address"].lower(), topics[0]))
        if spec is None:
            return None
        args: dict[str, Any] = {}
        accounts: list[str] = []
        for (name, type_, abi, dynamic, word), topic in zip(spec.indexed, topics[1:], strict=True):
            if dynamic:
                args[name] = topic  # the keccak of the value, as the chain keeps it
                continue
            value = _word(type_, topic[2:])
            args[name] = value if word else _plain(value, abi)
            if type_ == "address" and value != ZERO_ADDRESS:
                accounts.append(value)
        if spec.data_types:
            data = raw["data"][2:]
            if spec.static_words:  # one 32-byte word per value: sliced, not parsed by eth_abi
                values = tuple(
                    _word(t, data[64 * i : 64 * i + 64]) for i, t in enumerate(spec.data_types)
                )
            else:
                values = eth_abi.decode(spec.data_types, bytes.fromhex(data))
            for name, type_, abi, value in zip(
                spec.data_names, spec.data_types, spec.data_abis, values, strict=True
            ):
                args[name] = value if spec.static_words else _plain(value, abi)
                if type_ == "address" and value != ZERO_ADDRESS:
                    accounts.append(value)
                elif type_ == "address[]":
                    accounts.extend(v for v in value if v != ZERO_ADDRESS)
        return DecodedEvent(
            contract=spec.contract,
            event=spec.name,
            address=raw["address"].lower(),
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            tx_hash=raw["transactionHash"],
            tx_index=int(raw["transactionIndex"], 16),
            log_index=int(raw["logIndex"], 16),
            args=args,
            accounts=tuple(dict.fromkeys(accounts)),
        )


def _is_word(type_: str) -> bool:
    """A value that is one 32-byte word by itself (so ``_word`` reads it)."""
    if type_.endswith("]"):
        return False
    return type_ in ("address", "bool", "bytes32") or type_.startswith(("uint", "int"))


def _word(type_: str, word: str) -> Any:
    """One ABI word (64 hex digits) of an elementary static type; others through eth_abi."""
    if type_ == "address":
        return "0x" + word[24:].lower()
    if type_.startswith("uint"):
        return int(word, 16)
    if type_ == "bytes32":
        return "0x" + word.lower()
    if type_ == "bool":
        return int(word, 16) != 0
    if type_.startswith("int"):
        value = int(word, 16)
        return value - (1 << 256) if value >> 255 else value
    return eth_abi.decode([type_], bytes.fromhex(word))[0]


def _is_dynamic(type_: str) -> bool:
    return type_ in ("string", "bytes") or type_.endswith("]") or type_.startswith("(")


def _plain(value: Any, abi: Mapping[str, Any]) -> Any:
    """A JSON-ready value: bytes as 0x hex, structs as objects by field name, arrays as lists."""
    type_ = abi["type"]
    if type_.endswith("]"):
        inner = {**abi, "type": type_[: type_.rindex("[")]}
        return [_plain(v, inner) for v in value]
    if type_ == "tuple":
        return {c["name"]: _plain(v, c) for c, v in zip(abi["components"], value, strict=True)}
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if type_ == "address":
        return value.lower()  # one spelling everywhere in the index
    return value


def event_refs(args: Mapping[str, Any]) -> list[str]:
    """The domain references an event's arguments make (``REF_ARGS``; struct fields too), in
    order, each once; an id of 0 means none and makes no reference."""
    refs: list[str] = []
    for name, value in args.items():
        if isinstance(value, dict):
            refs.extend(event_refs(value))
            continue
        kind = REF_ARGS.get(name)
        if kind is not None and type(value) is int and value > 0:
            refs.append(f"{kind}:{value}")
    return list(dict.fromkeys(refs))


# --- handlers ----------------------------------------------------------------------------------


@dataclass
class RangeContext:
    """What the handlers of one block range see and add: the decoded events grouped by
    transaction, block times, and the typed rows to insert."""

    addresses: Mapping[str, str]
    timestamps: Mapping[int, int]
    by_tx: dict[str, list[DecodedEvent]] = field(default_factory=dict)
    #: (block, log index) -> position of the event in its transaction's list.
    positions: dict[tuple[int, int], int] = field(default_factory=dict)
    _next_domain: dict[str, list[int | None]] = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)
    schemes: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event: DecodedEvent) -> None:
        tx = self.by_tx.setdefault(event.tx_hash, [])
        self.positions[(event.block_number, event.log_index)] = len(tx)
        tx.append(event)

    def position(self, event: DecodedEvent) -> int:
        return self.positions[(event.block_number, event.log_index)]

    def next_domain(self, event: DecodedEvent) -> DecodedEvent | None:
        """The first PointsLedger domain event after `event` in its transaction."""
        tx = self.by_tx[event.tx_hash]
        following = self._next_domain.get(event.tx_hash)
        if following is None:  # one backward pass per transaction
            following = [None] * len(tx)
            upcoming: int | None = None
            for i in range(len(tx) - 1, -1, -1):
                following[i] = upcoming
                e = tx[i]
                if e.contract == "PointsLedger" and e.event in _LEDGER_DOMAIN_EVENTS:
                    upcoming = i
            self._next_domain[event.tx_hash] = following
        index = following[self.position(event)]
        return None if index is None else tx[index]

    def address_of(self, contract: str) -> str:
        return self.addresses.get(contract, "")


Handler = Callable[[DecodedEvent, RangeContext], None]
#: Handlers keyed by "Contract:Event".
HANDLERS: dict[str, Handler] = {}


def on(key: str) -> Callable[[Handler], Handler]:
    """Register a handler for the events ``"Contract:Event"``."""

    def register(handler: Handler) -> Handler:
        HANDLERS[key] = handler
        return handler

    return register


@on("PointsLedger:TransferSingle")
def _transfer_single(event: DecodedEvent, ctx: RangeContext) -> None:
    a = event.args
    _movement(event, ctx, 0, a["id"], a["from"], a["to"], a["value"])


@on("PointsLedger:TransferBatch")
def _transfer_batch(event: DecodedEvent, ctx: RangeContext) -> None:
    a = event.args
    for i, (scheme_id, amount) in enumerate(zip(a["ids"], a["values"], strict=True)):
        _movement(event, ctx, i, scheme_id, a["from"], a["to"], amount)


@on("SchemeRegistry:SchemeAdded")
def _scheme_added(event: DecodedEvent, ctx: RangeContext) -> None:
    code = bytes.fromhex(event.args["code"][2:]).rstrip(b"\x00").decode("utf-8", "replace")
    ctx.schemes.append(
        {
            "scheme_id": event.args["schemeId"],
            "code": code,
            "name": event.args["name"],
            "block_number": event.block_number,
        }
    )


def _movement(
    event: DecodedEvent,
    ctx: RangeContext,
    batch_index: int,
    scheme_id: int,
    from_: str,
    to: str,
    amount: int,
) -> None:
    kind, reference = movement_kind(event, ctx)
    ctx.movements.append(
        {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "batch_index": batch_index,
            "scheme_id": scheme_id,
            "from_address": from_.lower(),
            "to_address": to.lower(),
            "amount": str(amount),
            "kind": kind,
            "reference": reference,
            "tx_hash": event.tx_hash,
            "timestamp": ctx.timestamps[event.block_number],
        }
    )


#: PointsLedger events that say why the transfers before them happened.
_LEDGER_DOMAIN_EVENTS = frozenset(
    {
        "PointsIssued",
        "PointsIssuedInBatch",
        "PointsCorrected",
        "BalancesRecovered",
        "PointsMinted",
        "PointsBurned",
        "PointsMoved",
        "PointsHeld",
        "HoldSettled",
    }
)


def movement_kind(transfer: DecodedEvent, ctx: RangeContext) -> tuple[str, str | None]:
    """The kind and reference of a transfer, from the domain events of its transaction.

    The PointsLedger emits each transfer just before the event that explains it (PointsIssued,
    PointsHeld, HoldSettled, ...), except expiry: PointsExpired comes just before the burn it
    explains. The spending contract behind a hold, settlement or move is the transfer's operator.
    """
    tx = ctx.by_tx[transfer.tx_hash]
    position = ctx.position(transfer)
    previous = tx[position - 1] if position else None
    a = transfer.args
    if (
        previous is not None
        and previous.contract == "PointsLedger"
        and previous.event == "PointsExpired"
        and a["to"] == ZERO_ADDRESS
        and previous.args["member"] == a["from"]
    ):
        return "expired", None
    domain = ctx.next_domain(transfer)
    if domain is None:
        return "transfer", None
    d = domain.args
    operator = a["operator"]
    if domain.event in ("PointsIssued", "PointsIssuedInBatch"):
        return "issued", _source_reference(int(d["source"], 16))
    if domain.event == "PointsCorrected":
        return "corrected", _source_reference(int(d["source"], 16))
    if domain.event == "BalancesRecovered":
        return "recovered", None
    if domain.event in ("PointsMinted", "PointsBurned"):
        ref = int(d["ref"], 16)
        if operator == ctx.address_of("Exchange") and ref >> 248 == REF_EXCHANGE:
            return "exchanged", f"exchange:{ref & _LOW_248}"
        return ("minted" if domain.event == "PointsMinted" else "burned"), d["ref"]
    if domain.event == "PointsMoved":
        if operator == ctx.address_of("Gifts"):
            after = _next_of(tx, ctx.position(domain), "Gifts")
            if after is not None and after.event == "FundDonated":
                return "fund_donation", f"fund:{after.args['fundId']}"
            if after is not None and after.event == "FundGranted":
                return "fund_grant", f"fund:{after.args['fundId']}"
            if after is not None and after.event == "PointsGiven":
                return "gift", None
        return "moved", d["ref"]
    if domain.event == "PointsHeld":
        ref = int(d["ref"], 16)
        if operator == ctx.address_of("Catalogue"):
            return "redemption_hold", f"order:{ref}"
        if operator == ctx.address_of("TimeBank"):
            return "timebank_hold", f"request:{ref & _LOW_248}"
        return "held", f"hold:{d['holdId']}"
    # HoldSettled: a burn, a payment to the payee, or the rest returned to the owner.
    burned = a["to"] == ZERO_ADDRESS
    paid = not burned and a["to"] == d["payee"] and d["paid"] != 0
    if operator == ctx.address_of("Catalogue"):
        order = _nearest_arg(tx, ctx.position(domain), "Catalogue", "orderId")
        reference = f"order:{order}" if order is not None else f"hold:{d['holdId']}"
        return ("redemption_fulfilled" if burned else "redemption_refund"), reference
    if operator == ctx.address_of("TimeBank"):
        request = _nearest_arg(tx, ctx.position(domain), "TimeBank", "requestId")
        reference = f"request:{request}" if request is not None else f"hold:{d['holdId']}"
        return ("timebank_payment" if paid else "timebank_refund"), reference
    kind = "hold_burned" if burned else "hold_paid" if paid else "hold_returned"
    return kind, f"hold:{d['holdId']}"


def _source_reference(source: int) -> str:
    kind, number = source >> 248, source & _LOW_248
    if kind == SOURCE_RECORD:
        return f"record:{number}"
    if kind == SOURCE_BATCH:
        return f"batch:{number}"
    return f"source:0x{source:064x}"


def _next_of(tx: Sequence[DecodedEvent], position: int, contract: str) -> DecodedEvent | None:
    return next((e for e in tx[position + 1 :] if e.contract == contract), None)


def _nearest_arg(tx: Sequence[DecodedEvent], position: int, contract: str, name: str) -> int | None:
    """The argument `name` of the event of `contract` nearest to `position` in its transaction,
    the later one first (Catalogue emits after settling, TimeBank before or after)."""
    candidates = [
        (abs(i - position), i < position, e)
        for i, e in enumerate(tx)
        if e.contract == contract and name in e.args
    ]
    if not candidates:
        return None
    return int(min(candidates, key=lambda c: (c[0], c[1]))[2].args[name])


# --- the indexer -------------------------------------------------------------------------------


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


class _ChainMoved(Exception):
    """The chain changed under a range being read (a header's hash is not its logs' block hash)."""


_SYNC_LOCKS: dict[str, threading.Lock] = {}
_SYNC_LOCKS_GUARD = threading.Lock()


def _sync_lock(database: str) -> threading.Lock:
    with _SYNC_LOCKS_GUARD:
        return _SYNC_LOCKS.setdefault(database, threading.Lock())


class Indexer(IndexQueries):
    """Follows the chain of ``ledger``'s deployment into its store (``ledger.engine``)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        reorg_depth: int | None = None,
        blocks_per_request: int | None = None,
    ) -> None:
        super().__init__(ledger.engine, confirmations=ledger.network.confirmations)
        self.ledger = ledger
        self.reorg_depth = reorg_depth or ledger.settings.index_reorg_depth
        self.blocks_per_request = blocks_per_request or ledger.settings.index_blocks_per_request
        self._stop = threading.Event()
        self._requests = 0

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
        self._requests = 0
        state = self._state()
        first = state.indexed_block + 1
        reorg: Reorg | None = None
        events = movements = 0
        for _attempt in range(5):
            head = self._head()
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
            except _ChainMoved:
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
            rpc_requests=self._requests,
        )

    def status(self) -> IndexStatus:
        """How far the index is, and how far behind the chain's newest block (asks the node)."""
        head = self._head()
        with Session(self.engine) as db:
            row = db.get(IndexState, 1)
            indexed = row.indexed_block if row else self.ledger.manifest.deploy_block - 1
            counts = self._counts(db)
            synced_at = row.synced_at if row else None
        return IndexStatus(
            indexed_block=indexed,
            chain_head=head,
            blocks_behind=max(head - indexed, 0),
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
    ) -> None:
        """Follow the chain until ``stop()``: sync, wait `poll_seconds`, again. A node that drops
        or a chain that moves under a sync is retried; any other error ends the loop. Once
        stopped, an Indexer stays stopped (a stop that comes before ``run`` starts counts)."""
        while not self._stop.is_set():
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
        """Ends ``run`` after the range under way (from another thread or a signal handler)."""
        self._stop.set()

    def reset(self) -> None:
        """Delete the whole index (the next sync starts again from the deployment's block)."""
        with session(self.engine) as db:
            for table in (
                *INDEX_TABLES,
                _model(IndexBlock),
                _model(IndexState),
                _model(IndexSchema),
            ):
                db.execute(delete(_table(table)))

    # --- steps ---------------------------------------------------------------------------------

    def _state(self) -> IndexState:
        """The index's state row, created at the deployment's block; refuses another deployment's."""
        manifest = self.ledger.manifest
        points = manifest.address("PointsLedger").lower()
        with session(self.engine) as db:
            row = db.get(IndexState, 1)
            if row is None:
                row = IndexState(
                    chain_id=manifest.chain_id,
                    genesis_hash=manifest.genesis_hash,
                    points_ledger=points,
                    start_block=manifest.deploy_block,
                    indexed_block=manifest.deploy_block - 1,
                    chain_head=manifest.deploy_block - 1,
                    synced_at=0,
                )
                db.add(row)
                db.merge(IndexSchema(id=1, version=INDEX_SCHEMA_VERSION))
                return IndexState.model_validate(row.model_dump())
            schema = db.get(IndexSchema, 1)
            version = 1 if schema is None else schema.version
            if version != INDEX_SCHEMA_VERSION:
                raise IndexMismatch(
                    f"this index was built by another version of the indexer (tables version "
                    f"{version}, this one reads version {INDEX_SCHEMA_VERSION}); run "
                    "`vpl index reset` and sync again (the chain holds everything it had)",
                    indexed_version=version,
                    version=INDEX_SCHEMA_VERSION,
                )
            if (row.chain_id, row.genesis_hash, row.points_ledger) != (
                manifest.chain_id,
                manifest.genesis_hash,
                points,
            ):
                raise IndexMismatch(
                    f"this index was built from the deployment with PointsLedger "
                    f"{row.points_ledger} on chain id {row.chain_id} (genesis "
                    f"{row.genesis_hash[:12]}...), not this one ({points} on chain id "
                    f"{manifest.chain_id}, genesis {manifest.genesis_hash[:12]}...); run "
                    "`vpl index reset` or use another VPL_DATABASE_URL",
                    indexed=row.points_ledger,
                    deployed=points,
                )
            return IndexState.model_validate(row.model_dump())

    def _reorg(self, state: IndexState, head: int) -> Reorg | None:
        """Compare the newest kept block with the chain; on a mismatch roll back to the fork."""
        with Session(self.engine) as db:
            kept = list(db.exec(select(IndexBlock).order_by(IndexBlock.number.desc())))  # type: ignore[attr-defined]
        if not kept:
            return None
        newest = kept[0]
        [current] = self._hashes([newest.number])
        if current == newest.hash:
            return None
        hashes = self._hashes([b.number for b in kept])
        fork = next((b for b, h in zip(kept, hashes, strict=True) if h == b.hash), None)
        if fork is None:
            raise ReorgTooDeep(
                f"the chain no longer holds any of the {len(kept)} newest indexed blocks "
                f"({kept[-1].number}-{newest.number}): a reorg deeper than the {self.reorg_depth} "
                "blocks kept, or another chain. Run `vpl index reset` and sync again",
                oldest_kept=kept[-1].number,
                indexed_block=state.indexed_block,
            )
        dropped = self._rollback(fork)
        log.warning(
            "reorg: blocks %d-%d replaced on chain; %d events rolled back",
            fork.number + 1,
            state.indexed_block,
            dropped,
        )
        return Reorg(fork.number, state.indexed_block - fork.number, dropped)

    def _rollback(self, fork: IndexBlock) -> int:
        """Delete every row after the fork block, in one transaction; returns events deleted."""
        with session(self.engine) as db:
            dropped = db.execute(
                select(func.count())
                .select_from(IndexEvent)
                .where(IndexEvent.block_number > fork.number)  # type: ignore[arg-type]
            ).scalar_one()
            for table in (*INDEX_TABLES, _model(IndexBlock)):
                t = _table(table)
                column = t.c.number if table is IndexBlock else t.c.block_number
                db.execute(delete(t).where(column > fork.number))
            row = db.get(IndexState, 1)
            assert row is not None
            row.indexed_block = fork.number
            row.indexed_hash = fork.hash
            db.add(row)
        return dropped

    def _block(self, state: IndexState, start: int, end: int, head: int) -> tuple[int, int, int]:
        """Index blocks start..end (fewer if the node refuses the range): logs, headers, handlers,
        one transaction. Returns the last block indexed and the events and movements written."""
        raw_logs, end = self._logs(start, end)
        decoded = [e for e in map(self.decoder.decode, raw_logs) if e is not None]
        unfinal = max(start, head - self.reorg_depth + 1)
        numbers = sorted(
            {e.block_number for e in decoded} | {start, end} | set(range(unfinal, end + 1))
        )
        headers = self._headers(numbers)
        for e in decoded:
            if headers[e.block_number]["hash"] != e.block_hash:
                raise _ChainMoved
        if state.indexed_hash is not None and headers[start]["parentHash"] != state.indexed_hash:
            raise _ChainMoved
        timestamps = {n: int(h["timestamp"], 16) for n, h in headers.items()}
        ctx = RangeContext(addresses=self._addresses_by_name, timestamps=timestamps)
        for e in decoded:
            ctx.add(e)
        for e in decoded:
            handler = HANDLERS.get(e.key)
            if handler is not None:
                handler(e, ctx)
        events = [
            {
                "block_number": e.block_number,
                "log_index": e.log_index,
                "tx_hash": e.tx_hash,
                "tx_index": e.tx_index,
                "contract": e.contract,
                "address": e.address,
                "event": e.event,
                "args": json.dumps(e.args, separators=(",", ":")),
                "timestamp": timestamps[e.block_number],
            }
            for e in decoded
        ]
        accounts = [
            {"account": a, "block_number": e.block_number, "log_index": e.log_index}
            for e in decoded
            for a in e.accounts
        ]
        refs = [
            {"ref": r, "block_number": e.block_number, "log_index": e.log_index}
            for e in decoded
            for r in event_refs(e.args)
        ]
        blocks = [
            {
                "number": n,
                "hash": headers[n]["hash"],
                "parent_hash": headers[n]["parentHash"],
                "timestamp": timestamps[n],
            }
            for n in numbers
            if n >= unfinal or n == end
        ]
        with session(self.engine) as db:
            batches: tuple[tuple[type[SQLModel], list[dict[str, Any]]], ...] = (
                (IndexEvent, events),
                (IndexEventAccount, accounts),
                (IndexEventRef, refs),
                (PointMovement, ctx.movements),
                (IndexedScheme, ctx.schemes),
                (IndexBlock, blocks),
            )
            for table, rows in batches:
                if rows:  # Core executemany: no ORM bookkeeping per row
                    db.connection().execute(insert(_table(table)), rows)
            row = db.get(IndexState, 1)
            assert row is not None
            if row.indexed_block != start - 1:
                raise RetryableIndexerError(
                    "another process indexed the same blocks at the same time; sync again"
                )
            row.indexed_block = end
            row.indexed_hash = headers[end]["hash"]
            row.chain_head = max(head, end)
            row.synced_at = int(time.time())
            db.add(row)
        return end, len(events), len(ctx.movements)

    def _finalize(self, state: IndexState) -> None:
        """Forget the hashes of blocks deeper than the reorg depth (never the newest indexed)."""
        below = state.indexed_block - self.reorg_depth + 1
        with session(self.engine) as db:
            db.exec(delete(IndexBlock).where(IndexBlock.number < below))  # type: ignore[call-overload,arg-type]

    # --- JSON-RPC ------------------------------------------------------------------------------

    def _rpc(self, method: str, params: list[Any]) -> Any:
        [answer] = self._batch([(method, params)])
        return answer

    def _batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        out: list[Any] = []
        for first in range(0, len(requests), 500):
            part = requests[first : first + 500]
            self._requests += 1
            for (method, _), answer in zip(part, rpc_batch(self.ledger.w3, part), strict=True):
                if "error" in answer:
                    raise _RpcError(method, answer["error"])
                out.append(answer["result"])
        return out

    def _head(self) -> int:
        try:
            return int(self._rpc("eth_blockNumber", []), 16)
        except _RpcError as exc:
            raise RetryableIndexerError(f"the node did not give its newest block: {exc}") from None

    def _hashes(self, numbers: Iterable[int]) -> list[str | None]:
        """The chain's hash of each block number (None beyond the chain's head)."""
        answers = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return [a["hash"] if a else None for a in answers]

    def _headers(self, numbers: Sequence[int]) -> dict[int, dict[str, Any]]:
        answers = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        headers: dict[int, dict[str, Any]] = {}
        for n, header in zip(numbers, answers, strict=True):
            if header is None:
                raise _ChainMoved  # the chain got shorter since its head was read
            headers[n] = header
        return headers

    def _logs(self, start: int, end: int) -> tuple[list[dict[str, Any]], int]:
        """The logs of our contracts in start..end; a node that refuses the range (too many
        results) is asked for half as many blocks, down to one block."""
        while True:
            try:
                logs = self._rpc(
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": hex(start),
                            "toBlock": hex(end),
                            "address": self.decoder.addresses,
                        }
                    ],
                )
                return list(logs), end
            except _RpcError as exc:
                if end == start:
                    raise ChainError(f"the node refused the logs of block {start}: {exc}") from None
                end = start + (end - start) // 2

    def _counts(self, db: Session) -> tuple[int, int]:
        events = db.execute(select(func.count()).select_from(IndexEvent)).scalar_one()
        movements = db.execute(select(func.count()).select_from(PointMovement)).scalar_one()
        return int(events), int(movements)


def _model(model: type[SQLModel]) -> type[SQLModel]:
    return model


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


class _RpcError(Exception):
    def __init__(self, method: str, error: Any) -> None:
        message = error.get("message") if isinstance(error, dict) else error
        super().__init__(f"{method}: {message}")
