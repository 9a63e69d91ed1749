"""The connection to a chain node over JSON-RPC, checked against the configured chain id."""

from __future__ import annotations

import requests
from web3 import HTTPProvider, Web3

from ledger.config import NetworkConfig
from ledger.errors import ChainError, RetryableChainError


def connect(network: NetworkConfig, *, timeout: float = 30.0) -> Web3:
    """A Web3 connected to the network's RPC URL, refusing a node with another chain id."""
    w3 = Web3(HTTPProvider(network.rpc_url, request_kwargs={"timeout": timeout}))
    try:
        chain_id = w3.eth.chain_id
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError):
        hint = (
            "start it with `vpl chain up`"
            if network.development
            else "check the node and VPL_RPC_URL"
        )
        raise RetryableChainError(f"no chain node answers at {network.rpc_url}; {hint}") from None
    if chain_id != network.chain_id:
        raise ChainError(
            f"the node at {network.rpc_url} runs chain id {chain_id}, but network "
            f"{network.name!r} expects {network.chain_id}; point VPL_RPC_URL at the right node"
        )
    return w3
