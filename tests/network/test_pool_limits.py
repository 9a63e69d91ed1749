"""A node's transaction pool on the validator network: full, or holding another process's
transaction at the nonce a sender meant to use.

A validator of its own whose pool holds 16 pending and 16 queued transactions, and treats the
transactions sent through its RPC like any other (no locals), so its limits apply to them: a
sender with many transactions in flight waits for room block by block instead of failing, and
every transaction is mined once, each nonce used exactly once. Two senders with one key (two API
processes of one relayer) never make one of them fail: the one whose nonce was taken takes the
next."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest
from web3.exceptions import Web3RPCError

from ledger.chain.tx import TxSender
from ledger.errors import ChainError, RetryableChainError
from ledger.ledger import Ledger
from tests.network.conftest import own_network
from tests.network.test_validators import wait_until

POOL = 16
IN_FLIGHT = 60


@pytest.fixture(scope="module")
def small_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    with own_network(tmp_path_factory.mktemp("pool"), "small-pool", 1, txpool_account_slots=POOL,
                     txpool_global_slots=POOL, txpool_locals=False) as (_, ledger):  # fmt: skip
        yield ledger


def nonce_of(ledger: Ledger, tx_hash: str) -> int:
    return int(ledger.w3.eth.get_transaction(tx_hash)["nonce"])  # type: ignore[arg-type]


def test_a_full_pool_is_waited_out_and_every_transaction_is_mined_once(
    small_pool: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    ledger, sender = small_pool, small_pool.sender
    account = ledger.operator("issuer-vol")
    first = ledger.w3.eth.get_transaction_count(account.address)
    with caplog.at_level(logging.INFO, logger="ledger.chain.tx"):
        sent = [sender.submit(account, account.address, b"", gas=21_000) for _ in range(IN_FLIGHT)]
        outcomes = sender.wait_all(sent)
    # more than the pool holds were in flight: the node said so, and the sender waited
    assert any("pool is full" in r.getMessage() for r in caplog.records)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert len({s.tx_hash for s in sent}) == IN_FLIGHT
    receipts = [ledger.w3.eth.get_transaction_receipt(s.tx_hash) for s in sent]  # type: ignore[arg-type]
    assert [r["status"] for r in receipts] == [1] * IN_FLIGHT
    assert sorted(nonce_of(ledger, s.tx_hash) for s in sent) == list(
        range(first, first + IN_FLIGHT)
    )
    assert ledger.w3.eth.get_transaction_count(account.address) == first + IN_FLIGHT


def test_a_nonce_another_process_took_in_the_pool_is_skipped_not_fatal(
    small_pool: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = small_pool
    account = ledger.operator("relayer")

    def process() -> TxSender:
        return TxSender(ledger.w3, chain_id=ledger.network.chain_id, decoder=ledger.sender.decoder,
                        poll_seconds=0.2)  # fmt: skip

    one, other = process(), process()
    before = one.submit(account, account.address, b"", gas=21_000)  # `one` will use the next nonce
    taken = other.submit(account, account.address, b"", gas=21_000)  # `other` takes it first
    assert nonce_of(ledger, taken.tx_hash) == nonce_of(ledger, before.tx_hash) + 1
    with caplog.at_level(logging.INFO, logger="ledger.chain.tx"):
        after = one.submit(account, account.address, b"\x01", gas=30_000)
    assert any("taken elsewhere" in r.getMessage() for r in caplog.records)
    assert nonce_of(ledger, after.tx_hash) == nonce_of(ledger, taken.tx_hash) + 1
    for sender, sent in ((one, before), (other, taken), (one, after)):
        assert sender.wait(sent.tx_hash).block_number > 0


def test_a_price_below_the_nodes_minimum_is_refused_at_once_and_nothing_is_sent(
    small_pool: Ledger,
) -> None:
    ledger = small_pool
    account = ledger.operator("issuer-bee")
    # the node's own RPC transactions are not its locals here: its minimum price applies
    cheap = TxSender(ledger.w3, chain_id=ledger.network.chain_id, decoder=ledger.sender.decoder,
                     gas_price=0)  # fmt: skip
    before = ledger.w3.eth.get_transaction_count(account.address, "pending")
    with pytest.raises(ChainError) as refused:
        cheap.submit(account, account.address, b"", gas=21_000)
    assert "minimum needed" in str(refused.value)
    assert "stayed full" not in str(refused.value)  # not mistaken for a full pool
    assert ledger.w3.eth.get_transaction_count(account.address, "pending") == before


def test_a_pool_that_stays_full_is_a_clear_retryable_error_and_nothing_is_sent(
    small_pool: Ledger,
) -> None:
    ledger = small_pool
    w3, chain_id = ledger.w3, ledger.network.chain_id
    # a sender fills the pool with large transactions (4 of its slots each) queued behind a
    # nonce it leaves out: no block can take them, so the pool stays full
    blocker = ledger.operator("reviewer-1")

    def raw(nonce: int, data: bytes, gwei: int = 100) -> bytes:
        signed = blocker.sign_transaction({"chainId": chain_id, "nonce": nonce, "to": blocker.address,
                                           "data": data, "value": 0, "gas": 500_000,
                                           "gasPrice": gwei * 10**9})  # fmt: skip
        return bytes(signed.raw_transaction)

    first = w3.eth.get_transaction_count(blocker.address, "pending")
    queued = [raw(nonce, bytes(100_000)) for nonce in range(first + 1, first + 1 + 2 * POOL // 4)]
    for tx in queued:
        w3.eth.send_raw_transaction(tx)
    account = ledger.operator("merchant-1")
    before = w3.eth.get_transaction_count(account.address, "pending")
    patient = TxSender(w3, chain_id=chain_id, decoder=ledger.sender.decoder, poll_seconds=0.2,
                       pool_wait=3.0)  # fmt: skip
    try:
        with pytest.raises(RetryableChainError) as full:
            patient.submit(account, account.address, b"", gas=21_000)
        assert "stayed full" in str(full.value) and "nothing was sent" in str(full.value)
        assert w3.eth.get_transaction_count(account.address, "pending") == before
    finally:
        # the missing nonce, paying more (it pushes a queued one out), lets the rest be mined
        w3.eth.send_raw_transaction(raw(first, b"", gwei=200))
        wait_until(lambda: w3.eth.get_transaction_count(blocker.address) > first,
                   what="the missing nonce to be mined")  # fmt: skip
        for tx in queued:  # the one pushed out, again
            with contextlib.suppress(Web3RPCError):  # already known, or mined
                w3.eth.send_raw_transaction(tx)
        wait_until(lambda: w3.eth.get_transaction_count(blocker.address) == first + 1 + len(queued),
                   what="the queued transactions to be mined")  # fmt: skip
    # and once there is room, the same sender's write goes through
    sent = patient.submit(account, account.address, b"", gas=21_000)
    assert patient.wait(sent.tx_hash).block_number > 0
