"""Waiting for transactions: many at once, each with its confirmations, a mined revert decoded.

The receipts of every outstanding transaction are asked for in one JSON-RPC batch per poll; polls
start a few milliseconds apart (a development node mines at once) and slow to ``poll_seconds`` (a
validator network mines once a block). A transaction no node holds any more, after ``LOST_AFTER``
seconds, is sent again as the same signed bytes (``ledger.chain.tx.lost``). On a validator network
with 1 s blocks this is what lets a batch file fill blocks instead of waiting a block per
transaction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.datastructures import AttributeDict
from web3.types import RPCEndpoint, TxReceipt

from ledger.chain.connection import UNANSWERED
from ledger.chain.tx.lost import LostTransactions
from ledger.chain.tx.nonces import Nonces
from ledger.chain.tx.rpc import NodeRpc
from ledger.errors import ChainError, RetryableChainError, TransactionFailed

#: Seconds a node may leave every request unanswered while a transaction waits to be mined
#: before the wait ends with RetryableChainError (a node that died, not one slow to mine).
NODE_SILENCE = 10.0
#: Seconds a transaction may stay unmined before the node is asked whether it still holds it.
LOST_AFTER = 5.0


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    w3: Web3 = field(repr=False, compare=False)
    #: True when this is the answer to a relayed request that had already run (the same signed
    #: request sent again): nothing new was written.
    replayed: bool = False
    #: The receipt as the node sent it while the transaction was awaited (hex fields), if kept.
    raw_receipt: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def receipt(self) -> TxReceipt:
        """The receipt as web3 formats it, on first use: formatting the hundreds of logs of a
        batch takes tens of milliseconds, and most callers need only the fields above. It is the
        receipt read while waiting when that was kept, else fetched."""
        if self.raw_receipt is not None:
            formatted = AttributeDict.recursive(receipt_formatter(dict(self.raw_receipt)))
            return formatted  # type: ignore[no-any-return]
        return self.w3.eth.get_transaction_receipt(HexBytes(self.tx_hash))  # type: ignore[arg-type]


@dataclass
class Sent:
    """A transaction sent and not yet awaited (``TxSender.submit``)."""

    tx_hash: str
    call: dict[str, Any] | None
    context: str
    #: Set when the signer's write already ran to the end (a relayed signer: its relay awaits
    #: the receipt itself).
    done: TxResult | None = None
    #: Blocks on top before it counts as landed: None is the sender's `confirmations`; 0 for a
    #: step whose next step follows at once and is itself confirmed (the later transaction can
    #: only be final if this one is).
    confirmations: int | None = None


def created_address(result: TxResult, *, context: str = "") -> str:
    """The address of the contract a mined creation made."""
    address = result.receipt["contractAddress"]
    if not address:
        raise TransactionFailed(
            f"{context}: contract creation {result.tx_hash} returned no address"
        )
    return to_checksum_address(address)


class Receipts:
    """Awaits the transactions a ``TxSender`` sent."""

    def __init__(
        self,
        rpc: NodeRpc,
        nonces: Nonces,
        lost: LostTransactions,
        *,
        confirmations: int,
        timeout: float,
        poll_seconds: float,
    ) -> None:
        self.rpc = rpc
        self.nonces = nonces
        self.lost = lost
        self.confirmations = confirmations
        self.timeout = timeout
        #: The longest pause between two polls (a validator network: a fraction of its block
        #: period).
        self.poll_seconds = poll_seconds

    def wait_some(self, pending: Sequence[Sent]) -> dict[str, TxResult | ChainError]:
        """Wait until at least one transaction of `pending` is mined (and confirmed); returns, by
        hash, every one that is by then: its result or the decoded error of its mined revert.
        A transaction no node holds any more is sent again after ``LOST_AFTER`` seconds (2 s on a
        validator network)."""
        finished = {s.tx_hash: s.done for s in pending if s.done is not None}
        if finished or not pending:
            return dict(finished)
        waiting = {s.tx_hash: s for s in pending}
        started = time.monotonic()
        deadline = started + self.timeout
        checked_pool = started
        # a validator network (polled a few times a block) is checked every other block or so
        lost_after = min(LOST_AFTER, max(2.0, 10 * self.poll_seconds))
        delay = 0.003
        silent_since: float | None = None
        while True:
            try:
                receipts = self._receipts(list(waiting))
                silent_since = None
            except RetryableChainError:
                # a dropped answer is retried; a node silent for NODE_SILENCE is down: say so now
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > NODE_SILENCE:
                    first = next(iter(waiting))
                    raise RetryableChainError(
                        f"the chain node stopped answering while transaction {first} waited to "
                        "be mined; it may be mined or not: once the node is back, run the same "
                        "command again (it finds what was done)",
                        tx_hash=first,
                        pending=list(waiting),
                    ) from None
                receipts = {}
            mined = {h: r for h, r in receipts.items() if r is not None}
            if mined:
                return self._settle(mined, waiting, deadline)
            now = time.monotonic()
            if now > deadline:
                first = next(iter(waiting))
                raise RetryableChainError(
                    f"transaction {first} was not mined within {self.timeout:.0f}s"
                    f"{self._where_in_line(first)}; it may still be mined: wait for it rather "
                    "than sending again",
                    tx_hash=first,
                    pending=list(waiting),
                )
            if silent_since is None and now - checked_pool > lost_after:
                checked_pool = now
                self.lost.send_again(list(waiting))
            time.sleep(delay)
            delay = min(delay * 1.5, self.poll_seconds)

    def _receipts(self, hashes: list[str]) -> dict[str, dict[str, Any] | None]:
        """The raw receipts (hex fields) of `hashes`, None for those still pending."""
        if len(hashes) == 1:
            return {hashes[0]: self.rpc.request("eth_getTransactionReceipt", [hashes[0]])}
        answers = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        out: dict[str, dict[str, Any] | None] = {}
        for h, answer in zip(hashes, answers, strict=True):
            if "error" in answer:
                raise RetryableChainError(f"eth_getTransactionReceipt failed: {answer['error']}")
            out[h] = answer.get("result")
        return out

    def _settle(
        self,
        mined: dict[str, dict[str, Any]],
        waiting: Mapping[str, Sent],
        deadline: float,
    ) -> dict[str, TxResult | ChainError]:
        """Results of the mined transactions once their confirmations are on top of them (the
        sender's `confirmations`, or the `Sent`'s own): those of the first to be confirmed, and
        every other confirmed by then; the rest are left for the next wait."""
        block = {h: int(r["blockNumber"], 16) for h, r in mined.items()}
        due = {h: block[h] + self._confirmations_of(waiting[h]) for h in mined}
        if any(due[h] > block[h] for h in mined):
            target = min(due.values())
            while (head := self.rpc.block_number()) < target:
                if time.monotonic() > deadline:
                    first = min(due, key=due.__getitem__)
                    raise RetryableChainError(
                        f"transaction {first} is not yet confirmed", tx_hash=first
                    )
                time.sleep(min(0.5, self.poll_seconds))
            mined = {h: r for h, r in mined.items() if due[h] <= head}
        out: dict[str, TxResult | ChainError] = {}
        for tx_hash, receipt in mined.items():
            block_number = int(receipt["blockNumber"], 16)
            self.nonces.mined(tx_hash)
            if int(receipt["status"], 16) != 1:
                sent = waiting[tx_hash]
                out[tx_hash] = self._mined_revert(tx_hash, block_number, sent.call, sent.context)
                continue
            out[tx_hash] = TxResult(
                tx_hash=tx_hash,
                block_number=block_number,
                block_hash=HexBytes(receipt["blockHash"]).to_0x_hex(),
                gas_used=int(receipt["gasUsed"], 16),
                w3=self.rpc.w3,
                raw_receipt=receipt,
            )
        return out

    def _confirmations_of(self, sent: Sent) -> int:
        return self.confirmations if sent.confirmations is None else sent.confirmations

    def _where_in_line(self, tx_hash: str) -> str:
        """Where a transaction stuck in the pool stands among its signer's (for the message)."""
        entry = self.nonces.get(tx_hash)
        if entry is None:
            return ""
        try:
            mined, pending = self.rpc.nonces(entry.signer)
        except ChainError:
            return f" (nonce {entry.nonce} of {entry.signer})"
        return (
            f" (nonce {entry.nonce} of {entry.signer}; the node has mined its nonces below "
            f"{mined} and holds them in sequence below {pending})"
        )

    def _mined_revert(
        self, tx_hash: str, block_number: int, call: Mapping[str, Any] | None, context: str
    ) -> ChainError:
        """The decoded reason of a mined revert: from the node's trace of the transaction where
        it gives one (anvil; geth with its debug API), else by replaying the call on the state
        before its block and, if that passes, after it (an earlier transaction of its block,
        a competing redemption of the last units, is what made it fail)."""
        data = self._traced_revert(tx_hash)
        if data is not None:
            exc = self.rpc.decoder.decode(data, context=context)
            exc.details["tx_hash"] = tx_hash
            return exc
        if call is not None:
            for block in dict.fromkeys((max(block_number - 1, 0), block_number)):
                try:
                    self.rpc.request("eth_call", [dict(call), hex(block)], context=context)
                except ChainError as exc:
                    exc.details["tx_hash"] = tx_hash
                    return exc
        return TransactionFailed(
            f"{context + ': ' if context else ''}transaction {tx_hash} reverted in block {block_number}",
            tx_hash=tx_hash,
        )

    def _traced_revert(self, tx_hash: str) -> str | None:
        """The revert data of a mined transaction as the node's call tracer reports it; None
        where the node has no such tracer (ganache, geth without its debug API) or the revert
        carried no data."""
        try:
            response = self.rpc.w3.provider.make_request(
                RPCEndpoint("debug_traceTransaction"), [tx_hash, {"tracer": "callTracer"}]
            )
        except UNANSWERED:
            return None
        trace = response.get("result")
        if not isinstance(trace, Mapping) or not trace.get("error"):
            return None
        output = trace.get("output")
        if isinstance(output, str) and len(output) >= 10:
            return output
        return None
