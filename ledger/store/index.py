"""The event index's tables (``ledger.audit.index``: written by its ``follow``, read by its ``queries``).

Every row carries the number of the block it came from, so a reorg is undone by deleting the rows
after the fork block. Rows are keyed by their place on chain (block number, log index and, for an
ERC-1155 ``TransferBatch``, the position in the batch), which is also the order of pagination.
Block times are unix seconds (UTC); amounts are exact decimal strings (the ledger's are up to 128
bits, more than SQLite's integers hold).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

#: The version of the index's tables: an index built with another is reset and synced again.
#: 2: events by the domain ids they name (index_event_ref), movements by reference.
INDEX_SCHEMA_VERSION = 2


class IndexState(SQLModel, table=True):
    """Where the index stands: one row, for one deployment on one chain."""

    __tablename__ = "index_state"

    id: int = Field(default=1, primary_key=True)
    chain_id: int
    genesis_hash: str
    #: The deployment's PointsLedger: an index belongs to one deployment.
    points_ledger: str
    #: The first block indexed (the deployment's first block).
    start_block: int
    #: Every log of our contracts up to and including this block is in the index.
    indexed_block: int
    indexed_hash: str | None = None
    #: The chain's newest block when the index last synced.
    chain_head: int
    synced_at: int = Field(sa_column=Column(BigInteger(), nullable=False))


class IndexSchema(SQLModel, table=True):
    """The version of these tables an index was built with (one row, written with its state): an
    index built by an older version is refused with the way out (reset and sync again), never read
    as if it held what it does not."""

    __tablename__ = "index_schema"

    id: int = Field(default=1, primary_key=True)
    version: int


class IndexBlock(SQLModel, table=True):
    """Blocks not yet final (the newest ``index_reorg_depth``) and blocks with logs among them:
    their hashes are compared with the chain's to detect a reorg and find the fork block."""

    __tablename__ = "index_block"

    number: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    hash: str
    parent_hash: str
    timestamp: int = Field(sa_column=Column(BigInteger(), nullable=False))


class IndexEvent(SQLModel, table=True):
    """One decoded event of our contracts, kept whole: nothing the chain said is lost."""

    __tablename__ = "index_event"
    __table_args__ = (
        Index("ix_index_event_contract", "contract", "event", "block_number", "log_index"),
        Index("ix_index_event_event", "event", "block_number", "log_index"),
    )

    block_number: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    log_index: int = Field(primary_key=True)
    tx_hash: str = Field(index=True)
    tx_index: int
    #: The contract's name in the deployment manifest, and the address that emitted the event.
    contract: str
    address: str
    event: str
    #: The arguments by name as JSON (integers exact, bytes as 0x hex, structs as objects).
    args: str = Field(sa_column=Column(Text(), nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger(), nullable=False))


class IndexEventAccount(SQLModel, table=True):
    """Each account an event names in an address argument: events by account, without a scan."""

    __tablename__ = "index_event_account"

    account: str = Field(primary_key=True)
    block_number: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    log_index: int = Field(primary_key=True)


class IndexEventRef(SQLModel, table=True):
    """Each domain object an event names by id (record:12, batch:3, activity:5, order:7, scheme:2,
    ...; ``REF_ARGS`` below): a record's or an order's events, without a scan."""

    __tablename__ = "index_event_ref"

    ref: str = Field(primary_key=True)
    block_number: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    log_index: int = Field(primary_key=True)


class PointMovement(SQLModel, table=True):
    """One movement of points (an ERC-1155 transfer of the PointsLedger), with the kind and the
    reference of the domain event behind it: members' history."""

    __tablename__ = "index_movement"
    __table_args__ = (
        Index("ix_index_movement_from", "from_address", "block_number", "log_index"),
        Index("ix_index_movement_to", "to_address", "block_number", "log_index"),
        Index("ix_index_movement_reference", "reference", "block_number", "log_index"),
    )

    block_number: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    log_index: int = Field(primary_key=True)
    #: The position in a TransferBatch (0 for a TransferSingle).
    batch_index: int = Field(default=0, primary_key=True)
    scheme_id: int = Field(index=True)
    #: The zero address for points created, the PointsLedger for points held, a fund's contract.
    from_address: str
    to_address: str
    amount: str
    #: What moved them (``MOVEMENT_KINDS`` below): issued, exchanged, redemption_hold, ...
    kind: str = Field(index=True)
    #: The domain reference where there is one: record:12, batch:3, order:7, request:5, ...
    reference: str | None = None
    tx_hash: str = Field(index=True)
    timestamp: int = Field(sa_column=Column(BigInteger(), nullable=False))


class IndexedScheme(SQLModel, table=True):
    """Schemes as added on chain (SchemeAdded): codes for filters and readable history."""

    __tablename__ = "index_scheme"

    scheme_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    code: str = Field(index=True)
    name: str
    block_number: int = Field(sa_column=Column(BigInteger(), nullable=False))


#: Every table of the index, each with a ``block_number`` column (the order rows are deleted in).
INDEX_TABLES: tuple[type[SQLModel], ...] = (
    IndexEventAccount,
    IndexEventRef,
    IndexEvent,
    PointMovement,
    IndexedScheme,
)


#: What moved points, as ``PointMovement.kind`` and history say it.
MOVEMENT_KINDS: dict[str, str] = {
    "issued": "issued for an approved service record or batch (PointsIssued, PointsIssuedInBatch)",
    "corrected": "a correction's difference, up or down (PointsCorrected)",
    "exchanged": "burned in one scheme or created in another by an exchange (Exchange)",
    "redemption_hold": "held for a catalogue order (Catalogue.redeem)",
    "redemption_fulfilled": "an order's held points burned on fulfilment",
    "redemption_refund": "an order's held points returned (cancelled or expired)",
    "timebank_hold": "hours held for an accepted time-bank request",
    "timebank_payment": "held hours paid to the helper (confirmed, or a dispute's share)",
    "timebank_refund": "held hours returned to the requester",
    "gift": "a gift between members (Gifts.give)",
    "fund_donation": "a donation to a community fund",
    "fund_grant": "a grant from a community fund",
    "expired": "points past their expiry month, burned (PointsExpired)",
    "recovered": "balances moved to a recovered member's successor (BalancesRecovered)",
    "minted": "created by another spending contract (PointsMinted)",
    "burned": "burned by another spending contract (PointsBurned)",
    "moved": "moved by another spending contract (PointsMoved)",
    "held": "held by another spending contract (PointsHeld)",
    "hold_paid": "a hold of another spending contract paid out",
    "hold_burned": "a hold of another spending contract burned",
    "hold_returned": "a hold of another spending contract returned",
    "transfer": "a transfer without a known domain event",
}

#: Event arguments that name a domain object by id, and the kind of reference they make
#: (``index_event_ref``): every event of record 12 is found by ``record:12``.
REF_ARGS: Mapping[str, str] = {
    "recordId": "record",
    "correction": "record",
    "correctionId": "record",
    "supersedes": "record",
    "batchId": "batch",
    "activityId": "activity",
    "schemeId": "scheme",
    "itemId": "item",
    "orderId": "order",
    "requestId": "request",
    "holdId": "hold",
    "fundId": "fund",
    "exchangeId": "exchange",
    "proposalId": "proposal",
    "settlementId": "settlement",
}
