"""What a node that went down leaves behind: the transactions it never passed on, sent again as the
same signed bytes, and the nonces a send that failed with it left unused, filled.

Either leaves a signer's later transactions queued behind a gap for ever; the client has failed
over to another node by then (``ledger.chain.connection.FailoverHTTPProvider``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from eth_typing import HexStr

from ledger.chain.tx.nonces import Nonces
from ledger.chain.tx.pool import RawSender, pool_full
from ledger.chain.tx.rpc import NodeRpc
from ledger.errors import ChainError

log = logging.getLogger(__name__)


class LostTransactions:
    """Repairs the nonce sequences of the signers whose transactions are kept in `nonces`."""

    def __init__(
        self,
        rpc: NodeRpc,
        nonces: Nonces,
        raw_sender: RawSender,
        *,
        chain_id: int,
        gas_price: Callable[[], int],
    ) -> None:
        self.rpc = rpc
        self.nonces = nonces
        self.raw_sender = raw_sender
        self.chain_id = chain_id
        self.gas_price = gas_price

    def send_again(self, hashes: list[str]) -> None:
        """Send again, as the same signed bytes, each transaction the node does not hold: the
        node it was sent to went down before passing it on (the client failed over).

        Not only `hashes`: every unmined transaction of their signers from their next nonce
        on, since one lost below them (its waiter gone, or waiting elsewhere) leaves them queued
        behind the gap for ever."""
        kept = self.nonces.in_flight()
        signers = sorted({kept[h].signer for h in hashes if h in kept})
        if not signers:
            return
        counts = self.rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in signers])
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
        known = self.rpc.batch([("eth_getTransactionByHash", [h]) for *_, h in candidates])
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
                self.raw_sender.send(kept[tx_hash].raw, tx_hash, wait_for_room=False)
            except ChainError as exc:
                log.warning("sending %s again was refused: %s", tx_hash, exc)
                if pool_full(str(exc)):
                    break  # the rest at the next check, when blocks have made room
        for signer in signers:
            if signer in mined_up_to:
                self.fill_gap(signer)

    def fill_gap(self, signer: str) -> None:
        """Fill the nonces below the signer's unmined transactions that nothing here or in the
        node's pool uses (a send that failed as its node went down), with empty transfers to
        itself: otherwise every later transaction of the signer waits behind them for ever."""
        account = self.nonces.account(signer)
        if account is None:
            return
        tracker = self.nonces.tracker(signer)
        with tracker.lock:  # no send of this signer is under way: an unused nonce is abandoned
            ours = self.nonces.nonces_in_flight(signer)
            mined, pending = self.rpc.nonces(signer)
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
                        "gasPrice": self.gas_price(),
                    }
                )
                log.warning(
                    "nonce %d of %s was left unused by a send that failed; filling it with an "
                    "empty transfer so that its later transactions can be mined",
                    nonce,
                    signer,
                )
                try:
                    self.raw_sender.send(signed.raw_transaction, signed.hash.to_0x_hex())
                except ChainError as exc:
                    log.warning("filling nonce %d of %s was refused: %s", nonce, signer, exc)
