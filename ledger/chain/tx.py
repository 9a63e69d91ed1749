"""The only way a transaction is signed, sent and confirmed.

One ``TxSender`` per chain connection. For every write it: simulates the call (``eth_estimateGas``),
so a refusal is raised as a typed ``ContractRevert`` before anything is sent; takes the next nonce
for the signer under a per-account lock (correct under threads, and under async tasks through
``asend``); signs with eth-account; sends the raw bytes, re-sending the *same* bytes after a dropped
connection (same hash, so never a second transaction); waits for the receipt and the configured
confirmations; and decodes a mined revert.

Many transactions can be in flight at once (``submit`` then ``wait_all``): nonces are assigned
here, the receipts of every outstanding transaction are asked for in one JSON-RPC batch per
poll, and a transaction the node has lost (a node that went down before passing it on) is sent
again as the same signed bytes. On a validator network with 1 s blocks this is what lets a batch
file fill blocks instead of waiting a block per transaction.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeAlias, runtime_checkable

from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.types import RPCEndpoint, TxReceipt

from ledger.chain.connection import UNANSWERED, rpc_batch
from ledger.chain.revert import RevertDecoder
from ledger.errors import ChainError, RetryableChainError, TransactionFailed

log = logging.getLogger(__name__)

#: What a node that does not answer raises (the one list, in ledger.chain.connection).
_RETRYABLE = UNANSWERED
#: Seconds a node may leave every request unanswered while a transaction waits to be mined
#: before the wait ends with RetryableChainError (a node that died, not one slow to mine).
NODE_SILENCE = 10.0
#: Seconds a transaction may stay unmined before the node is asked whether it still holds it.
LOST_AFTER = 5.0
#: Signed transactions remembered for sending again (the oldest are forgotten first).
_SIGNED_KEPT = 10_000
_ALREADY_SENT = ("already known", "known transaction", "already imported", "alreadyknown")
_NONCE_TOO_LOW = (
    "nonce too low",
    "nonce is too low",
    "incorrect nonce",
    "nonce too small",
    "correct nonce",  # ganache: "the tx doesn't have the correct nonce"
    # another transaction of the signer holds the nonce in the pool (another process's)
    "replacement transaction underpriced",
    "replacement fee too low",
)
#: A node's pool refusing for want of room: it drains as blocks are sealed. On a zero-price
#: chain geth says "transaction underpriced" when its pool is full (no one pays more).
_POOL_FULL = ("txpool is full", "pool is full", "transaction underpriced", "pool limit")
#: A price below the node's minimum (geth: "transaction underpriced: gas tip cap 0, minimum
#: needed 1000000000"): no block makes room for it.
_BELOW_MINIMUM = ("minimum needed", "below minimum", "gas price too low")
#: Seconds a send waits, block after block, for room in a full pool before it gives up.
POOL_WAIT = 60.0


@dataclass(frozen=True)
class _Signed:
    """A transaction sent: who signed it, its nonce, its signed bytes."""

    signer: str
    nonce: int
    raw: bytes


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

    @cached_property
    def receipt(self) -> TxReceipt:
        """The receipt as web3 formats it, fetched on first use: formatting the hundreds of logs
        of a batch takes tens of milliseconds, and most callers need only the fields above."""
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


@runtime_checkable
class Delegated(Protocol):
    """A signer whose writes are relayed: it signs an EIP-712 request (or has one signed) and the
    relayer sends it through the forwarder, so the contracts see `address` as the sender."""

    @property
    def address(self) -> str: ...

    def send_through(self, sender: TxSender, to: str, data: str, *, context: str) -> TxResult:
        """Send `data` to `to` on behalf of `address`."""
        ...


#: Who a write is from: a key held here (operators) or a relayed signer (members, staff).
Signer: TypeAlias = "LocalAccount | Delegated"


@dataclass
class _Nonces:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next: int | None = None


class TxSender:
    """Signs, sends and confirms transactions for any number of local accounts."""

    def __init__(
        self,
        w3: Web3,
        *,
        chain_id: int,
        decoder: RevertDecoder,
        confirmations: int = 0,
        receipt_timeout: float = 120.0,
        send_attempts: int = 5,
        gas_price: int | None = None,
        poll_seconds: float = 1.0,
        pool_wait: float = POOL_WAIT,
    ) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.decoder = decoder
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        self.send_attempts = send_attempts
        #: A fixed gas price (0 on a zero-fee chain); None asks the node each time.
        self.gas_price = gas_price
        self._price_cache: tuple[float, int] | None = None
        #: The longest pause between two polls for receipts (a validator network: a fraction
        #: of its block period).
        self.poll_seconds = poll_seconds
        #: Seconds a send waits for room in a full pool before it gives up.
        self.pool_wait = pool_wait
        self._nonces: dict[str, _Nonces] = {}
        self._nonces_guard = threading.Lock()
        #: The transactions sent and not yet seen mined, by hash, to send again: signer, nonce
        #: and signed bytes.
        self._signed: dict[str, _Signed] = {}
        self._signed_guard = threading.Lock()
        #: The local keys that signed here, to fill a nonce a failed send left unused.
        self._accounts: dict[str, LocalAccount] = {}

    # --- public --------------------------------------------------------------------------------

    def send(
        self,
        account: Signer,
        to: str,
        data: bytes | str,
        *,
        gas: int | None = None,
        context: str = "",
    ) -> TxResult:
        """Simulate, sign, send and confirm a call of `data` on `to` from `account`; a relayed
        signer's call goes through the forwarder instead."""
        sent = self.submit(account, to, data, gas=gas, context=context)
        return sent.done or self.wait(sent.tx_hash, call=sent.call, context=context)

    def submit(
        self,
        account: Signer,
        to: str,
        data: bytes | str,
        *,
        gas: int | None = None,
        context: str = "",
    ) -> Sent:
        """``send`` without waiting: simulate (unless `gas` is given), sign with the signer's next
        nonce and send; ``wait_some``/``wait_all`` await the receipts later, so many transactions
        of one signer can be in flight. A relayed signer's write runs to the end now (its relay
        awaits it): ``Sent.done`` holds the result."""
        call: dict[str, Any] = {
            "from": account.address,
            "to": to_checksum_address(to),
            "data": _hex(data),
        }
        if isinstance(account, Delegated):
            done = account.send_through(self, to, call["data"], context=context)
            return Sent(tx_hash=done.tx_hash, call=call, context=context, done=done)
        if gas is None:
            estimate = self._rpc("eth_estimateGas", [call], context=context)
            gas = int(estimate, 16) * 6 // 5 + 20_000
        tx_hash = self._sign_and_send(
            account, call, gas=gas, gas_price=self._gas_price(), context=context
        )
        return Sent(tx_hash=tx_hash, call=call, context=context)

    def deploy(
        self, account: LocalAccount, bytecode: str, *, context: str = ""
    ) -> tuple[str, TxResult]:
        """Create a contract from `bytecode` (constructor arguments appended); returns its address."""
        sent = self.submit_create(account, bytecode, context=context)
        result = self.wait(sent.tx_hash, call=sent.call, context=context)
        return created_address(result, context=context), result

    def submit_create(self, account: LocalAccount, bytecode: str, *, context: str = "") -> Sent:
        """``deploy`` without waiting (``wait_all`` then ``created_address``): the constructor is
        simulated on the state now, so arguments may name contracts still in flight only if the
        constructor does not call them."""
        call: dict[str, Any] = {"from": account.address, "data": bytecode}
        estimate = self._rpc("eth_estimateGas", [call], context=context)
        gas = int(estimate, 16) * 6 // 5 + 50_000
        tx_hash = self._sign_and_send(
            account, call, gas=gas, gas_price=self._gas_price(), context=context
        )
        return Sent(tx_hash=tx_hash, call=call, context=context)

    async def asend(
        self,
        account: Signer,
        to: str,
        data: bytes | str,
        *,
        gas: int | None = None,
        context: str = "",
    ) -> TxResult:
        """``send`` for async code: runs in a worker thread; nonces stay correct across both."""
        return await asyncio.to_thread(self.send, account, to, data, gas=gas, context=context)

    def estimate(self, sender: str, to: str, data: bytes | str, *, context: str = "") -> int:
        """Gas for `sender` calling `data` on `to`; a refusal raises its decoded error."""
        call = {"from": sender, "to": to_checksum_address(to), "data": _hex(data)}
        return int(self._rpc("eth_estimateGas", [call], context=context), 16)

    def call(
        self, to: str, data: bytes | str, *, sender: str | None = None, context: str = ""
    ) -> bytes:
        """A read-only ``eth_call``; a revert raises its decoded error."""
        call: dict[str, Any] = {"to": to_checksum_address(to), "data": _hex(data)}
        if sender:
            call["from"] = sender
        return bytes(HexBytes(self._rpc("eth_call", [call, "latest"], context=context)))

    def wait(
        self, tx_hash: str, *, call: Mapping[str, Any] | None = None, context: str = ""
    ) -> TxResult:
        """Wait for `tx_hash` to be mined (and confirmed); a revert raises its decoded error."""
        sent = Sent(tx_hash=tx_hash, call=dict(call) if call is not None else None, context=context)
        outcome = self.wait_some([sent])[tx_hash]
        if isinstance(outcome, ChainError):
            raise outcome
        return outcome

    def wait_all(self, pending: Sequence[Sent]) -> list[TxResult | ChainError]:
        """The outcome of every transaction in `pending`, in order: its result, or the decoded
        error of a mined revert. A node that stops answering raises RetryableChainError."""
        outcomes: dict[str, TxResult | ChainError] = {}
        while len(outcomes) < len(pending):
            outcomes.update(self.wait_some([s for s in pending if s.tx_hash not in outcomes]))
        return [outcomes[s.tx_hash] for s in pending]

    def wait_some(self, pending: Sequence[Sent]) -> dict[str, TxResult | ChainError]:
        """Wait until at least one transaction of `pending` is mined (and confirmed); returns, by
        hash, every one that is by then: its result or the decoded error of its mined revert.

        One JSON-RPC batch asks for all the receipts at each poll; polls start a few
        milliseconds apart (a development node mines at once) and slow to ``poll_seconds`` (a
        validator network mines once a block). A transaction no node holds any more, after
        ``LOST_AFTER`` seconds (2 s on a validator network), is sent again as the same signed
        bytes."""
        finished = {s.tx_hash: s.done for s in pending if s.done is not None}
        if finished or not pending:
            return dict(finished)
        waiting = {s.tx_hash: s for s in pending}
        started = time.monotonic()
        deadline = started + self.receipt_timeout
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
                    f"transaction {first} was not mined within {self.receipt_timeout:.0f}s"
                    f"{self._where_in_line(first)}; it may still be mined: wait for it rather "
                    "than sending again",
                    tx_hash=first,
                    pending=list(waiting),
                )
            if silent_since is None and now - checked_pool > lost_after:
                checked_pool = now
                self._send_lost_again(list(waiting))
            time.sleep(delay)
            delay = min(delay * 1.5, self.poll_seconds)

    def reset_nonce(self, address: str) -> None:
        """Forget the cached nonce of `address` (it is read from the chain next time)."""
        with self._tracker(address).lock:
            self._tracker(address).next = None

    # --- internals -----------------------------------------------------------------------------

    def _tracker(self, address: str) -> _Nonces:
        with self._nonces_guard:
            return self._nonces.setdefault(address, _Nonces())

    def _sign_and_send(
        self,
        account: LocalAccount,
        call: Mapping[str, Any],
        *,
        gas: int,
        gas_price: int,
        context: str,
    ) -> str:
        tracker = self._tracker(account.address)
        with tracker.lock:
            for attempt in itertools.count():
                if tracker.next is None:
                    tracker.next = int(
                        self._rpc("eth_getTransactionCount", [account.address, "pending"]), 16
                    )
                nonce = tracker.next
                signed = account.sign_transaction(
                    {
                        "chainId": self.chain_id,
                        "nonce": nonce,
                        **({"to": call["to"]} if call.get("to") else {}),
                        "data": call["data"],
                        "value": 0,
                        "gas": gas,
                        "gasPrice": gas_price,
                    }
                )
                try:
                    tx_hash = self._send_raw(signed.raw_transaction, signed.hash.to_0x_hex())
                except ChainError as exc:
                    tracker.next = None
                    if attempt < 2 and any(s in str(exc).lower() for s in _NONCE_TOO_LOW):
                        log.info(
                            "nonce %d of %s was taken elsewhere; resynchronising",
                            nonce,
                            account.address,
                        )
                        continue
                    raise
                tracker.next = nonce + 1
                self._accounts[account.address] = account
                with self._signed_guard:
                    self._signed[tx_hash] = _Signed(account.address, nonce, signed.raw_transaction)
                    while len(self._signed) > _SIGNED_KEPT:
                        self._signed.pop(next(iter(self._signed)))
                log.debug("sent %s from %s nonce %d (%s)", tx_hash, account.address, nonce, context)
                return tx_hash
        raise AssertionError("unreachable")

    def _send_raw(self, raw: bytes, tx_hash: str, *, wait_for_room: bool = True) -> str:
        """Send signed bytes exactly once, even when an answer is lost.

        Before sending the bytes again after a dropped connection, and whenever a re-send is
        refused, the node is asked whether it already holds the hash: some nodes (ganache 7)
        execute the same signed bytes twice, others refuse them as "nonce too low". A node whose
        pool is full is given blocks to drain it (up to ``pool_wait`` seconds).
        """
        delay = 0.2
        attempt = 0
        full_since: float | None = None
        while True:
            attempt += 1
            if attempt > 1 and self._known(tx_hash):
                return tx_hash
            try:
                self._rpc("eth_sendRawTransaction", [HexBytes(raw).to_0x_hex()])
                return tx_hash
            except RetryableChainError as exc:
                if attempt >= self.send_attempts:
                    exc.details["tx_hash"] = tx_hash
                    exc.message += (
                        f"; the transaction {tx_hash} may still reach the chain: check it before "
                        "sending again"
                    )
                    raise
                log.warning("connection lost sending %s; checking, then retrying", tx_hash)
                time.sleep(delay)
                delay *= 2
            except ChainError as exc:
                message = str(exc).lower()
                if any(s in message for s in _ALREADY_SENT):
                    return tx_hash
                if attempt > 1 and self._known(tx_hash):
                    return tx_hash
                if not wait_for_room or not _pool_full(message):
                    raise
                full_since = full_since or time.monotonic()
                self._wait_for_room(exc, tx_hash, full_since)
                attempt = 1  # the node answers: sending again is not a retry of a lost answer

    def _wait_for_room(self, refusal: ChainError, tx_hash: str, since: float) -> None:
        """Wait for the next block (it takes transactions out of a full pool), or give up with
        the node's refusal once the pool has stayed full for ``pool_wait`` seconds."""
        if time.monotonic() - since > self.pool_wait:
            raise RetryableChainError(
                f"{refusal.message}; the node refused {tx_hash} for {self.pool_wait:.0f}s: its "
                "transaction pool stayed full; nothing was sent: send again later",
                tx_hash=tx_hash,
            ) from None
        log.info("the node's transaction pool is full; waiting for a block to send %s", tx_hash)
        head = self._block_number()
        until = time.monotonic() + 2 * self.poll_seconds + 1.0
        while self._block_number() == head and time.monotonic() < until:
            time.sleep(min(0.2, self.poll_seconds))

    def _known(self, tx_hash: str) -> bool:
        """Whether the node holds `tx_hash` (pending or mined); unknown when it cannot answer."""
        try:
            return self._rpc("eth_getTransactionByHash", [tx_hash]) is not None
        except RetryableChainError:
            return False

    def _gas_price(self) -> int:
        """The configured price, else the node's, asked at most once a second."""
        if self.gas_price is not None:
            return self.gas_price
        now = time.monotonic()
        cached = self._price_cache
        if cached is not None and now - cached[0] < 1.0:
            return cached[1]
        price = int(self._rpc("eth_gasPrice", []), 16)
        self._price_cache = (now, price)
        return price

    def _receipts(self, hashes: list[str]) -> dict[str, dict[str, Any] | None]:
        """The raw receipts (hex fields) of `hashes`, None for those still pending."""
        if len(hashes) == 1:
            return {hashes[0]: self._rpc("eth_getTransactionReceipt", [hashes[0]])}
        answers = rpc_batch(self.w3, [("eth_getTransactionReceipt", [h]) for h in hashes])
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
            while (head := self._block_number()) < target:
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
            with self._signed_guard:
                self._signed.pop(tx_hash, None)
            if int(receipt["status"], 16) != 1:
                sent = waiting[tx_hash]
                out[tx_hash] = self._mined_revert(tx_hash, block_number, sent.call, sent.context)
                continue
            out[tx_hash] = TxResult(
                tx_hash=tx_hash,
                block_number=block_number,
                block_hash=HexBytes(receipt["blockHash"]).to_0x_hex(),
                gas_used=int(receipt["gasUsed"], 16),
                w3=self.w3,
            )
        return out

    def _confirmations_of(self, sent: Sent) -> int:
        return self.confirmations if sent.confirmations is None else sent.confirmations

    def _send_lost_again(self, hashes: list[str]) -> None:
        """Send again, as the same signed bytes, each transaction the node does not hold: the
        node it was sent to went down before passing it on (the client failed over).

        Not only `hashes`: every unmined transaction of their signers from their next nonce
        on, since one lost below them (its waiter gone, or waiting elsewhere) leaves them queued
        behind the gap for ever."""
        with self._signed_guard:
            kept = dict(self._signed)
        signers = sorted({kept[h].signer for h in hashes if h in kept})
        if not signers:
            return
        counts = rpc_batch(self.w3, [("eth_getTransactionCount", [a, "latest"]) for a in signers])
        mined_up_to = {
            signer: int(answer["result"], 16)
            for signer, answer in zip(signers, counts, strict=True)
            if "result" in answer
        }
        candidates = sorted(
            (
                (entry.signer, entry.nonce, tx_hash)
                for tx_hash, entry in kept.items()
                if entry.signer in mined_up_to and entry.nonce >= mined_up_to[entry.signer]
            ),
        )
        if not candidates:
            return
        known = rpc_batch(self.w3, [("eth_getTransactionByHash", [h]) for *_, h in candidates])
        for (signer, nonce, tx_hash), answer in zip(candidates, known, strict=True):
            if "error" in answer or answer.get("result") is not None:
                continue
            log.warning(
                "transaction %s (%s nonce %d) is unknown to the node; sending it again",
                tx_hash,
                signer,
                nonce,
            )
            try:
                self._send_raw(kept[tx_hash].raw, tx_hash, wait_for_room=False)
            except ChainError as exc:
                log.warning("sending %s again was refused: %s", tx_hash, exc)
                if _pool_full(str(exc)):
                    break  # the rest at the next check, when blocks have made room
        for signer in signers:
            if signer in mined_up_to:
                self._fill_gap(signer)

    def _fill_gap(self, signer: str) -> None:
        """Fill the nonces below the signer's unmined transactions that nothing here or in the
        node's pool uses (a send that failed as its node went down), with empty transfers to
        itself: otherwise every later transaction of the signer waits behind them for ever."""
        account = self._accounts.get(signer)
        if account is None:
            return
        tracker = self._tracker(signer)
        with tracker.lock:  # no send of this signer is under way: an unused nonce is abandoned
            with self._signed_guard:
                ours = {e.nonce for e in self._signed.values() if e.signer == signer}
            mined, pending = self._nonces_on_node(signer)
            waiting = [n for n in ours if n >= mined]
            if not waiting:
                return
            gap = [n for n in range(max(mined, pending), min(waiting)) if n not in ours]
            for nonce in gap:
                signed = account.sign_transaction(
                    {
                        "chainId": self.chain_id,
                        "nonce": nonce,
                        "to": HexStr(signer),
                        "value": 0,
                        "gas": 21_000,
                        "gasPrice": self._gas_price(),
                    }
                )
                log.warning(
                    "nonce %d of %s was left unused by a send that failed; filling it with an "
                    "empty transfer so that its later transactions can be mined",
                    nonce,
                    signer,
                )
                try:
                    self._send_raw(signed.raw_transaction, signed.hash.to_0x_hex())
                except ChainError as exc:
                    log.warning("filling nonce %d of %s was refused: %s", nonce, signer, exc)

    def _nonces_on_node(self, signer: str) -> tuple[int, int]:
        """The signer's next nonce after its mined transactions, and after those the node holds
        in sequence."""
        mined, pending = (
            int(self._rpc("eth_getTransactionCount", [signer, tag]), 16)
            for tag in ("latest", "pending")
        )
        return mined, pending

    def _where_in_line(self, tx_hash: str) -> str:
        """Where a transaction stuck in the pool stands among its signer's (for the message)."""
        with self._signed_guard:
            entry = self._signed.get(tx_hash)
        if entry is None:
            return ""
        try:
            mined, pending = self._nonces_on_node(entry.signer)
        except ChainError:
            return f" (nonce {entry.nonce} of {entry.signer})"
        return (
            f" (nonce {entry.nonce} of {entry.signer}; the node has mined its nonces below "
            f"{mined} and holds them in sequence below {pending})"
        )

    def _block_number(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def _mined_revert(
        self, tx_hash: str, block_number: int, call: Mapping[str, Any] | None, context: str
    ) -> ChainError:
        """The decoded reason of a mined revert: from the node's trace of the transaction where
        it gives one (anvil; geth with its debug API), else by replaying the call on the state
        before its block and, if that passes, after it (an earlier transaction of its block,
        a competing redemption of the last units, is what made it fail)."""
        data = self._traced_revert(tx_hash)
        if data is not None:
            exc = self.decoder.decode(data, context=context)
            exc.details["tx_hash"] = tx_hash
            return exc
        if call is not None:
            for block in dict.fromkeys((max(block_number - 1, 0), block_number)):
                try:
                    self._rpc("eth_call", [dict(call), hex(block)], context=context)
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
            response = self.w3.provider.make_request(
                RPCEndpoint("debug_traceTransaction"), [tx_hash, {"tracer": "callTracer"}]
            )
        except _RETRYABLE:
            return None
        trace = response.get("result")
        if not isinstance(trace, Mapping) or not trace.get("error"):
            return None
        output = trace.get("output")
        if isinstance(output, str) and len(output) >= 10:
            return output
        return None

    def _rpc(self, method: str, params: list[Any], *, context: str = "") -> Any:
        """A raw JSON-RPC request; node errors are decoded uniformly across ganache, anvil, Besu."""
        try:
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        except _RETRYABLE as exc:
            raise RetryableChainError(
                f"the chain node did not answer {method}: {exc.__class__.__name__}; "
                "check that it is running (`vpl chain status`)"
            ) from None
        error = response.get("error")
        if error is None:
            return response.get("result")
        data = _revert_data(error)
        if data is not None and method in ("eth_estimateGas", "eth_call"):
            raise self.decoder.decode(data, context=context)
        message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
        if method in ("eth_estimateGas", "eth_call") and "revert" in message.lower():
            raise self.decoder.decode(None, context=context)
        raise ChainError(f"{method} failed: {message}", rpc_error=error)


def created_address(result: TxResult, *, context: str = "") -> str:
    """The address of the contract a mined creation made."""
    address = result.receipt["contractAddress"]
    if not address:
        raise TransactionFailed(
            f"{context}: contract creation {result.tx_hash} returned no address"
        )
    return to_checksum_address(address)


def _pool_full(message: str) -> bool:
    """Whether a node's refusal says its pool has no room (not a nonce or price it refuses)."""
    message = message.lower()
    return any(s in message for s in _POOL_FULL) and not any(
        s in message for s in _NONCE_TOO_LOW + _BELOW_MINIMUM
    )


def _revert_data(error: Any) -> str | None:
    """The revert data in a node's error object (anvil/Besu: ``data``; ganache: ``data.result``)."""
    if not isinstance(error, Mapping):
        return None
    data = error.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    if isinstance(data, Mapping):
        for key in ("result", "data"):
            value = data.get(key)
            if isinstance(value, str) and value.startswith("0x"):
                return value
    return None


def _hex(data: bytes | str) -> str:
    return data if isinstance(data, str) else HexBytes(data).to_0x_hex()
