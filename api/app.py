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
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from api import errors as api_errors
from api.deps import LedgerDep
from api.middleware import RequestContext
from api.routers.audit import admin, anchors, anomalies, clearing, events, supply, trace
from api.routers.earning import activities, batches, certificates, records, review
from api.routers.governance import council, schemes
from api.routers.identity import auth, members, wallets
from api.routers.spending import balances, catalogue, exchange, gifts, merchants, timebank
from api.services import Services
from ledger.audit.index.follow import Indexer, SyncReport
from ledger.chain.relay import Relay
from ledger.config import Settings
from ledger.earning.uploads import Uploads
from ledger.identity.auth import Auth
from ledger.identity.wallets import Wallets
from ledger.ledger import Ledger

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


class Follower:
    """Keeps the event index up with the chain from a thread of the API process; an error is
    logged and the thread tries again, it never ends quietly."""

    def __init__(self, services: Services, poll_seconds: float) -> None:
        self.services = services
        self.indexer = services.indexer
        self.poll_seconds = poll_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="index-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        while not self._stopped.is_set():
            try:
                self.indexer.run(self.poll_seconds, on_sync=self._synced)
            except Exception:
                log.exception("the index follower failed; trying again in 5 s")
                self._stopped.wait(5.0)

    def _synced(self, report: SyncReport) -> None:
        """The index moved on (or a reorg moved it back): cached history pages of another
        block are not served any more."""
        if report.reorg is not None:  # the same height may now hold other blocks
            self.services.forget_pages()
        self.services.indexed_block = report.to_block

    def stop(self) -> None:
        self._stopped.set()
        self.services.indexed_block = None
        self.indexer.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


def build_services(settings: Settings) -> Services:
    """The services of one app, connected and checked (the manifest against the chain)."""
    ledger = Ledger(settings)
    assert ledger.sender and ledger.manifest  # built once, before requests run in threads
    ledger.engine  # noqa: B018  (tables created before the first request)
    uploads = Uploads(ledger)
    uploads.mark_interrupted()  # jobs that were running when the last process stopped
    return Services(
        ledger=ledger,
        auth=Auth(ledger),
        wallets=Wallets(ledger),
        relay=Relay(ledger, batch_most=settings.relay_batch_most, lanes=settings.relay_lanes),
        uploads=uploads,
        indexer=Indexer(ledger),
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
        services = build_services(settings)
        app.state.services = services
        follower = Follower(services, settings.api_follow_poll_seconds)
        if settings.api_follow_chain:
            follower.start()
        try:
            yield
        finally:
            follower.stop()
            services.ledger.close()

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
        per_ip=settings.rate_limit_per_ip,
        per_account=settings.rate_limit_per_account,
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

    for router in ROUTERS:
        app.include_router(router)
    # The auditors' explorer: static files over the /v1/audit API (no build step, no CDN).
    app.mount("/explorer", StaticFiles(directory=EXPLORER_DIR, html=True), name="explorer")
    return app
