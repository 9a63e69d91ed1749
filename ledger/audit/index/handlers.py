"""The indexer's handlers, keyed by ``"Contract:Event"`` in Ponder's manner, and what they see.

A handler gets one decoded event and the ``RangeContext`` of its block range, and adds typed rows
to it: the points movements of members' history (``PointMovement``, with the kind and reference
of the domain event of the same transaction, ``movement_kind``) and the schemes added. Every event
is also kept whole by the indexer (``ledger.audit.index.follow``), handled or not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.audit.index.bounds import ZERO_ADDRESS
from ledger.audit.index.decoding import DecodedEvent
from ledger.chain.contracts.exchange import REF_EXCHANGE
from ledger.chain.contracts.service_records import SOURCE_BATCH, SOURCE_RECORD

#: The low 248 bits of a points source or reference (its top byte says its kind).
_LOW_248 = (1 << 248) - 1


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


def handle_range(
    decoded: Sequence[DecodedEvent], addresses: Mapping[str, str], timestamps: Mapping[int, int]
) -> RangeContext:
    """Every event of a block range passed to the handlers of its ``"Contract:Event"``, in order,
    each seeing the whole range; the context with the rows they added."""
    ctx = RangeContext(addresses=addresses, timestamps=timestamps)
    for e in decoded:
        ctx.add(e)
    for e in decoded:
        handler = HANDLERS.get(e.key)
        if handler is not None:
            handler(e, ctx)
    return ctx


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
