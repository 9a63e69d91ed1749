"""Asking a JSON-RPC endpoint what answers there, over plain HTTP (no web3, no proxy: the node is
usually local): whether it answers at all, its chain id, block number and client name."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from ledger.chain.node.host import POLL_SECONDS
from ledger.errors import NodeError

#: Seconds one probing request may take.
PROBE_TIMEOUT_SECONDS = 1.0


class RpcUnavailable(Exception):
    """Nothing answered the JSON-RPC request with a result."""


def json_rpc(url: str, method: str, params: list[Any], timeout: float) -> Any:
    """One JSON-RPC call over plain HTTP, bypassing any proxy (the node is usually local)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise RpcUnavailable(f"{exc.__class__.__name__}: {exc}") from None
    if not isinstance(reply, dict) or "result" not in reply:
        raise RpcUnavailable(f"{method} got no result: {str(reply)[:200]}")
    return reply["result"]


def wait_for_rpc(url: str, timeout: float, *, alive: Callable[[], bool] | None = None) -> int:
    """Poll ``eth_chainId`` at ``url`` until it answers and return the chain id."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            per_try = max(min(PROBE_TIMEOUT_SECONDS, remaining), 0.1)
            return int(json_rpc(url, "eth_chainId", [], per_try), 16)
        except RpcUnavailable as exc:
            problem = str(exc)
        except (ValueError, TypeError):
            problem = "eth_chainId did not return a hex number"
        if alive is not None and not alive():
            raise NodeError(f"the node process exited before {url} answered", rpc_url=url)
        if time.monotonic() >= deadline:
            raise NodeError(
                f"no JSON-RPC answer from {url} within {timeout:g} s (last: {problem})", rpc_url=url
            )
        time.sleep(POLL_SECONDS)


def probe(url: str) -> tuple[int, int, str | None] | None:
    """Chain id, block number and client name of the node at ``url``, or None if none answers."""
    try:
        chain_id = int(json_rpc(url, "eth_chainId", [], PROBE_TIMEOUT_SECONDS), 16)
        block_number = int(json_rpc(url, "eth_blockNumber", [], PROBE_TIMEOUT_SECONDS), 16)
    except (RpcUnavailable, ValueError, TypeError):
        return None
    return chain_id, block_number, client_name(url)


def client_name(url: str) -> str | None:
    """``ganache``, ``anvil``, ``besu``... from ``web3_clientVersion``, if the node says."""
    try:
        version = json_rpc(url, "web3_clientVersion", [], PROBE_TIMEOUT_SECONDS)
    except RpcUnavailable:
        return None
    return str(version).split("/", 1)[0].lower() or None


def describe_listener(url: str) -> str:
    """A phrase naming what answers at ``url``: a node and its chain id, or something else."""
    try:
        chain_id = int(json_rpc(url, "eth_chainId", [], PROBE_TIMEOUT_SECONDS), 16)
    except (RpcUnavailable, ValueError, TypeError):
        return "a program that does not answer JSON-RPC"
    client = client_name(url) or "JSON-RPC"
    article = "an" if client[0] in "aeiou" else "a"
    return f"{article} {client} node with chain id {chain_id}"
