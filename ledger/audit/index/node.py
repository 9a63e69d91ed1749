"""The indexer's reads of the node: raw JSON-RPC in batches (web3 formats nothing, so it costs no
time), counted per sync: the newest block, block hashes and headers, the logs of our contracts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from web3 import Web3

from ledger.chain.connection import rpc_batch
from ledger.errors import ChainError, RetryableIndexerError

#: The most requests one JSON-RPC batch carries.
BATCH_SIZE = 500


class ChainMoved(Exception):
    """The chain changed under a range being read (a header's hash is not its logs' block hash,
    or the chain got shorter since its head was read)."""


class RpcError(Exception):
    def __init__(self, method: str, error: Any) -> None:
        message = error.get("message") if isinstance(error, dict) else error
        super().__init__(f"{method}: {message}")


class NodeReader:
    """The JSON-RPC reads of the node behind `w3`; ``requests`` counts the batches sent."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.requests = 0

    def call(self, method: str, params: list[Any]) -> Any:
        [answer] = self.batch([(method, params)])
        return answer

    def batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        """The results of `requests` in order; RpcError for the first the node refused."""
        out: list[Any] = []
        for first in range(0, len(requests), BATCH_SIZE):
            part = requests[first : first + BATCH_SIZE]
            self.requests += 1
            for (method, _), answer in zip(part, rpc_batch(self.w3, part), strict=True):
                if "error" in answer:
                    raise RpcError(method, answer["error"])
                out.append(answer["result"])
        return out

    def head(self) -> int:
        """The chain's newest block; retryable when the node does not say."""
        try:
            return int(self.call("eth_blockNumber", []), 16)
        except RpcError as exc:
            raise RetryableIndexerError(f"the node did not give its newest block: {exc}") from None

    def hashes(self, numbers: Iterable[int]) -> list[str | None]:
        """The chain's hash of each block number (None beyond the chain's head)."""
        answers = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return [a["hash"] if a else None for a in answers]

    def headers(self, numbers: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The header of each block number; ChainMoved when one is beyond the chain's head."""
        answers = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        headers: dict[int, dict[str, Any]] = {}
        for n, header in zip(numbers, answers, strict=True):
            if header is None:
                raise ChainMoved  # the chain got shorter since its head was read
            headers[n] = header
        return headers

    def logs(self, start: int, end: int, addresses: list[str]) -> tuple[list[dict[str, Any]], int]:
        """The logs of `addresses` in start..end, and the last block they cover: a node that
        refuses the range (too many results) is asked for half as many blocks, down to one."""
        while True:
            try:
                query = {"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}
                return list(self.call("eth_getLogs", [query])), end
            except RpcError as exc:
                if end == start:
                    raise ChainError(f"the node refused the logs of block {start}: {exc}") from None
                end = start + (end - start) // 2
