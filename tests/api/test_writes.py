"""How every write runs, end to end: a retry after the answer was lost never writes twice; rate
limits per account and per address; CORS only for configured origins."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.chain.contracts.catalogue import CatalogueClient
from ledger.errors import RetryableChainError
from ledger.ledger import Ledger
from tests.api.conftest import custodial_holder, sign_in
from tests.catalogue_helpers import list_item, new_shop


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
