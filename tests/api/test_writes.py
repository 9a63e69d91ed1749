"""How every write runs, end to end: a retry after the answer was lost never writes twice; rate
limits per account and per address; CORS only for configured origins."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import writes
from api.app import create_app
from ledger.chain.contracts.catalogue import CatalogueClient
from ledger.errors import RetryableChainError
from ledger.ledger import Ledger
from ledger.store import utcnow
from ledger.store.sessions import IdempotentRequest
from tests.api.conftest import custodial_holder, sign_in
from tests.catalogue_helpers import list_item, new_shop
from tests.chain_helpers import wait_until


def test_a_retry_after_the_answer_was_lost_once_the_transaction_was_sent_redeems_once(
    client: TestClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = new_shop(ledger)
    s = custodial_holder(ledger, client, shop.id, 100)
    address, item = s.address, list_item(ledger, shop, price=40)
    orders_before = ledger.catalogue_contract.order_count()
    real_read = CatalogueClient.order_and_item
    lost: list[int] = []

    def read_then_drop(self: CatalogueClient, order_id: int, item_id: int) -> Any:
        if not lost:  # the first attempt: mined, then the connection to the node drops
            lost.append(order_id)
            raise RetryableChainError("connection reset while reading the order back")
        return real_read(self, order_id, item_id)

    monkeypatch.setattr(CatalogueClient, "order_and_item", read_then_drop)
    key = secrets.token_hex(8)
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 40}
    first = s.write("POST", f"/v1/members/{address}/orders", body, key=key)
    assert first.status_code == 503
    assert lost and ledger.points.available_of(address, shop.id) == 60  # it did go through
    retry = s.write("POST", f"/v1/members/{address}/orders", body, key=key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == lost[0]
    again = s.write("POST", f"/v1/members/{address}/orders", body, key=key)
    assert again.json() == retry.json()
    assert ledger.catalogue_contract.order_count() == orders_before + 1
    assert ledger.points.available_of(address, shop.id) == 60


@pytest.fixture
def limited(api_settings: Any) -> Iterator[TestClient]:
    settings = api_settings.model_copy(
        update={
            "rate_limit_per_account": 4,
            "rate_limit_per_ip": 12,
            "cors_origins": ["https://wallet.example.org"],
            "api_follow_chain": False,
        }
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_requests_over_the_limit_per_account_are_refused_with_retry_after(
    limited: TestClient,
) -> None:
    busy = sign_in(limited, Account.create())
    codes = [busy.get("/v1/auth/me").status_code for _ in range(7)]
    assert 429 in codes and codes[0] == 200
    refused = busy.get("/v1/auth/me")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "too_many_requests" and error["message_zh"]


def test_requests_over_the_limit_per_address_are_refused(limited: TestClient) -> None:
    codes = [limited.get("/health").status_code for _ in range(14)]
    assert codes[:5] == [200] * 5
    assert codes[-1] == 429


def test_each_of_several_processes_enforces_its_share_of_the_limit(api_settings: Any) -> None:
    # three processes behind a balancer: each allows a third (rounded up), so together no more
    # than the limit
    settings = api_settings.model_copy(
        update={"rate_limit_per_ip": 12, "api_processes": 3, "api_follow_chain": False}
    )
    with TestClient(create_app(settings)) as one_of_three:
        codes = [one_of_three.get("/health").status_code for _ in range(6)]
    assert codes[:4] == [200] * 4 and codes[-1] == 429


def test_cors_answers_only_configured_origins(limited: TestClient) -> None:
    asked = {"Access-Control-Request-Method": "POST"}
    ok = limited.options(
        "/v1/auth/challenge", headers={"Origin": "https://wallet.example.org", **asked}
    )
    assert ok.headers.get("access-control-allow-origin") == "https://wallet.example.org"
    other = limited.options(
        "/v1/auth/challenge", headers={"Origin": "https://evil.example", **asked}
    )
    assert "access-control-allow-origin" not in other.headers


# --- a key whose first attempt is still running, or died with its process ---------------------


@dataclass
class Held:
    """A custodial member's order whose first attempt is held after its transaction was mined
    (reading the order back waits for `go`): the session, the request, and the order's id."""

    session: Any
    scheme_id: int
    url: str
    body: dict[str, Any]
    key: str
    go: threading.Event
    answers: list[Any]
    order_id: list[int]


def held_first_attempt(ledger: Ledger, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Held:
    shop = new_shop(ledger)
    s = custodial_holder(ledger, client, shop.id, 100)
    item = list_item(ledger, shop, price=40)
    go, mined = threading.Event(), threading.Event()
    order_id: list[int] = []
    real_read = CatalogueClient.order_and_item

    def read_when_told(self: CatalogueClient, order: int, item_id: int) -> Any:
        if not order_id:
            order_id.append(order)
            mined.set()
            assert go.wait(60)
        return real_read(self, order, item_id)

    monkeypatch.setattr(CatalogueClient, "order_and_item", read_when_told)
    url, key = f"/v1/members/{s.address}/orders", secrets.token_hex(8)
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 40}
    held = Held(s, shop.id, url, body, key, go, [], order_id)
    first = threading.Thread(
        target=lambda: held.answers.append(s.write("POST", url, body, key=key))
    )
    first.start()
    assert mined.wait(60), "the first attempt never got its order mined"
    return held


def running_row(ledger: Ledger, key: str) -> IdempotentRequest:
    with Session(ledger.engine) as db:
        row = db.exec(select(IdempotentRequest).where(IdempotentRequest.key == key)).one()
    assert row.state == "running"
    return row


def test_a_retry_while_the_first_attempt_runs_is_told_to_come_back_and_its_claim_is_renewed(
    client: TestClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "WAIT_FOR_FIRST_SECONDS", 0.5)
    monkeypatch.setattr(writes, "LEASE_RENEW_SECONDS", 0.2)
    monkeypatch.setattr(writes, "LEASE", timedelta(seconds=1))
    # leases of this test's own: an earlier test's renewing thread sleeps its 5 s between rounds
    monkeypatch.setattr(writes, "LEASES", writes._Leases())
    held = held_first_attempt(ledger, client, monkeypatch)
    claimed = running_row(ledger, held.key).started_at
    time.sleep(1.5)  # longer than the lease: only its renewals keep the claim

    retry = held.session.write("POST", held.url, held.body, key=held.key)

    assert retry.status_code == 409, retry.text
    assert retry.json()["error"]["code"] == "idempotency_in_progress"
    assert retry.headers["Retry-After"] == "5"
    assert "same key" in retry.json()["error"]["message"]
    assert running_row(ledger, held.key).started_at > claimed  # renewed, so not taken over
    held.go.set()
    wait_until(lambda: bool(held.answers))
    assert held.answers[0].status_code == 201
    answer = held.session.write("POST", held.url, held.body, key=held.key)
    assert answer.json() == held.answers[0].json() and answer.headers["Idempotent-Replayed"]


def test_a_key_whose_attempt_stopped_renewing_its_claim_is_taken_over_and_runs_once(
    client: TestClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt's process died (kill -9): nothing renews its claim. A retry after the
    lease takes it over and answers with the order the first attempt placed; nothing runs twice
    (the signed request is re-sent, never signed anew), even though here the first attempt was
    not dead after all and answers too."""
    monkeypatch.setattr(writes, "LEASES", writes._Leases())
    held = held_first_attempt(ledger, client, monkeypatch)
    orders_before = ledger.catalogue_contract.order_count()
    row = running_row(ledger, held.key)
    assert row.signed_request is not None  # journalled before it was sent
    writes.LEASES.release(row.id or 0)  # as if its process had died
    with Session(ledger.engine) as db:
        stale = db.get(IdempotentRequest, row.id)
        assert stale is not None
        stale.started_at = utcnow() - writes.LEASE - timedelta(seconds=1)
        db.add(stale)
        db.commit()

    retry = held.session.write("POST", held.url, held.body, key=held.key)

    assert retry.status_code in (200, 201), retry.text
    assert retry.json()["id"] == held.order_id[0]
    held.go.set()
    wait_until(lambda: bool(held.answers))
    assert held.answers[0].json()["id"] == held.order_id[0]
    assert ledger.catalogue_contract.order_count() == orders_before
    assert ledger.points.available_of(held.session.address, held.scheme_id) == 60
