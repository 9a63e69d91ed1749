"""Transactions the other validators hold are mined by them after the validator they were sent
to stops, also once the base fee has risen above zero.

Found on the network: a block more than half full (a batch approval) raises the base fee from 0
to 1 wei, and it never falls back. geth's validators take others' transactions only with a tip
of at least their `--miner.gasprice`, and geth turns 0 into 1 gwei: transactions priced at 1 gwei
then tipped 1 wei too little, so only the node they were sent to (to which they are its own)
would seal them; with it stopped, twenty relayed gifts waited two minutes in the others' pools.
Now validators take a 1 wei tip and the client pays the network file's `gas_price_wei`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.chain.validators import ValidatorNetwork
from ledger.ledger import Ledger
from tests.network.conftest import own_network, rpc
from tests.network.test_validators import wait_until

#: Init code that burns its gas in a loop (JUMPDEST; while GAS > 10,000 jump back; STOP).
BURNER = bytes.fromhex("5b6127105a1160005700")
BURN_GAS = 60_000_000
IN_FLIGHT = 10


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ValidatorNetwork, Ledger]]:
    with own_network(tmp_path_factory.mktemp("basefee"), "base-fee", 3) as pair:
        yield pair


def test_a_stopped_validators_transactions_are_mined_by_the_others_above_a_zero_base_fee(
    network: tuple[ValidatorNetwork, Ledger],
) -> None:
    validators, ledger = network
    w3, chain_id = ledger.w3, ledger.network.chain_id
    first, *others = validators.validators()
    assert ledger.network.rpc_url == first.rpc_url
    # the price the client pays, taken while the base fee is still 0 (as a batch's transactions
    # were priced just before their own approvals filled a block)
    assert (w3.eth.get_block("latest").get("baseFeePerGas") or 0) == 0
    price = ledger.network.gas_price_wei or w3.eth.gas_price
    relayer = ledger.operator("relayer")
    nonce = w3.eth.get_transaction_count(relayer.address)
    raw = [
        relayer.sign_transaction({"chainId": chain_id, "nonce": nonce + k, "to": relayer.address,
                                  "value": 0, "gas": 21_000, "gasPrice": price}).raw_transaction
        for k in range(IN_FLIGHT)
    ]  # fmt: skip

    burner = ledger.operator("issuer-green")
    signed = burner.sign_transaction({"chainId": chain_id, "nonce": 0, "data": BURNER, "value": 0,
                                      "gas": BURN_GAS, "gasPrice": price})  # fmt: skip
    burnt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert burnt["gasUsed"] > w3.eth.get_block(burnt["blockNumber"])["gasLimit"] // 2
    wait_until(lambda: (w3.eth.get_block("latest").get("baseFeePerGas") or 0) >= 1,
               what="the base fee to rise")  # fmt: skip

    hashes = [w3.eth.send_raw_transaction(tx).to_0x_hex() for tx in raw]
    # the other validators hold them as others' transactions
    wait_until(lambda: all(rpc(node.rpc_url, "eth_getTransactionByHash", [h]) is not None
                           for node in others for h in hashes),
               what="the others to hold the transactions")  # fmt: skip
    validators.stop_node(first.number)
    try:
        wait_until(lambda: all(rpc(others[0].rpc_url, "eth_getTransactionReceipt", [h])
                               for h in hashes),
                   timeout=30, what="the others to seal the stopped validator's transactions")  # fmt: skip
    finally:
        validators.start_node(first.number)
    assert rpc(others[0].rpc_url, "eth_getTransactionCount", [relayer.address, "latest"]) == hex(
        nonce + IN_FLIGHT
    )
