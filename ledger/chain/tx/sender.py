"""``TxSender``: every write simulated, signed with its signer's next nonce, sent and awaited.

One ``TxSender`` per chain connection. For every write it: simulates the call (``eth_estimateGas``),
so a refusal is raised as a typed ``ContractRevert`` before anything is sent; takes the next nonce
for the signer under a per-account lock (``ledger.chain.tx.nonces``); signs with eth-account; sends
the raw bytes exactly once (``ledger.chain.tx.pool``); waits for the receipt and the configured
confirmations and decodes a mined revert (``ledger.chain.tx.receipts``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from ledger.chain.revert import RevertDecoder
from ledger.chain.tx.lost import LostTransactions
from ledger.chain.tx.nonces import Nonces, NonceTracker
from ledger.chain.tx.pool import POOL_WAIT, RawSender, nonce_taken
from ledger.chain.tx.receipts import Receipts, Sent, TxResult, created_address
from ledger.chain.tx.rpc import NodeRpc
from ledger.errors import ChainError

log = logging.getLogger(__name__)

#: What a write sends: calldata as bytes or 0x-prefixed hex.
Calldata: TypeAlias = bytes | str


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
        """`poll_seconds` is the longest pause between two polls for receipts (a validator
        network: a fraction of its block period); `pool_wait`, the seconds a send waits for room
        in a full pool before it gives up."""
        self.w3 = w3
        self.chain_id = chain_id
        self.decoder = decoder
        #: A fixed gas price (0 on a zero-fee chain); None asks the node each time.
        self.gas_price = gas_price
        self._price_cache: tuple[float, int] | None = None
        self._rpc = NodeRpc(w3, decoder)
        self._nonces = Nonces()
        self._raw = RawSender(
            self._rpc, attempts=send_attempts, pool_wait=pool_wait, poll_seconds=poll_seconds
        )
        lost = LostTransactions(
            self._rpc, self._nonces, self._raw, chain_id=chain_id, gas_price=self._gas_price
        )
        self._receipts = Receipts(
            self._rpc,
            self._nonces,
            lost,
            confirmations=confirmations,
            timeout=receipt_timeout,
            poll_seconds=poll_seconds,
        )

    # --- writes --------------------------------------------------------------------------------

    def send(
        self, account: Signer, to: str, data: Calldata, *, gas: int | None = None, context: str = ""
    ) -> TxResult:
        """Simulate, sign, send and confirm a call of `data` on `to` from `account`; a relayed
        signer's call goes through the forwarder instead."""
        sent = self.submit(account, to, data, gas=gas, context=context)
        return sent.done or self.wait(sent.tx_hash, call=sent.call, context=context)

    def submit(
        self, account: Signer, to: str, data: Calldata, *, gas: int | None = None, context: str = ""
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
            estimate = self._rpc.request("eth_estimateGas", [call], context=context)
            gas = int(estimate, 16) * 6 // 5 + 20_000
        tx_hash = self._sign_and_send(account, call, gas=gas, context=context)
        return Sent(tx_hash=tx_hash, call=call, context=context)

    async def asend(
        self, account: Signer, to: str, data: Calldata, *, gas: int | None = None, context: str = ""
    ) -> TxResult:
        """``send`` for async code: runs in a worker thread; nonces stay correct across both."""
        return await asyncio.to_thread(self.send, account, to, data, gas=gas, context=context)

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
        estimate = self._rpc.request("eth_estimateGas", [call], context=context)
        gas = int(estimate, 16) * 6 // 5 + 50_000
        tx_hash = self._sign_and_send(account, call, gas=gas, context=context)
        return Sent(tx_hash=tx_hash, call=call, context=context)

    def reset_nonce(self, address: str) -> None:
        """Forget the cached nonce of `address` (it is read from the chain next time)."""
        self._nonces.reset(address)

    # --- reads ---------------------------------------------------------------------------------

    def estimate(self, sender: str, to: str, data: Calldata, *, context: str = "") -> int:
        """Gas for `sender` calling `data` on `to`; a refusal raises its decoded error."""
        call = {"from": sender, "to": to_checksum_address(to), "data": _hex(data)}
        return int(self._rpc.request("eth_estimateGas", [call], context=context), 16)

    def call(
        self, to: str, data: Calldata, *, sender: str | None = None, context: str = ""
    ) -> bytes:
        """A read-only ``eth_call``; a revert raises its decoded error."""
        call: dict[str, Any] = {"to": to_checksum_address(to), "data": _hex(data)}
        if sender:
            call["from"] = sender
        return bytes(HexBytes(self._rpc.request("eth_call", [call, "latest"], context=context)))

    def ask(self, requests: list[tuple[str, list[Any]]], *, context: str = "") -> list[Any]:
        """Several raw requests (method, params) in one round trip: each one's result, or its
        error (a simulation's revert decoded), returned in its place (``NodeRpc.ask``)."""
        return self._rpc.ask(requests, context=context)

    # --- waiting -------------------------------------------------------------------------------

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
        hash, every one that is by then (``ledger.chain.tx.receipts.Receipts.wait_some``)."""
        return self._receipts.wait_some(pending)

    # --- internals -----------------------------------------------------------------------------

    def _tracker(self, address: str) -> NonceTracker:
        return self._nonces.tracker(address)

    def _sign_and_send(
        self, account: LocalAccount, call: Mapping[str, Any], *, gas: int, context: str
    ) -> str:
        """Sign `call` with the signer's next nonce and send it; a nonce another process took
        meanwhile is read again from the node, twice at the most."""
        gas_price = self._gas_price()
        tracker = self._tracker(account.address)
        with tracker.lock:
            for attempt in itertools.count():
                if tracker.next is None:
                    tracker.next = int(
                        self._rpc.request("eth_getTransactionCount", [account.address, "pending"]),
                        16,
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
                    tx_hash = self._raw.send(signed.raw_transaction, signed.hash.to_0x_hex())
                except ChainError as exc:
                    tracker.next = None
                    if attempt < 2 and nonce_taken(str(exc)):
                        log.info(
                            "nonce %d of %s was taken elsewhere; resynchronising",
                            nonce,
                            account.address,
                        )
                        continue
                    raise
                tracker.next = nonce + 1
                self._nonces.sent(account, nonce, signed.raw_transaction, tx_hash)
                log.debug("sent %s from %s nonce %d (%s)", tx_hash, account.address, nonce, context)
                return tx_hash
        raise AssertionError("unreachable")

    def _gas_price(self) -> int:
        """The configured price, else the node's, asked at most once a second."""
        if self.gas_price is not None:
            return self.gas_price
        now = time.monotonic()
        cached = self._price_cache
        if cached is not None and now - cached[0] < 1.0:
            return cached[1]
        price = int(self._rpc.request("eth_gasPrice", []), 16)
        self._price_cache = (now, price)
        return price


def _hex(data: Calldata) -> str:
    return data if isinstance(data, str) else HexBytes(data).to_0x_hex()
