"""ledger.chain.tx when the node fails: an unreachable node gives a retryable error that says
what to check, and transactions lost with a node (a gap below the one awaited, a nonce a failed
send left unused) are sent again or filled, on an anvil node of the test's own."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint

import ledger.chain.tx.receipts as tx_module
from ledger.chain.accounts import from_mnemonic
from ledger.chain.connection import AnsweringHTTPProvider, FailoverHTTPProvider, rpc_batch
from ledger.chain.node import LocalNode
from ledger.chain.node.host import free_port
from ledger.chain.revert import RevertDecoder
from ledger.chain.tx import TxSender
from ledger.config import DEV_MNEMONIC
from ledger.errors import ChainError, RetryableChainError
from ledger.ledger import Ledger
from tests.chain_helpers import FUNDER_INDEX, RECIPIENT, make_settings

# --- an unreachable node -------------------------------------------------------------------------


def test_an_unreachable_node_gives_a_retryable_error_that_says_what_to_check(
    ledger: Ledger,
) -> None:
    closed = Web3(HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 2}))
    sender = TxSender(closed, chain_id=ledger.network.chain_id, decoder=ledger.decoder)
    data = ledger.points.contract.encode_abi(
        "issue", args=[Account.create().address, 1, 1, secrets.token_bytes(32)]
    )

    with pytest.raises(RetryableChainError) as info:
        sender.send(Account.create(), ledger.points.address, data, context="issue")

    assert str(info.value) == (
        "the chain node did not answer eth_estimateGas: ConnectionError; "
        "check that it is running (`vpl chain status`)"
    )
    assert info.value.code == "chain_unavailable"
    assert isinstance(info.value, ChainError)
    assert info.value.__cause__ is None and info.value.__suppress_context__


# --- transactions lost with a node ---------------------------------------------------------------


@dataclass
class OwnNode:
    """An anvil node of the test's own (its mining mode is changed) and a sender on it."""

    w3: Web3
    sender: TxSender
    payer: LocalAccount

    def mining(self, *, automine: bool | None = None, interval: int | None = None) -> None:
        if automine is not None:
            self.w3.provider.make_request("evm_setAutomine", [automine])  # type: ignore[arg-type]
        if interval is not None:
            self.w3.provider.make_request("evm_setIntervalMining", [interval])  # type: ignore[arg-type]


@pytest.fixture
def own_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnNode]:
    node = LocalNode(make_settings(tmp_path, "anvil"))
    status = node.start()
    try:
        w3 = Web3(HTTPProvider(status.rpc_url))
        sender = TxSender(
            w3, chain_id=w3.eth.chain_id, decoder=RevertDecoder([], {}), receipt_timeout=20
        )
        monkeypatch.setattr(tx_module, "LOST_AFTER", 0.3)
        yield OwnNode(w3, sender, from_mnemonic(DEV_MNEMONIC, FUNDER_INDEX))
    finally:
        node.stop()


def test_a_lost_transaction_below_the_one_awaited_is_sent_again_and_both_are_mined(
    own_node: OwnNode,
) -> None:
    """A validator that goes down takes the transactions only it held: the one awaited may be
    queued on the next node behind a lower nonce lost with it, whose own waiter is gone (seen on
    the validator network: a relayed write that was never mined). The wait sends the lost one
    again, as the same signed bytes."""
    w3, sender, payer = own_node.w3, own_node.sender, own_node.payer
    own_node.mining(automine=False)
    lost, awaited = (sender.submit(payer, RECIPIENT, b"", gas=21_000) for _ in range(2))
    w3.provider.make_request("anvil_dropTransaction", [lost.tx_hash])  # type: ignore[arg-type]
    assert w3.eth.get_transaction_count(payer.address, "pending") == 0, "a gap below it"
    own_node.mining(interval=1)

    result = sender.wait(awaited.tx_hash)

    assert result.receipt["status"] == 1
    assert w3.eth.get_transaction_receipt(HexBytes(lost.tx_hash))["status"] == 1
    assert w3.eth.get_transaction_count(payer.address) == 2


def test_a_nonce_a_failed_send_left_unused_is_filled_so_the_later_ones_are_mined(
    own_node: OwnNode,
) -> None:
    """A send that fails as its node goes down leaves its nonce unused; the transactions after
    it wait in the pool for ever (the issue's 'nonce gaps after a failover'). The wait fills the
    gap with an empty transfer of the signer to itself, and nothing else is sent again."""
    w3, sender, payer = own_node.w3, own_node.sender, own_node.payer
    first = sender.submit(payer, RECIPIENT, b"", gas=21_000)
    sender._tracker(payer.address).next = 2  # nonce 1: as if its send had failed
    own_node.mining(automine=False)
    awaited = sender.submit(payer, RECIPIENT, b"", gas=21_000)
    own_node.mining(interval=1)

    result = sender.wait(awaited.tx_hash)

    assert result.receipt["status"] == 1
    assert w3.eth.get_transaction_receipt(HexBytes(first.tx_hash))["status"] == 1
    assert w3.eth.get_transaction_count(payer.address) == 3
    filler = next(
        tx
        for n in range(result.block_number + 1)
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]
        if tx["nonce"] == 1 and tx["from"] == payer.address  # type: ignore[index]
    )
    assert (filler["to"], filler["value"]) == (payer.address, 0)  # type: ignore[index]


class _Silent(BaseHTTPRequestHandler):
    """A node shutting down: it takes the request and answers 200 with no body."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def silent_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_node_answering_with_nothing_is_failed_over_like_one_that_does_not_answer(
    ledger: Ledger, silent_node: str
) -> None:
    """Seen when a validator stopped: its answer came back empty. That is no answer: the next
    node is asked, and with none left the error says the chain is unavailable."""
    both = FailoverHTTPProvider([silent_node, ledger.network.rpc_url])
    assert int(both.make_request(RPCEndpoint("eth_chainId"), [])["result"], 16) == (
        ledger.network.chain_id
    )
    assert both.endpoint_uri == ledger.network.rpc_url
    alone = AnsweringHTTPProvider(silent_node)
    with pytest.raises(RetryableChainError, match="did not answer eth_chainId"):
        alone.make_request(RPCEndpoint("eth_chainId"), [])
    assert rpc_batch(
        Web3(FailoverHTTPProvider([silent_node, ledger.network.rpc_url])), [("eth_chainId", [])]
    )[0]["result"] == hex(ledger.network.chain_id)
