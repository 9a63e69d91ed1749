"""Reads of the event index: members' history, events, the block of a member's latest change.

Every answer comes from one read of the database and says the block the index holds; pages
(``ledger.audit.index.pages``) are newest first, with an opaque cursor. Bad input raises an
``InputError`` saying what to send instead; no query scans without a bound.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import UTC, datetime

from eth_utils import to_checksum_address
from sqlalchemy import and_, func, or_, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from ledger.audit.index.bounds import (
    behind,
    check_block,
    check_tx_hash,
    no_events_in,
    not_indexed_yet,
)
from ledger.audit.index.pages import (
    EventEntry,
    EventPage,
    HistoryEntry,
    HistoryPage,
    check_limit,
    decode_cursor,
    encode_cursor,
)
from ledger.errors import IndexBehind, InputError, UnknownName
from ledger.store.index import (
    MOVEMENT_KINDS,
    REF_ARGS,
    IndexedScheme,
    IndexEvent,
    IndexEventAccount,
    IndexEventRef,
    IndexState,
    PointMovement,
)
from ledger.values import parse_address

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_REF = re.compile(r"^([a-z]+):([1-9][0-9]{0,30})$")


def events_naming(*refs: str) -> SelectOfScalar[IndexEvent]:
    """A query of the events that name any of `refs` (record:12, scheme:2, ...; see
    ``ledger.store.index.REF_ARGS``), through ``index_event_ref``: no scan of the events."""
    query = select(IndexEvent).join(IndexEventRef, _of_event(IndexEventRef))
    if len(refs) == 1:
        return query.where(col(IndexEventRef.ref) == refs[0])
    return query.where(col(IndexEventRef.ref).in_(refs))


def _of_event(model: type[IndexEventAccount | IndexEventRef]) -> ColumnElement[bool]:
    """The join of a row of `model` (an account or a reference an event names) to its event."""
    return and_(
        col(model.block_number) == col(IndexEvent.block_number),
        col(model.log_index) == col(IndexEvent.log_index),
    )


def check_ref(ref: object) -> str:
    """A domain reference (``record:12``); InputError naming the kinds for anything else."""
    kinds = sorted(set(REF_ARGS.values()))
    found = _REF.match(ref) if isinstance(ref, str) else None
    if found is None or found.group(1) not in kinds:
        raise InputError(
            f"a reference is a kind and an id such as record:12, not {str(ref)[:80]!r}; kinds: "
            f"{', '.join(kinds)}",
            ref=str(ref)[:80],
        )
    return ref  # type: ignore[return-value]


def _aware(value: datetime | None, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InputError(
            f"{name} must be a timezone-aware time (e.g. 2026-11-23T08:00:00+08:00), not {value!r}"
        )
    return int(value.timestamp())


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class IndexQueries:
    """Reads of the index in ``engine`` (no chain connection needed)."""

    def __init__(self, engine: Engine, *, confirmations: int = 0) -> None:
        self.engine = engine
        #: Blocks on top of an event's block before it is called final.
        self.confirmations = confirmations

    def final_block(self, chain_head: int) -> int:
        """The newest block whose events are final, with the chain at `chain_head`."""
        return chain_head - self.confirmations if chain_head >= 0 else -1

    def event_names(self) -> frozenset[str] | None:
        """Every event name of our contracts, if known (``Indexer`` knows them from the build);
        None: a name is checked against the events in the index."""
        return None

    def history(
        self,
        member: str,
        *,
        scheme: int | str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> HistoryPage:
        """A member's movements of points, newest first, as far as the index holds the chain.

        `scheme` is an id or a code; `kind` one of ``MOVEMENT_KINDS``; `since`/`until` bound the
        block time (inclusive, timezone-aware); `cursor` is a previous page's ``next_cursor``.
        """
        address = parse_address(member, what="member").lower()
        limit = check_limit(limit)
        if kind is not None and kind not in MOVEMENT_KINDS:
            close = difflib.get_close_matches(str(kind), MOVEMENT_KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownName(
                f"unknown kind of movement {kind!r}{hint} Kinds: {', '.join(MOVEMENT_KINDS)}",
                kind=kind,
            )
        low, high = _aware(since, "since"), _aware(until, "until")
        if low is not None and high is not None and low > high:
            raise InputError("since is after until: nothing can match; swap them")
        place = decode_cursor(cursor, 3) if cursor is not None else None
        with Session(self.engine) as db:
            state = self._state_of(db)
            scheme_id = self._scheme_id(db, scheme) if scheme is not None else None
            where = [
                or_(
                    col(PointMovement.from_address) == address,
                    col(PointMovement.to_address) == address,
                ),
                col(PointMovement.block_number) <= state[0],
            ]
            if scheme_id is not None:
                where.append(col(PointMovement.scheme_id) == scheme_id)
            if kind is not None:
                where.append(col(PointMovement.kind) == kind)
            if low is not None:
                where.append(col(PointMovement.timestamp) >= low)
            if high is not None:
                where.append(col(PointMovement.timestamp) <= high)
            order = (
                col(PointMovement.block_number),
                col(PointMovement.log_index),
                col(PointMovement.batch_index),
            )
            if place is not None:
                where.append(tuple_(*order) < tuple_(*place))
            rows = list(
                db.exec(
                    select(PointMovement)
                    .where(and_(*where))
                    .order_by(*(c.desc() for c in order))
                    .limit(limit + 1)
                )
            )
            codes = self._codes(db, {r.scheme_id for r in rows})
        entries = tuple(
            HistoryEntry(
                scheme_id=r.scheme_id,
                scheme=codes.get(r.scheme_id),
                kind=r.kind,
                delta=(int(r.amount) if r.to_address == address else 0)
                - (int(r.amount) if r.from_address == address else 0),
                counterparty=to_checksum_address(
                    r.from_address if r.to_address == address else r.to_address
                ),
                reference=r.reference,
                block=r.block_number,
                timestamp=_time(r.timestamp),
                tx_hash=r.tx_hash,
                log_index=r.log_index,
                batch_index=r.batch_index,
                final=r.block_number <= self.final_block(state[1]),
            )
            for r in rows[:limit]
        )
        last = entries[-1] if len(rows) > limit else None
        return HistoryPage(
            member=parse_address(address),
            entries=entries,
            next_cursor=(
                encode_cursor(last.block, last.log_index, last.batch_index) if last else None
            ),
            indexed_block=state[0],
            chain_head=state[1],
            blocks_behind=behind(*state),
            final_block=self.final_block(state[1]),
        )

    def events(
        self,
        *,
        contract: str | None = None,
        event: str | None = None,
        tx_hash: str | None = None,
        block: int | None = None,
        address: str | None = None,
        ref: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> EventPage:
        """Decoded events of our contracts, newest first: of a contract (by manifest name), an
        event name, a transaction, a block, naming an account (`address`) in their arguments, or
        naming a domain object by id (`ref`, e.g. record:12, batch:3, scheme:2; see
        ``ledger.store.index.REF_ARGS``)."""
        limit = check_limit(limit)
        if ref is not None:
            check_ref(ref)
        for value, what in ((contract, "contract"), (event, "event")):
            if value is not None and (not isinstance(value, str) or not _NAME.match(value)):
                raise InputError(f"{what} must be a name such as PointsLedger, not {value!r}")
        if tx_hash is not None:
            check_tx_hash(tx_hash)
        if block is not None:
            check_block(block)
        account = parse_address(address, what="address").lower() if address is not None else None
        place = decode_cursor(cursor, 2) if cursor is not None else None
        with Session(self.engine) as db:
            indexed, head = self._state_of(db)
            self._check_names(db, contract, event, self.event_names())
            if block is not None and block > indexed:
                raise not_indexed_yet(block, indexed, head)
            query = select(IndexEvent)
            where = [col(IndexEvent.block_number) <= indexed]
            if account is not None:
                query = query.join(IndexEventAccount, _of_event(IndexEventAccount))
                where.append(col(IndexEventAccount.account) == account)
            if ref is not None:
                query = query.join(IndexEventRef, _of_event(IndexEventRef))
                where.append(col(IndexEventRef.ref) == ref)
            if contract is not None:
                where.append(col(IndexEvent.contract) == contract)
            if event is not None:
                where.append(col(IndexEvent.event) == event)
            if tx_hash is not None:
                where.append(col(IndexEvent.tx_hash) == tx_hash.lower())
            if block is not None:
                where.append(col(IndexEvent.block_number) == block)
            order = (col(IndexEvent.block_number), col(IndexEvent.log_index))
            if place is not None:
                where.append(tuple_(*order) < tuple_(*place))
            rows = list(
                db.exec(
                    query.where(and_(*where)).order_by(*(c.desc() for c in order)).limit(limit + 1)
                )
            )
        if tx_hash is not None and not rows and place is None:
            raise no_events_in(tx_hash, indexed, head)
        entries = tuple(
            EventEntry(
                contract=r.contract,
                event=r.event,
                address=to_checksum_address(r.address),
                block=r.block_number,
                timestamp=_time(r.timestamp),
                tx_hash=r.tx_hash,
                log_index=r.log_index,
                args=json.loads(r.args),
                final=r.block_number <= self.final_block(head),
            )
            for r in rows[:limit]
        )
        last = entries[-1] if len(rows) > limit else None
        return EventPage(
            entries=entries,
            next_cursor=encode_cursor(last.block, last.log_index) if last else None,
            indexed_block=indexed,
            chain_head=head,
            blocks_behind=behind(indexed, head),
            final_block=self.final_block(head),
        )

    def last_change_block(self, member: str) -> int | None:
        """The block of the member's latest movement of points in the index (None if none):
        a balance read at or after it is still current while this does not change."""
        address = parse_address(member, what="member").lower()
        with Session(self.engine) as db:
            indexed = self._state_of(db)[0]
            latest = [
                db.execute(
                    select(func.max(PointMovement.block_number)).where(
                        column == address,
                        col(PointMovement.block_number) <= indexed,
                    )
                ).scalar_one()
                for column in (col(PointMovement.from_address), col(PointMovement.to_address))
            ]
        found = [b for b in latest if b is not None]
        return max(found) if found else None

    # --- helpers -------------------------------------------------------------------------------

    def indexed(self) -> tuple[int, int]:
        """(the block the index holds the chain to, the chain head at its last sync);
        (-1, -1) before the first sync."""
        with Session(self.engine) as db:
            return self._state_of(db)

    def synced(self) -> tuple[int, int]:
        """``indexed()``, or IndexBehind when the index has never synced."""
        indexed, head = self.indexed()
        if indexed < 0:
            raise IndexBehind("the index has not synced yet: run `vpl index sync` first")
        return indexed, head

    @staticmethod
    def _state_of(db: Session) -> tuple[int, int]:
        """(indexed block, chain head at the last sync); (-1, -1) before the first sync."""
        row = db.get(IndexState, 1)
        if row is None:
            return -1, -1
        return row.indexed_block, row.chain_head

    @staticmethod
    def _scheme_id(db: Session, scheme: int | str) -> int:
        if isinstance(scheme, int) and not isinstance(scheme, bool):
            if scheme < 1:
                raise InputError(f"a scheme id is 1 or more, not {scheme}")
            return scheme
        if isinstance(scheme, str) and scheme.isdigit():
            return IndexQueries._scheme_id(db, int(scheme))
        row = db.exec(select(IndexedScheme).where(col(IndexedScheme.code) == scheme)).first()
        if row is None:
            codes = list(db.exec(select(IndexedScheme.code)))
            close = difflib.get_close_matches(str(scheme), codes, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownName(f"no scheme {scheme!r} in the index{hint}", scheme=str(scheme))
        return row.scheme_id

    @staticmethod
    def _codes(db: Session, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = db.exec(select(IndexedScheme).where(col(IndexedScheme.scheme_id).in_(ids)))
        return {r.scheme_id: r.code for r in rows}

    @staticmethod
    def _check_names(
        db: Session, contract: str | None, event: str | None, names: frozenset[str] | None
    ) -> None:
        """Unknown contract or event names are refused with the nearest known one."""
        from ledger.chain.deploy import CONTRACTS

        if contract is not None and contract not in CONTRACTS:
            close = difflib.get_close_matches(contract, CONTRACTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownName(
                f"unknown contract {contract!r}{hint} Contracts: {', '.join(CONTRACTS)}",
                contract=contract,
            )
        if event is not None and (names is None or event not in names):
            found = db.exec(select(IndexEvent.event).where(col(IndexEvent.event) == event).limit(1))
            if found.first() is None:
                known = sorted(names) if names is not None else []
                close = difflib.get_close_matches(event, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UnknownName(
                    f"no event {event!r} in the index{hint}",
                    event=event,
                )
