"""The node's JSON-RPC answers as the transaction path reads them: raw (web3 formats nothing, so a
poll for receipts costs no time), a refusal decoded alike across ganache, anvil, geth and Besu."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web3 import Web3

from ledger.chain.connection import UNANSWERED, rpc_batch
from ledger.chain.revert import RevertDecoder
from ledger.errors import ChainError, RetryableChainError

#: The requests that run a call: their refusal is the contract's, decoded into its typed error.
_SIMULATIONS = ("eth_estimateGas", "eth_call")


class NodeRpc:
    """Raw requests to one chain connection, its node's errors raised as ``ChainError``s."""

    def __init__(self, w3: Web3, decoder: RevertDecoder) -> None:
        self.w3 = w3
        self.decoder = decoder

    def request(self, method: str, params: list[Any], *, context: str = "") -> Any:
        """A raw JSON-RPC request; node errors are decoded uniformly across ganache, anvil, Besu."""
        try:
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        except UNANSWERED as exc:
            raise RetryableChainError(
                f"the chain node did not answer {method}: {exc.__class__.__name__}; "
                "check that it is running (`vpl chain status`)"
            ) from None
        error = response.get("error")
        if error is None:
            return response.get("result")
        raise self._refusal(method, error, context)

    def _refusal(self, method: str, error: Any, context: str) -> ChainError:
        """A node's error as the error to raise: a simulation's revert decoded into its typed
        contract error, anything else ``ChainError`` with the node's message."""
        data = _revert_data(error)
        if data is not None and method in _SIMULATIONS:
            return self.decoder.decode(data, context=context)
        message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
        if method in _SIMULATIONS and "revert" in message.lower():
            return self.decoder.decode(None, context=context)
        return ChainError(f"{method} failed: {message}", rpc_error=error)

    def batch(self, requests: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Many requests in one round trip (``ledger.chain.connection.rpc_batch``)."""
        return rpc_batch(self.w3, requests)

    def ask(self, requests: list[tuple[str, list[Any]]], *, context: str = "") -> list[Any]:
        """Many requests in one round trip: each one's result, or the error ``request`` would
        raise for it, returned (not raised) so the caller decides which matters first."""
        return [
            answer["result"]
            if "error" not in answer
            else self._refusal(m, answer["error"], context)
            for (m, _), answer in zip(requests, self.batch(requests), strict=True)
        ]

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber", []), 16)

    def known(self, tx_hash: str) -> bool:
        """Whether the node holds `tx_hash` (pending or mined); unknown when it cannot answer."""
        try:
            return self.request("eth_getTransactionByHash", [tx_hash]) is not None
        except RetryableChainError:
            return False

    def nonces(self, signer: str) -> tuple[int, int]:
        """The signer's next nonce after its mined transactions, and after those the node holds
        in sequence."""
        mined, pending = (
            int(self.request("eth_getTransactionCount", [signer, tag]), 16)
            for tag in ("latest", "pending")
        )
        return mined, pending


def _revert_data(error: Any) -> str | None:
    """The revert data in a node's error object (anvil/Besu: ``data``; ganache: ``data.result``)."""
    if not isinstance(error, Mapping):
        return None
    data = error.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    if isinstance(data, Mapping):
        for key in ("result", "data"):
            value = data.get(key)
            if isinstance(value, str) and value.startswith("0x"):
                return value
    return None
