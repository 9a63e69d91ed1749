"""Signed transactions into the node's pool: each sent exactly once, and a full pool waited out.

After a dropped connection, and whenever a send again is refused, the node is asked whether it
already holds the hash before the same bytes go again: some nodes (ganache 7) execute the same
signed bytes twice, others refuse them as "nonce too low". The nodes' refusals are told apart by
their words, which differ from node to node.
"""

from __future__ import annotations

import logging
import time

from hexbytes import HexBytes

from ledger.chain.tx.rpc import NodeRpc
from ledger.errors import ChainError, RetryableChainError

log = logging.getLogger(__name__)

#: Seconds a send waits, block after block, for room in a full pool before it gives up.
POOL_WAIT = 60.0
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


def nonce_taken(message: str) -> bool:
    """Whether a node's refusal says the nonce is used: mined, or held in the pool by another
    transaction of the signer (another process's)."""
    return any(s in message.lower() for s in _NONCE_TOO_LOW)


def pool_full(message: str) -> bool:
    """Whether a node's refusal says its pool has no room (not a nonce or price it refuses)."""
    message = message.lower()
    return any(s in message for s in _POOL_FULL) and not any(
        s in message for s in _NONCE_TOO_LOW + _BELOW_MINIMUM
    )


class RawSender:
    """Sends signed bytes to the node behind `rpc`."""

    def __init__(
        self, rpc: NodeRpc, *, attempts: int, pool_wait: float, poll_seconds: float
    ) -> None:
        self.rpc = rpc
        #: Sends of the same bytes after a dropped connection before giving up.
        self.attempts = attempts
        #: Seconds a send waits for room in a full pool before it gives up.
        self.pool_wait = pool_wait
        self.poll_seconds = poll_seconds

    def send(self, raw: bytes, tx_hash: str, *, wait_for_room: bool = True) -> str:
        """Send signed bytes exactly once, even when an answer is lost; a node whose pool is full
        is given blocks to drain it (up to ``pool_wait`` seconds) unless not `wait_for_room`."""
        delay = 0.2
        attempt = 0
        full_since: float | None = None
        while True:
            attempt += 1
            if attempt > 1 and self.rpc.known(tx_hash):
                return tx_hash
            try:
                self.rpc.request("eth_sendRawTransaction", [HexBytes(raw).to_0x_hex()])
                return tx_hash
            except RetryableChainError as exc:
                if attempt >= self.attempts:
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
                if attempt > 1 and self.rpc.known(tx_hash):
                    return tx_hash
                if not wait_for_room or not pool_full(message):
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
        head = self.rpc.block_number()
        until = time.monotonic() + 2 * self.poll_seconds + 1.0
        while self.rpc.block_number() == head and time.monotonic() < until:
            time.sleep(min(0.2, self.poll_seconds))
