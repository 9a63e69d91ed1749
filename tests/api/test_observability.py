"""What an operator watches: /metrics in the Prometheus text format (requests by route template,
latency, writes by outcome, the chain, the index, the pool), /ready with its reasons, and one JSON
line a request that names an address and never a person."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.observability import STATUS_SECONDS, JsonFormatter, Status, not_ready
from ledger.ledger import Ledger
from tests.api.conftest import sign_in
from tests.factories import new_member, person
from tests.ledger.test_registration import personal_needles


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def wait_ready(client: TestClient) -> dict[str, Any]:
    """/ready once the app's follower has caught up with the chain."""
    deadline = time.monotonic() + 60
    while True:
        answer = client.get("/ready")
        if answer.status_code == 200 or time.monotonic() > deadline:
            body: dict[str, Any] = answer.json()
            assert answer.status_code == 200, body
            return body
        time.sleep(0.2)


@pytest.fixture(scope="module")
def watched(api_settings: Any) -> Iterator[TestClient]:
    """An app of its own (its own counters), following the chain into the index."""
    with TestClient(create_app(api_settings.model_copy(update={"api_follow_chain": True}))) as c:
        yield c


def test_requests_are_counted_by_route_template_status_and_latency(
    watched: TestClient, ledger: Ledger
) -> None:
    member = new_member(ledger)
    me = sign_in(watched, member.account)
    assert me.get(f"/v1/members/{member.address}/balances").status_code == 200
    assert watched.get("/v1/schemes/NO-SUCH").status_code == 404
    refused = me.write("POST", f"/v1/members/{Account.create().address}/gifts", {})
    assert refused.status_code == 422  # a body missing its fields: refused before any write

    samples = scrape(watched)

    route = "/v1/members/{address}/balances"
    key = ("vpl_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))
    assert samples[key] == 1
    missing = (("method", "GET"), ("route", "/v1/schemes/{code}"), ("status", "404"))
    assert samples[("vpl_http_requests_total", missing)] == 1
    count = ("vpl_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))
    assert samples[count] == 1
    labels = " ".join(str(k) for k in samples)
    assert member.address not in labels  # paths are never labels: routes are templates


def test_writes_are_counted_by_outcome(watched: TestClient, ledger: Ledger) -> None:
    registrar = sign_in(watched, ledger.operator("registrar"))
    before = scrape(watched)
    who = person()
    body = {"address": Account.create().address, "name": who.name, "id_number": who.id_number}
    assert registrar.write("POST", "/v1/issuer/members", body).status_code == 201
    stranger = Account.create().address  # not a member: the contract refuses to freeze them
    refused = registrar.write("POST", f"/v1/issuer/members/{stranger}/freeze", {"reason": 3})
    assert refused.status_code == 404, refused.text

    after = scrape(watched)

    def grew(outcome: str) -> float:
        key = ("vpl_relayed_writes_total", (("outcome", outcome),))
        return after.get(key, 0) - before.get(key, 0)

    assert (grew("signature_required"), grew("done"), grew("refused")) == (1, 1, 1)


def test_the_chain_the_index_and_the_store_are_read_when_scraped(
    watched: TestClient, ledger: Ledger
) -> None:
    wait_ready(watched)
    samples = {name: value for (name, labels), value in scrape(watched).items() if not labels}
    head = ledger.w3.eth.block_number
    assert head - 5 <= samples["vpl_chain_head_block"] <= head
    assert samples["vpl_node_up"] == samples["vpl_database_up"] == 1
    assert samples["vpl_index_follower"] == 1
    assert 0 <= samples["vpl_index_lag_blocks"] <= 50
    assert samples["vpl_transactions_pending"] == 0
    assert samples["vpl_chain_head_age_seconds"] >= 0
    assert samples["vpl_db_pool_checked_out"] >= 0
    assert ledger.sender.gas_price != 0  # the development chain charges fees: watch the relayer
    assert samples["vpl_relayer_balance_wei"] > 0


def test_ready_answers_503_with_the_reason_while_the_index_lags(
    api_settings: Any, ledger: Ledger, watched: TestClient, tmp_path: Path
) -> None:
    body = wait_ready(watched)
    assert (body["status"], body["reasons"]) == ("ready", [])
    assert body["index_lag"] <= 50
    strict = api_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'own.db'}",  # an index of its own
            "api_follow_chain": False,
            "ready_max_index_lag": 1,
        }
    )
    with TestClient(create_app(strict)) as app:
        fresh = app.get("/ready")
        app.app.state.services.indexer.sync(max_blocks=1)  # type: ignore[attr-defined]
        time.sleep(STATUS_SECONDS * 1.5)  # past the last reading
        behind = app.get("/ready")
        alive = app.get("/health")
    for answer in (fresh, behind):
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "the event index has not synced yet" in fresh.json()["reasons"]
    lag = behind.json()["index_lag"]
    assert lag > 1
    assert (
        f"the event index is {lag} blocks behind the chain (more than 1)"
        in (behind.json()["reasons"])
    )
    assert alive.status_code == 200  # alive, though not ready


def test_a_node_or_a_database_that_does_not_answer_or_a_stalled_chain_is_the_reason() -> None:
    down = Status(
        read_at=0,
        head=None,
        head_age=None,
        peers=None,
        indexed_block=None,
        database="the database does not answer: OperationalError",
        node="the node does not answer: ConnectionError",
    )
    assert not_ready(down, max_index_lag=50, max_block_age=None) == [
        "the node does not answer: ConnectionError",
        "the database does not answer: OperationalError",
    ]
    fresh = Status(0, 10, 1.0, 2, None, None, None)
    assert not_ready(fresh, max_index_lag=50, max_block_age=None) == [
        "the event index has not synced yet"
    ]
    # the session chain's clock runs ahead of the wall clock (tests move it): its blocks are
    # never old, so a stalled chain is shown here
    stalled = Status(0, 10, 45.0, 2, 10, None, None)
    assert not_ready(stalled, max_index_lag=50, max_block_age=30) == [
        "the newest block is 45 s old (more than 30 s): the validators are not sealing"
    ]
    assert not_ready(stalled, max_index_lag=50, max_block_age=None) == []


def test_metrics_off_means_no_metrics(api_settings: Any) -> None:
    with TestClient(create_app(api_settings.model_copy(update={"api_metrics": False}))) as app:
        assert app.get("/metrics").status_code == 404
        assert app.get("/health").status_code == 200


def test_json_request_lines_carry_the_request_the_route_and_the_address_never_a_person(
    api_settings: Any, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    who = person()
    address = Account.create().address
    body = {"address": address, "name": who.name, "id_number": who.id_number, "phone": who.phone}
    caplog.set_level(logging.INFO, logger="api.access")
    with TestClient(create_app(api_settings.model_copy(update={"log_format": "json"}))) as app:
        registrar = sign_in(app, ledger.operator("registrar"))
        made = registrar.write("POST", "/v1/issuer/members", body)
        assert made.status_code == 201, made.text
        assert registrar.get(f"/v1/issuer/members/{address}").status_code == 200

    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "api.access"
    ]
    posted = [line for line in lines if line["route"] == "/v1/issuer/members"]
    assert [line["status"] for line in posted] == [428, 201]
    last = posted[-1]
    assert last["account"] == registrar.address and last["method"] == "POST"
    assert last["request_id"] == made.headers["x-request-id"] and last["latency_ms"] > 0
    read = [line for line in lines if line["route"] == "/v1/issuer/members/{address}"]
    assert len(read) == 1  # the path's address is not in the route
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records).encode()
    for what, needle in personal_needles(who).items():
        assert needle not in text, f"{what} found in the request log"
