"""The connection to a chain node over JSON-RPC, checked against the configured chain id."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from eth_typing import URI
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import RPCEndpoint, RPCResponse

from ledger.chain import abi_cache
from ledger.config import NetworkConfig
from ledger.errors import ChainError, RetryableChainError, WrongChain

log = logging.getLogger(__name__)

#: What a node that does not answer raises in requests (refused, reset, timed out), or answers
#: with nothing to read (seen from a validator as it stopped: a reply with an empty body).
UNANSWERED = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
    json.JSONDecodeError,
)
#: Seconds to open a connection to the node: a node that is down refuses at once, an unreachable
#: host should not hold a command for the whole read timeout.
CONNECT_TIMEOUT = 5.0


class AnsweringHTTPProvider(HTTPProvider):
    """Every request through web3 (contract reads, logs, blocks, not only TxSender's) raises
    RetryableChainError when the node does not answer, instead of a bare ConnectionError. Its
    requests go through one ``node_session`` (unless given another)."""

    def __init__(self, endpoint_uri: str, **kwargs: Any) -> None:
        kwargs.setdefault("session", node_session(endpoint_uri))
        super().__init__(endpoint_uri, **kwargs)
        self.session: requests.Session = kwargs["session"]

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except UNANSWERED as exc:
            raise RetryableChainError(
                f"the chain node at {self.endpoint_uri} did not answer {method} "
                f"({type(exc).__name__}); check that it is running (`vpl chain status`)"
            ) from None


class SerialHTTPProvider(AnsweringHTTPProvider):
    """One JSON-RPC request at a time.

    ganache 7 sometimes never answers a request that arrives while it is sealing a block, so concurrent
    senders stall until their timeout (measured: 8 threads registering members ran at 4/s
    instead of 20/s). Serialising the requests of one process avoids it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._serial = threading.Lock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._serial:
            return super().make_request(method, params)


class FailoverHTTPProvider(AnsweringHTTPProvider):
    """The nodes of one chain, tried in order: a request the current node does not answer (its
    connection refused or timed out) goes to another, the one furthest ahead of those that answer
    (``ahead_first``), which stays current from then on; when none answers, RetryableChainError.

    The transaction path (``ledger.chain.tx``) re-sends the same signed bytes after a dropped
    connection, asking first whether the node already holds them, so failing over never sends a
    second transaction.
    """

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(urls[0], **kwargs)
        self.urls = list(urls)
        self._switch = threading.Lock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        for _ in self.urls:
            url = self.endpoint_uri
            try:
                return HTTPProvider.make_request(self, method, params)
            except UNANSWERED:
                self._fail_over(str(url))
        raise RetryableChainError(
            f"none of the chain's nodes ({', '.join(self.urls)}) answered {method}; check them "
            "(`vpl network status`)"
        )

    def _fail_over(self, failed: str) -> None:
        with self._switch:
            if self.endpoint_uri != failed:
                return  # another thread moved on already
            at = self.urls.index(failed)
            others = self.urls[at + 1 :] + self.urls[:at]
            following = ahead_first(others, self.session)[0] if others else failed
            self.endpoint_uri = URI(following)
            log.warning("the node at %s does not answer; failing over to %s", failed, following)


def ahead_first(urls: list[str], session: requests.Session | None = None) -> list[str]:
    """`urls` from the node with the newest block on (the first of them on a tie), then the rest
    in turn; a node that does not answer counts as furthest behind.

    A validator started again (after a stop or a crash) answers at once, but from the block it
    stopped at until its sync takes the others' blocks, up to some ten seconds later (geth syncs
    with fewer peers than it may have every 10 s): a client starting on it, or failing over to
    it, would read old state, or not find contracts deployed since.
    """
    if len(urls) < 2:
        return list(urls)
    if session is None:
        with requests.Session() as own:
            return ahead_first(urls, own)
    ask = session

    def head(url: str) -> int:
        payload: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_blockNumber",
            "params": [],
        }
        try:
            return int(
                ask.post(url, json=payload, timeout=(CONNECT_TIMEOUT, 5)).json()["result"], 16
            )
        except (*UNANSWERED, requests.exceptions.RequestException, ValueError, KeyError, TypeError):
            return -1

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        heads = list(pool.map(head, urls))
    best = heads.index(max(heads))
    return urls[best:] + urls[:best]


#: Connections kept open to the node per process: one for each thread that may ask at once (the
#: API's worker threads), so a busy process does not open and close a connection per request.
POOL_CONNECTIONS = 64


def node_session(url: str) -> requests.Session:
    """The HTTP session every request to the node goes through, shared by all threads: its
    connections are kept open and reused. The environment is read once here (a proxy for the
    node's URL), not on every request: ``requests`` would otherwise look for a ``.netrc`` file
    and the proxy variables again for each one, measured as a tenth of a busy API's time."""
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(get_environ_proxies(url))
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_CONNECTIONS)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def connect(network: NetworkConfig, *, timeout: float = 30.0) -> Web3:
    """A Web3 connected to the network's RPC URL (failing over to its other URLs), refusing a
    node with another chain id."""
    abi_cache.install()  # web3 checks each ABI once, not on every call
    ganache = network.development and network.node is not None and network.node.kind == "ganache"
    # web3's validation asks the node for its chain id before every call; the chain id of a node
    # never changes, so it (and nothing else) is cached: reads take one round trip, not two.
    options: dict[str, Any] = {
        "request_kwargs": {"timeout": (CONNECT_TIMEOUT, timeout)},
        "cache_allowed_requests": True,
        "cacheable_requests": {RPCEndpoint("eth_chainId"), RPCEndpoint("net_version")},
        "request_cache_validation_threshold": None,
    }
    provider: HTTPProvider
    if network.rpc_urls:
        urls = ahead_first([network.rpc_url, *network.rpc_urls])
        provider = FailoverHTTPProvider(urls, **options)
    elif ganache:
        provider = SerialHTTPProvider(network.rpc_url, **options)
    else:
        provider = AnsweringHTTPProvider(network.rpc_url, **options)
    w3 = Web3(provider)
    if not (network.development and network.node is not None):
        # Proof-of-authority and BFT chains (clique, QBFT) keep the seals in a block's
        # extraData, longer than the 32 bytes web3 otherwise accepts.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        chain_id = w3.eth.chain_id
    except (RetryableChainError, *UNANSWERED):
        urls = [network.rpc_url, *network.rpc_urls]
        where = f"at {urls[0]}" if len(urls) == 1 else f"at any of {', '.join(urls)}"
        if network.validators is not None:
            hint = "start the validators with `vpl network up`"
        elif network.development:
            hint = "start it with `vpl chain up`"
        else:
            hint = "check the nodes and the network file's rpc_url/rpc_urls (or VPL_RPC_URL)"
        raise RetryableChainError(f"no chain node answers {where}; {hint}") from None
    if chain_id != network.chain_id:
        raise WrongChain(
            f"the node at {_endpoint(w3)} runs chain id {chain_id}, but network "
            f"{network.name!r} expects {network.chain_id}: it is another network's node; point "
            "the network file's rpc_url (or VPL_RPC_URL) at a node of this network",
            chain_id=chain_id,
            expected=network.chain_id,
        )
    return w3


def _endpoint(w3: Web3) -> str:
    """The URL the provider talks to now (after any failover)."""
    return str(getattr(w3.provider, "endpoint_uri", "") or "the node")


def rpc_batch(w3: Web3, requests_: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Raw JSON-RPC requests (method, params) in one batch; the answers in order, each the node's
    own ``{"result": ...}`` or ``{"error": ...}`` (web3 formats nothing, so it costs no time).

    One HTTP round trip for many reads: the indexer fetches the headers of every block with logs
    this way, and ``batch_calls`` its reads.
    """
    if not requests_:
        return []
    provider = w3.provider
    if getattr(provider, "endpoint_uri", None) is None:
        raise ChainError("batched requests need an HTTP JSON-RPC endpoint")
    lock = getattr(provider, "_serial", None)
    payload: list[Any] = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        for i, (method, params) in enumerate(requests_)
    ]
    # a FailoverHTTPProvider's other nodes are tried in turn, as for its single requests
    tries = len(provider.urls) if isinstance(provider, FailoverHTTPProvider) else 1
    for attempt in range(1, tries + 1):
        url = str(getattr(provider, "endpoint_uri", ""))
        try:
            with lock if lock is not None else contextlib.nullcontext():
                response = _session_of(provider).post(
                    url, json=payload, timeout=(CONNECT_TIMEOUT, 60)
                )
            answers = response.json()
            break
        except UNANSWERED as exc:
            if attempt < tries and isinstance(provider, FailoverHTTPProvider):
                provider._fail_over(url)
                continue
            raise RetryableChainError(f"batched requests failed: {type(exc).__name__}") from None
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise RetryableChainError(f"batched requests failed: {type(exc).__name__}") from None
    by_id = {a.get("id"): a for a in answers} if isinstance(answers, list) else {}
    return [by_id.get(i) or {"error": {"message": "no answer"}} for i in range(len(requests_))]


def _session_of(provider: Any) -> requests.Session:
    """The provider's own session (``node_session``), or one made for this request."""
    session = getattr(provider, "session", None)
    return session if isinstance(session, requests.Session) else requests.Session()


def batch_calls(w3: Web3, calls: list[tuple[str, bytes]], *, chunk: int = 500) -> list[bytes]:
    """Many read-only calls (`to`, calldata) in JSON-RPC batches of `chunk`, in order.

    One round trip per `chunk` reads instead of one per read: validating a file of 10,000 records
    reads two values per volunteer. A call that reverts raises ChainError naming it.
    """
    out: list[bytes] = []
    for first in range(0, len(calls), chunk):
        part = calls[first : first + chunk]
        answers = rpc_batch(
            w3,
            [("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for to, data in part],
        )
        for (to, _), answer in zip(part, answers, strict=True):
            if "result" not in answer:
                raise ChainError(f"a batched read of {to} failed: {answer}")
            out.append(bytes.fromhex(answer["result"][2:]))
    return out
