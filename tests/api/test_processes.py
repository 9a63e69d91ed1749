"""An API process among several on one store: it relays with the first relayer no other process
holds, refuses to start when every one is held, and keeps its relayer through a database restart
(taken again) or, if another process took it meanwhile, stops relaying (503) rather than share
its nonces."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.errors import ConfigError
from ledger.ledger import Ledger
from tests.api.conftest import sign_in
from tests.conftest import fresh_database
from tests.factories import person
from tests.lease_helpers import cut_leases, holder


def member_body() -> dict[str, Any]:
    who = person()
    return {"address": Account.create().address, "name": who.name, "id_number": who.id_number}


def test_a_process_takes_the_first_free_relayer_and_refuses_to_start_without_one(
    api_settings: Any, ledger: Ledger, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    relayers = {"relayer": ledger.operator("relayer"), "relayer-2": ledger.operator("relayer-2")}
    other, answer = holder(url, f"relayer {relayers['relayer'].address}")
    try:
        assert answer == "held"
        settings = api_settings.model_copy(
            update={"database_url": url, "api_follow_chain": False, "relayer": "relayer,relayer-2"}
        )
        with TestClient(create_app(settings)) as app:
            relay = app.app.state.services.relay  # type: ignore[attr-defined]
            assert relay.relayer.address == relayers["relayer-2"].address
            registrar = sign_in(app, ledger.operator("registrar"))
            made = registrar.write("POST", "/v1/issuer/members", member_body())
            assert made.status_code == 201, made.text
            tx = ledger.w3.eth.get_transaction(made.json()["tx_hash"])
            assert tx["from"] == relayers["relayer-2"].address
        alone = settings.model_copy(update={"relayer": "relayer"})
        refused = pytest.raises(ConfigError, match="is in use by another API process")
        with refused, TestClient(create_app(alone)):
            pass
    finally:
        other.kill()


@pytest.mark.postgres
def test_a_relayer_lost_with_the_database_connection_is_taken_again_or_given_up(
    api_settings: Any,
    ledger: Ledger,
    postgres_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = fresh_database("postgresql", tmp_path, request)
    settings = api_settings.model_copy(update={"database_url": url, "api_follow_chain": False})
    with TestClient(create_app(settings)) as app:
        services = app.app.state.services  # type: ignore[attr-defined]
        app.app.state.keeper.stop()  # type: ignore[attr-defined]  # the test takes its turns
        lease = services.relayer_lease
        registrar = sign_in(app, ledger.operator("registrar"))
        engine = services.ledger.engine

        assert cut_leases(postgres_url, engine) == 1  # a database restart
        services.keep_relayer()
        assert lease.held() and not services.relayer_lost  # taken again
        assert registrar.write("POST", "/v1/issuer/members", member_body()).status_code == 201

        assert cut_leases(postgres_url, engine) == 1
        other, answer = holder(url, lease.name)  # another process takes it meanwhile
        try:
            assert answer == "held"
            services.keep_relayer()
            assert services.relayer_lost
            with caplog.at_level(logging.ERROR, logger="api"):
                refused = registrar.write("POST", "/v1/issuer/members", member_body())
            assert refused.status_code == 503, refused.text
            assert refused.headers.get("Retry-After")  # the balancer's next process will do
            assert any("lost its relayer" in r.getMessage() for r in caplog.records)
            assert app.get("/health").status_code == 200  # reads go on
        finally:
            other.kill()
