"""What an operator watches: Prometheus metrics (``/metrics``), readiness (``/ready``) and one JSON
line a request (``VPL_LOG_FORMAT=json``).

Counted as requests run (in this process): requests by route template and status, their latency,
relayed writes by outcome. Read when scraped (at most once a second, shared with ``/ready``): the
chain's newest block and its age, the node's peers, the event index's block and its lag behind
the head, relayed transactions waiting and on their way, the relayer's balance, the database
pool. Each API process has its own counters: scrape every process (the production guide's
scrape configuration lists them), the totals are sums.

Nothing personal is ever a label or a logged field: routes are templates
(``/v1/members/{address}/orders``), the account is an address."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

if TYPE_CHECKING:
    from api.services import Services

#: Seconds: a request's latency falls in one of these.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: How long a reading of the node, the index and the database serves scrapes and /ready.
STATUS_SECONDS = 1.0
access_log = logging.getLogger("api.access")


@dataclass(frozen=True)
class Status:
    """The node, the index and the database as last read (None: could not be read)."""

    read_at: float
    head: int | None
    head_age: float | None
    peers: int | None
    indexed_block: int | None
    database: str | None  # None when it answered, else why not
    node: str | None  # likewise

    @property
    def index_lag(self) -> int | None:
        if self.head is None or self.indexed_block is None:
            return None
        return max(self.head - self.indexed_block, 0)


@dataclass
class Probe:
    """Reads the status at most every STATUS_SECONDS, for scrapes and /ready alike."""

    services: Services
    _last: Status | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self) -> Status:
        with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.read_at < STATUS_SECONDS:
                return last
            self._last = self._read()
            return self._last

    def _read(self) -> Status:
        ledger = self.services.ledger
        head = head_age = peers = None
        node = database = None
        try:
            block = ledger.w3.eth.get_block("latest")
            head = int(block["number"])
            head_age = max(time.time() - int(block["timestamp"]), 0.0)
        except Exception as exc:  # the node is the thing being checked: any failure is an answer
            node = f"the node does not answer: {type(exc).__name__}"
        if node is None:
            try:
                peers = int(ledger.w3.net.peer_count)
            except Exception:  # a development node without the net namespace
                peers = None
        indexed = None
        try:
            with ledger.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                indexed = connection.execute(
                    text("SELECT indexed_block FROM index_state WHERE id = 1")
                ).scalar()
        except Exception as exc:
            database = f"the database does not answer: {type(exc).__name__}"
        return Status(
            read_at=time.monotonic(),
            head=head,
            head_age=head_age,
            peers=peers,
            indexed_block=None if indexed is None else int(indexed),
            database=database,
            node=node,
        )


def not_ready(status: Status, *, max_index_lag: int, max_block_age: float | None) -> list[str]:
    """Why this process should not be sent requests now (empty: ready)."""
    reasons = [r for r in (status.node, status.database) if r is not None]
    if (
        status.head_age is not None
        and max_block_age is not None
        and status.head_age > max_block_age
    ):
        reasons.append(
            f"the newest block is {status.head_age:.0f} s old (more than {max_block_age:.0f} s): "
            "the validators are not sealing"
        )
    if status.node is None and status.database is None:
        if status.indexed_block is None:
            reasons.append("the event index has not synced yet")
        elif status.index_lag is not None and status.index_lag > max_index_lag:
            reasons.append(
                f"the event index is {status.index_lag} blocks behind the chain (more than "
                f"{max_index_lag})"
            )
    return reasons


class Metrics:
    """This process's metrics, in a registry of its own (several apps in one process, as the
    tests make, never share counters)."""

    def __init__(self, probe: Probe) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vpl_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vpl_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.writes = Counter(
            "vpl_relayed_writes",
            "Writes by outcome: done, replayed (ran before), refused, signature_required, failed.",
            ["outcome"],
            registry=self.registry,
        )
        self.registry.register(_Readings(probe))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def wrote(self, outcome: str) -> None:
        self.writes.labels(outcome).inc()


class _Readings(Collector):
    """The gauges read when scraped."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def describe(self) -> list[Metric]:
        return []  # read at collection only (prometheus_client then skips describing them)

    def collect(self) -> Iterator[Metric]:
        services = self.probe.services
        status = self.probe.status()
        yield _gauge("vpl_chain_head_block", "The chain's newest block.", status.head)
        yield _gauge(
            "vpl_chain_head_age_seconds", "Age of the chain's newest block.", status.head_age
        )
        yield _gauge("vpl_node_peers", "Peers of the node this process uses.", status.peers)
        yield _gauge(
            "vpl_index_block", "Block the event index holds the chain to.", status.indexed_block
        )
        yield _gauge(
            "vpl_index_lag_blocks", "Blocks the event index is behind the head.", status.index_lag
        )
        yield _gauge("vpl_node_up", "1 if the node answered.", int(status.node is None))
        yield _gauge("vpl_database_up", "1 if the database answered.", int(status.database is None))
        batcher = services.relay.batcher
        yield _gauge(
            "vpl_transactions_pending",
            "Relayed requests waiting for a transaction, and transactions on their way.",
            batcher.waiting() + batcher.in_flight(),
        )
        yield _gauge(
            "vpl_index_follower",
            "1 if this process follows the chain into the event index.",
            int(services.following),
        )
        balance = services.relayer_balance()
        yield _gauge(
            "vpl_relayer_balance_wei", "The relayer's balance (fees paid from it).", balance
        )
        pool = services.ledger.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        yield _gauge(
            "vpl_db_pool_checked_out",
            "Database connections in use.",
            checked_out() if callable(checked_out) else None,
        )
        yield _gauge(
            "vpl_db_pool_size",
            "Database connections the pool keeps.",
            size() if callable(size) else None,
        )


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], float(value))
    return family


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and a request's fields."""

    FIELDS = ("request_id", "method", "route", "status", "latency_ms", "account")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__  # the type only: no values, no stack
        return json.dumps(line, ensure_ascii=False)


def use_json_logs() -> Callable[[], None]:
    """Every log line of the API process as JSON on stderr, request lines included (uvicorn's own
    lines too; its access line is replaced by ours). Returns how to undo it, at shutdown."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    uvicorn = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error")]
    kept = [(lg, lg.handlers, lg.propagate) for lg in uvicorn]
    for lg in uvicorn:
        lg.handlers = []
        lg.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    access_log.setLevel(logging.INFO)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(level)
        for lg, handlers, propagate in kept:
            lg.handlers, lg.propagate = handlers, propagate
        access.disabled = False

    return undo
