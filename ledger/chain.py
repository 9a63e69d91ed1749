"""The connection to a chain node over JSON-RPC, checked against the configured chain id."""

from __future__ import annotations

import threading
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from ledger.config import NetworkConfig
from ledger.errors import ChainError, RetryableChainError


class SerialHTTPProvider(HTTPProvider):
    """One JSON-RPC request at a time.

    ganache 7 sometimes never answers a request that arrives while it is mining, so concurrent
    senders stall until their timeout (measured: 8 threads registering members ran at 4/s
    instead of 20/s). Serialising the requests of one process avoids it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._serial = threading.Lock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._serial:
            return super().make_request(method, params)


def connect(network: NetworkConfig, *, timeout: float = 30.0) -> Web3:
    """A Web3 connected to the network's RPC URL, refusing a node with another chain id."""
    ganache = network.development and network.node is not None and network.node.kind == "ganache"
    provider_class = SerialHTTPProvider if ganache else HTTPProvider
    w3 = Web3(provider_class(network.rpc_url, request_kwargs={"timeout": timeout}))
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
