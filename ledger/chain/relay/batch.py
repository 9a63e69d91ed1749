"""Relayed requests sent together (group commit): while one forwarder transaction is on its way,
the requests that arrive meanwhile wait, and the next transaction carries all of them.

A lone request goes out at once in ``execute``, exactly as before; two or more go in one
``executeBatch`` of the forwarder (OpenZeppelin 5.0.2 ``ERC2771Forwarder``) with the relayer as
refund receiver, which makes each request stand on its own: one whose signature, nonce or deadline
no longer holds is skipped, one whose call the target refuses is recorded as failed, and neither
undoes the others. Each caller gets its own answer: a ``TxResult`` whose receipt holds only its own
request's events (what its call emitted and the forwarder's ``ExecutedForwardRequest``), or why its
request did not run: the target's reason (simulated again as the signer on the state that refused
it), or ``StaleAuthorization`` when its nonce went to another request.

Under load this turns many members' requests into few transactions (fewer nonces, fewer receipts
to wait for), and on a chain with slow blocks each transaction carries what arrived during the
previous block. A batch is capped in requests and in gas (the signed gas of each request, against
a share of the block gas limit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3.datastructures import AttributeDict

from ledger.chain.relay.request import ForwardRequest
from ledger.chain.tx import TxResult

#: Gas the forwarder spends on a request around its call (signature, nonce, event), and the
#: batch's own overhead.
PER_REQUEST_GAS = 60_000
BATCH_GAS = 60_000


@dataclass
class Waiting:
    """A request waiting for its batch, and, once its batch is mined, its outcome."""

    request: ForwardRequest
    signature: bytes
    context: str
    outcome: TxResult | Exception | None = None
    #: Taken into a transaction (on its way), and that transaction's outcome known.
    taken: bool = False
    done: bool = False

    @property
    def gas(self) -> int:
        """What the request can cost the batch: its signed gas (the forwarder passes 63/64 of
        what is left on), its data, the forwarder's own work."""
        return self.request.gas * 64 // 63 + PER_REQUEST_GAS + 16 * len(self.request.data)


@dataclass
class Batcher:
    """Collects relayed requests and sends them in as few forwarder transactions as the load
    allows: at most `lanes` transactions on their way at once, each sent by a caller whose request
    still waits when it finds a lane free (it takes the oldest requests waiting, its own among
    them if they fit). One lane sends a transaction only after the last is mined; several let
    the next leave while the last is mined, so a chain with slow blocks takes several batches in
    one block (the relayer's nonces are assigned here, in order).

    `send_one` relays a lone request as before (``execute``); `send_batch` sends the requests in
    one ``executeBatch`` with the gas given and returns its result; `why_not` answers a request of
    a batch that did not run (skipped: True; its call failed: False) with why, or with the
    transaction that ran it after all; `block_gas` is the block gas limit now, `block_time` a
    block's timestamp. Whatever a send raises is its requests' outcome, raised to each of their
    callers, never lost in another's."""

    send_one: Callable[[Waiting], TxResult]
    send_batch: Callable[[Sequence[Waiting], int], TxResult]
    why_not: Callable[[Waiting, TxResult, bool], TxResult | Exception]
    block_gas: Callable[[], int]
    #: The timestamp of a block, by number.
    block_time: Callable[[int], int]
    #: How long the block gas limit read is trusted (it moves slowly, if at all).
    block_gas_seconds: float = 60.0
    most: int = 100
    #: How many relayed transactions may be on their way at once.
    lanes: int = 1
    #: Transactions sent, and requests they carried (for the benchmark's ratio).
    transactions: int = 0
    requests: int = 0
    #: The most transactions that were on their way at once.
    most_in_flight: int = 0
    _queue: list[Waiting] = field(default_factory=list)
    _in_flight: int = 0
    _held: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _gas_limit: tuple[float, int] | None = None  # (read at, block gas limit)

    def run(self, request: ForwardRequest, signature: bytes, context: str) -> TxResult:
        """Relay `request` with whatever else is waiting; its own result, or its refusal raised."""
        item = Waiting(request, signature, context)
        with self._changed:
            self._queue.append(item)
        while True:
            with self._changed:
                while not item.done and not self._may_send(item):
                    self._changed.wait()
                if item.done:
                    break
                self._in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self._in_flight)
                several = len(self._queue) > 1
            try:
                budget = self._budget() if several else 0  # read outside the lock
                with self._changed:
                    batch = self._take(budget)
                if batch:  # another lane may have taken them all meanwhile
                    self._send(batch)
            finally:
                with self._changed:
                    self._in_flight -= 1
                    self._changed.notify_all()
        if isinstance(item.outcome, Exception):
            raise item.outcome
        assert item.outcome is not None
        return item.outcome

    def _may_send(self, item: Waiting) -> bool:
        """Whether `item`'s caller sends the next transaction now: its request still waits (a
        caller whose request is on its way only waits for it) and a lane is free."""
        return not item.taken and not self._held and self._in_flight < self.lanes

    @contextmanager
    def held(self) -> Iterator[None]:
        """Sends nothing while held (transactions already on their way complete first); what
        arrives meanwhile waits and goes out together after. For draining and for tests."""
        with self._changed:
            while self._held or self._in_flight:
                self._changed.wait()
            self._held = True
        try:
            yield
        finally:
            with self._changed:
                self._held = False
                self._changed.notify_all()

    def waiting(self) -> int:
        """How many requests wait for a transaction."""
        with self._changed:
            return len(self._queue)

    def in_flight(self) -> int:
        """How many transactions are on their way (sent, not yet mined)."""
        with self._changed:
            return self._in_flight

    def _budget(self) -> int:
        """The gas one batch may use: half a block's, less the batch's own."""
        now = time.monotonic()
        if self._gas_limit is None or now - self._gas_limit[0] > self.block_gas_seconds:
            self._gas_limit = (now, self.block_gas())
        return self._gas_limit[1] // 2 - BATCH_GAS

    def _take(self, budget: int) -> list[Waiting]:
        """The oldest waiting requests that fit one transaction and `budget` (at least one, if
        any wait)."""
        batch: list[Waiting] = []
        if not self._queue:
            return batch
        for item in self._queue:
            if batch and (len(batch) >= self.most or item.gas > budget):
                break
            batch.append(item)
            item.taken = True
            budget -= item.gas
        del self._queue[: len(batch)]
        self.transactions += 1
        self.requests += len(batch)
        return batch

    def _send(self, batch: list[Waiting]) -> None:
        try:
            if len(batch) == 1:
                outcomes: list[TxResult | Exception] = [self._lone(batch[0])]
            else:
                gas = sum(item.gas for item in batch) + BATCH_GAS
                outcomes = self._split(batch, self.send_batch(batch, gas))
        except Exception as exc:  # the transaction itself failed: none of them ran
            outcomes = [exc] * len(batch)
        with self._changed:
            for item, outcome in zip(batch, outcomes, strict=True):
                item.outcome, item.done = outcome, True

    def _lone(self, item: Waiting) -> TxResult | Exception:
        try:
            return self.send_one(item)
        except Exception as exc:  # its caller raises it
            return exc

    def _split(self, batch: Sequence[Waiting], result: TxResult) -> list[TxResult | Exception]:
        """Each request's own result out of the batch's receipt, in the batch's order. The
        forwarder runs the requests in order and emits ``ExecutedForwardRequest`` for each one it
        ran, so the events match the requests in order; a request whose turn shows no event of
        its own (signer and nonce), or whose deadline had passed when the batch was mined, was
        skipped, even when another request with its signer and nonce ran."""
        receipt = result.receipt
        logs = list(receipt["logs"])
        ran = executed_events(logs, receipt["to"])
        mined_at = self.block_time(result.block_number)
        outcomes: list[TxResult | Exception] = []
        start = next_event = 0
        for item in batch:
            mine = (item.request.sender, item.request.nonce)
            late = item.request.deadline < mined_at  # the forwarder skips it
            if late or next_event >= len(ran) or ran[next_event][1:3] != mine:
                outcomes.append(self.why_not(item, result, True))
                continue
            position, _, _, success = ran[next_event]
            next_event += 1
            if success:
                outcomes.append(own_result(result, receipt, logs[start : position + 1]))
            else:
                outcomes.append(self.why_not(item, result, False))
            start = position + 1
        return outcomes


def executed_events(logs: Sequence[Any], forwarder: str) -> list[tuple[int, str, int, bool]]:
    """(position in `logs`, signer, nonce, success) of each ``ExecutedForwardRequest`` the
    `forwarder` emitted in `logs`, in order (a called contract emitting one proves nothing)."""
    topic = keccak(text="ExecutedForwardRequest(address,uint256,bool)")
    found: list[tuple[int, str, int, bool]] = []
    for position, log in enumerate(logs):
        topics = log["topics"]
        if not topics or bytes(topics[0]) != topic:
            continue
        if to_checksum_address(log["address"]) != to_checksum_address(forwarder):
            continue
        data = bytes(log["data"])
        signer = to_checksum_address(bytes(topics[1])[-20:])
        found.append((position, signer, int.from_bytes(data[:32], "big"), data[63] == 1))
    return found


def own_part(
    result: TxResult, forwarder: str, signer: str, nonce: int, *, replayed: bool = False
) -> TxResult:
    """`result` as the one request of `signer` with `nonce` it ran: its receipt holding only that
    request's events (all of them when the transaction ran one request)."""
    receipt = result.receipt
    logs = list(receipt["logs"])
    ran = executed_events(logs, forwarder)
    start = 0
    if len(ran) > 1:  # a batch: only this request's part
        for position, who, used, _ in ran:
            if (who, used) == (signer, nonce):
                return own_result(result, receipt, logs[start : position + 1], replayed=replayed)
            start = position + 1
    return own_result(result, receipt, logs, replayed=replayed)


def own_result(
    result: TxResult, receipt: Any, logs: Sequence[Any], *, replayed: bool = False
) -> TxResult:
    """The batch's result as one request's: the same transaction, its receipt holding only the
    request's own events (so a caller reading "its" event finds no other member's)."""
    own = TxResult(
        result.tx_hash, result.block_number, result.block_hash, result.gas_used, result.w3, replayed
    )
    own.__dict__["receipt"] = AttributeDict({**dict(receipt), "logs": list(logs)})
    return own


__all__ = ["Batcher", "Waiting", "own_part"]
