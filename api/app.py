"""The HTTP API: ``create_app(settings)``.

Versioned under ``/v1``, documented at ``/docs`` (OpenAPI at ``/openapi.json``). Thin over
``ledger/``: routers parse, call ledger/, shape the answer; the contracts and ledger/ hold the
rules. Nothing is built at import time: the ``Ledger`` and its services are made at startup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from api import errors as api_errors
from api.deps import LedgerDep
from api.middleware import RequestContext
from api.observability import Metrics, Probe, not_ready, use_json_logs
from api.routers.audit import admin, anchors, anomalies, clearing, events, supply, trace
from api.routers.earning import activities, batches, certificates, records, review
from api.routers.governance import council, schemes
from api.routers.identity import auth, members, wallets
from api.routers.spending import balances, catalogue, exchange, gifts, merchants, timebank
from api.services import Services
from ledger.audit.index.follow import FOLLOWER_LEASE, Indexer, SyncReport
from ledger.chain.relay import Relay
from ledger.config import Settings
from ledger.earning.uploads import Uploads
from ledger.errors import ConfigError, RecordNotFound
from ledger.identity.auth import Auth
from ledger.identity.wallets import Wallets
from ledger.ledger import Ledger
from ledger.store.lease import Lease, release_shared, shared_lease

VERSION = "0.2.0"
log = logging.getLogger("api")
#: Every router, in the order of the OpenAPI document: members' and the public's first, then the
#: issuers' console (/v1/issuer), the admin log and the auditors' queries (/v1/audit).
ROUTERS = (
    auth.router,
    wallets.router,
    schemes.router,
    balances.router,
    catalogue.router,
    exchange.router,
    timebank.router,
    gifts.router,
    records.router,
    certificates.router,
    activities.router,
    review.router,
    batches.router,
    merchants.router,
    members.router,
    council.router,
    admin.router,
    supply.router,
    clearing.router,
    events.router,
    trace.router,
    anomalies.router,
    anchors.router,
)
#: The auditors' explorer page (served at /explorer/).
EXPLORER_DIR = Path(__file__).resolve().parent / "explorer"


class Health(BaseModel):
    status: str
    chain_id: int
    block: int
    network: str


class Readiness(BaseModel):
    status: str = Field(description="ready, or not_ready (answered with 503)")
    reasons: list[str] = Field(description="why not ready; empty when ready")
    head: int | None
    head_age_seconds: float | None
    indexed_block: int | None
    index_lag: int | None


class Follower:
    """Keeps the event index up with the chain from a thread of the API process, in one process
    at a time: the one holding the store's ``index-follower`` lease (the others try again every
    LEASE_POLL_SECONDS, and one takes over within that when the holder dies). An error is logged
    and the thread tries again, it never ends quietly."""

    def __init__(self, services: Services, poll_seconds: float) -> None:
        self.services = services
        self.indexer = services.indexer
        self.poll_seconds = poll_seconds
        self.lease = Lease(services.ledger.engine, FOLLOWER_LEASE)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="index-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        while not self._stopped.is_set():
            try:
                self.indexer.run(
                    self.poll_seconds, on_sync=self._synced, lease=self.lease, on_lead=self._led
                )
            except Exception:
                log.exception("the index follower failed; trying again in 5 s")
                self._led(False)
                self._stopped.wait(5.0)
        self.lease.release()

    def _led(self, leading: bool) -> None:
        """This process started, or stopped, following the chain into the index."""
        self.services.following = leading
        if leading:
            log.info("this process follows the chain into the event index")
        else:
            self.services.indexed_block = None

    def _synced(self, report: SyncReport) -> None:
        """The index moved on (or a reorg moved it back): cached history pages of another
        block are not served any more."""
        if report.reorg is not None:  # the same height may now hold other blocks
            self.services.forget_pages()
        self.services.indexed_block = report.to_block

    def stop(self) -> None:
        self._stopped.set()
        self.services.following = False
        self.services.indexed_block = None
        self.indexer.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        else:
            self.lease.release()


class Keeper:
    """Checks every few seconds that this process still holds its relayer's lease (``Services.
    keep_relayer``)."""

    SECONDS = 2.0

    def __init__(self, services: Services) -> None:
        self.services = services
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="relayer-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _keep(self) -> None:
        while not self._stopped.wait(self.SECONDS):
            try:
                self.services.keep_relayer()
            except Exception:  # a database that does not answer yet: the next round asks again
                log.warning("could not check the relayer's lease; trying again", exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


def build_services(settings: Settings) -> Services:
    """The services of one app, connected and checked (the manifest against the chain)."""
    ledger = Ledger(settings)
    assert ledger.sender and ledger.manifest  # built once, before requests run in threads
    ledger.engine  # noqa: B018  (tables created before the first request)
    relay, lease = _relay(ledger, settings)
    uploads = Uploads(ledger)
    uploads.mark_interrupted()  # jobs that were running when the last process stopped
    return Services(
        ledger=ledger,
        auth=Auth(ledger),
        wallets=Wallets(ledger),
        relay=relay,
        relayer_lease=lease,
        uploads=uploads,
        indexer=Indexer(ledger),
    )


def _relay(ledger: Ledger, settings: Settings) -> tuple[Relay, Lease]:
    """The relay of the first relayer of ``settings.relayer`` that no other process on the store
    holds (each process's nonces are its own), with its lease."""
    names = [name.strip() for name in settings.relayer.split(",") if name.strip()]
    for name in names:
        relay = Relay(
            ledger, batch_most=settings.relay_batch_most, lanes=settings.relay_lanes, relayer=name
        )
        lease = shared_lease(ledger.engine, f"relayer {relay.relayer.address}")
        if lease is not None:
            return relay, lease
    raise ConfigError(
        f"every relayer of VPL_RELAYER ({', '.join(names)}) is in use by another API process on "
        "this store: give each process a relayer of its own (list as many as processes run, "
        "e.g. VPL_RELAYER=relayer,relayer-2,relayer-3), or their transactions would take the "
        "same nonces"
    )


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory api.app:app_from_env``: settings from VPL_* variables."""
    return create_app(Settings())


def create_app(settings: Settings) -> FastAPI:
    """The application for one network."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each write waits in a worker thread until its transaction is confirmed (seconds on a
        # validator network): with anyio's 40 threads, 40 waiting writes held every request
        # back, and relayed batches could never carry more than 40 (measured with 100 clients).
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        plain_logs = use_json_logs() if settings.log_format == "json" else None
        services = build_services(settings)
        probe = Probe(services)
        services.metrics = Metrics(probe) if settings.api_metrics else None
        app.state.services = services
        app.state.probe = probe
        follower = Follower(services, settings.api_follow_poll_seconds)
        if settings.api_follow_chain:
            follower.start()
        keeper = Keeper(services)
        keeper.start()
        app.state.keeper = keeper
        try:
            yield
        finally:
            keeper.stop()
            follower.stop()
            if services.relayer_lease is not None:
                release_shared(services.relayer_lease)
            services.ledger.close()
            if plain_logs is not None:
                plain_logs()

    app = FastAPI(
        title="志愿积分链 Volunteer Points Ledger",
        version=VERSION,
        lifespan=lifespan,
        description=(
            "Volunteers' wallet, issuers' console and auditors' queries. Sign in with "
            "`/v1/auth/challenge` + `/v1/auth/sign-in` (EIP-4361) or `/v1/auth/pin-sign-in` "
            "(custodial wallets). Writes are relayed: sign the EIP-712 request returned with "
            "428 `signature_required`, or send a custodial wallet's `X-Wallet-PIN`. Every write "
            "accepts an `Idempotency-Key`. Errors: `{error: {code, message, message_zh, "
            "details, request_id}}`."
        ),
    )
    api_errors.install(app)
    app.add_middleware(
        RequestContext,
        per_ip=-(-settings.rate_limit_per_ip // settings.api_processes),
        per_account=-(-settings.rate_limit_per_account // settings.api_processes),
        log_requests=settings.log_format == "json",
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Wallet-PIN"],
            expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed", "Relay-Replayed"],
        )

    @app.get("/health", response_model=Health, tags=["health"])
    def health(ledger: LedgerDep) -> Health:
        manifest = ledger.manifest
        return Health(
            status="ok",
            chain_id=manifest.chain_id,
            block=ledger.w3.eth.block_number,
            network=manifest.network,
        )

    @app.get(
        "/ready",
        response_model=Readiness,
        tags=["health"],
        responses={503: {"model": Readiness, "description": "not fit to serve: the reasons"}},
    )
    def ready(request: Request) -> JSONResponse:
        """Whether to send this process requests: the node and the database answer, the event
        index is close behind the chain (and, where set, the chain is sealing). ``/health`` is
        the liveness check."""
        status = request.app.state.probe.status()
        reasons = not_ready(
            status,
            max_index_lag=settings.ready_max_index_lag,
            max_block_age=settings.ready_max_block_age_seconds,
        )
        body = Readiness(
            status="not_ready" if reasons else "ready",
            reasons=reasons,
            head=status.head,
            head_age_seconds=None if status.head_age is None else round(status.head_age, 1),
            indexed_block=status.indexed_block,
            index_lag=status.index_lag,
        )
        headers = {"Retry-After": "5"} if reasons else None
        return JSONResponse(body.model_dump(), status_code=503 if reasons else 200, headers=headers)

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics(request: Request) -> Response:
        """This process's metrics in the Prometheus text format (for the monitoring network:
        keep it from the public at the proxy)."""
        counted = request.app.state.services.metrics
        if counted is None:
            raise RecordNotFound("metrics are off in this process (VPL_API_METRICS=false)")
        return Response(generate_latest(counted.registry), media_type=CONTENT_TYPE_LATEST)

    for router in ROUTERS:
        app.include_router(router)
    # The auditors' explorer: static files over the /v1/audit API (no build step, no CDN).
    app.mount("/explorer", StaticFiles(directory=EXPLORER_DIR, html=True), name="explorer")
    return app
