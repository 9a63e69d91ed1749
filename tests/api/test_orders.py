"""Redeeming through the API: relayed writes signed on the member's device (the 428 round trip)
or by a custodial wallet's PIN, a proxy acting for a member, Idempotency-Key, and bad input."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from ledger.ledger import Ledger
from tests.api.conftest import authorize, custodial_holder, shopper, sign_in
from tests.catalogue_helpers import Shop, catalogue_state, community_worker, list_item
from tests.contracts.helpers import source
from tests.factories import new_member
from tests.probes import issue_points


def test_a_member_redeems_by_signing_the_relayed_request_without_any_native_coin(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me, item, url = shopper(ledger, client, shop, 200, price=50)
    body = {"item_id": item.item.id, "quantity": 2, "unit_price": 50}
    first = me.client.post(url, json=body, headers=me.headers)
    assert first.status_code == 428
    typed = first.json()["error"]["details"]["typed_data"]
    assert typed["primaryType"] == "ForwardRequest"
    assert typed["domain"]["chainId"] == ledger.network.chain_id
    assert typed["message"]["from"] == me.address
    assert me.account is not None
    second = me.client.post(
        url, json={**body, "authorization": authorize(me.account, first)}, headers=me.headers
    )
    assert second.status_code == 201, second.text
    order = second.json()
    assert (order["member"], order["quantity"], order["points"]) == (me.address, 2, 100)
    assert order["status"] == "held"
    assert ledger.points.available_of(me.address, shop.id) == 100
    assert ledger.w3.eth.get_balance(me.account.address) == 0
    assert ledger.w3.eth.get_transaction_count(me.account.address) == 0


def test_a_signature_authorizes_only_the_request_it_was_given_for(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me, item, url = shopper(ledger, client, shop, 200, price=50)
    first = me.client.post(
        url, json={"item_id": item.item.id, "quantity": 1, "unit_price": 50}, headers=me.headers
    )
    assert me.account is not None
    auth = authorize(me.account, first)
    before = catalogue_state(ledger, shop.id, [me.address], items=[item.item.id])
    changed = me.client.post(
        url,
        json={"item_id": item.item.id, "quantity": 3, "unit_price": 50, "authorization": auth},
        headers=me.headers,
    )
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "signature_mismatch"
    other = Account.create()
    forged = {**auth, "signature": authorize(other, first)["signature"]}
    again = me.client.post(
        url,
        json={"item_id": item.item.id, "quantity": 1, "unit_price": 50, "authorization": forged},
        headers=me.headers,
    )
    assert again.json()["error"]["code"] == "signature_mismatch"
    assert catalogue_state(ledger, shop.id, [me.address], items=[item.item.id]) == before


def test_a_refused_redeem_says_why_before_anything_is_signed(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me, item, _ = shopper(ledger, client, shop, 20, price=50)
    before = catalogue_state(ledger, shop.id, [me.address], items=[item.item.id])
    answer = me.client.post(
        f"/v1/members/{me.address}/orders",
        json={"item_id": item.item.id, "quantity": 1, "unit_price": 50},
        headers=me.headers,
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "insufficient_balance"
    assert error["message_zh"] == "积分余额不足。"
    assert error["details"]["error"]
    stale = me.client.post(
        f"/v1/members/{me.address}/orders",
        json={"item_id": item.item.id, "quantity": 1, "unit_price": 49},
        headers=me.headers,
    )
    assert stale.json()["error"]["code"] == "price_changed"
    assert catalogue_state(ledger, shop.id, [me.address], items=[item.item.id]) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"item_id": 0, "quantity": 1, "unit_price": 5},
        {"item_id": 1, "quantity": -1, "unit_price": 5},
        {"item_id": "x", "quantity": 1, "unit_price": 5},
        {"item_id": 1, "quantity": 1, "unit_price": 5, "authorization": {"nonce": 0}},
    ],
)
def test_malformed_redeem_bodies_list_every_bad_field(
    client: TestClient, ledger: Ledger, shop: Shop, body: dict[str, Any]
) -> None:
    me = sign_in(client, new_member(ledger).account)
    answer = me.client.post(f"/v1/members/{me.address}/orders", json=body, headers=me.headers)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["fields"]
    assert all(f["field"].startswith("body") for f in error["details"]["fields"])


def test_a_custodial_member_redeems_with_the_pin(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    s = custodial_holder(ledger, client, shop.id, 120)
    address, item = s.address, list_item(ledger, shop, price=40)
    body = {"item_id": item.item.id, "quantity": 3, "unit_price": 40}
    no_pin = client.post(f"/v1/members/{address}/orders", json=body, headers=s.headers)
    assert no_pin.status_code == 422
    assert "X-Wallet-PIN" in no_pin.json()["error"]["message"]
    wrong = client.post(
        f"/v1/members/{address}/orders",
        json=body,
        headers={**s.headers, "X-Wallet-PIN": "999999"},
    )
    assert wrong.status_code == 401
    assert ledger.points.available_of(address, shop.id) == 120
    done = s.write("POST", f"/v1/members/{address}/orders", body)
    assert done.status_code == 201, done.text
    assert ledger.points.available_of(address, shop.id) == 0


def test_a_retry_with_the_same_idempotency_key_returns_the_first_order_and_redeems_once(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    s = custodial_holder(ledger, client, shop.id, 300)
    address, item = s.address, list_item(ledger, shop, price=30)
    key = secrets.token_hex(8)
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 30}
    first = s.write("POST", f"/v1/members/{address}/orders", body, key=key)
    again = s.write("POST", f"/v1/members/{address}/orders", body, key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ledger.points.available_of(address, shop.id) == 270
    other = s.write("POST", f"/v1/members/{address}/orders", {**body, "quantity": 2}, key=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert ledger.points.available_of(address, shop.id) == 270


def test_a_self_signed_retry_with_the_same_key_and_signature_never_redeems_twice(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me, item, url = shopper(ledger, client, shop, 100, price=10)
    key = secrets.token_hex(8)
    headers = {**me.headers, "Idempotency-Key": key}
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 10}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 428
    assert me.account is not None
    signed = {**body, "authorization": authorize(me.account, first)}
    done = client.post(url, json=signed, headers=headers)
    replay = client.post(url, json=signed, headers=headers)
    assert done.status_code == replay.status_code == 201
    assert replay.json()["id"] == done.json()["id"]
    # the same signed request without the key: found run (by its transaction's input), nothing
    # moves, and the answer says it is a replay
    bare = client.post(url, json=signed, headers=me.headers)
    assert bare.status_code == 200, bare.text
    assert bare.headers["Relay-Replayed"] == "true"
    assert bare.json()["id"] == done.json()["id"]
    assert ledger.points.available_of(me.address, shop.id) == 90


def test_a_proxy_redeems_for_a_member_and_a_stranger_cannot(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    from tests.catalogue_helpers import grant_proxy

    member = new_member(ledger)
    issue_points(ledger, member.address, shop.id, 100, source())
    item = list_item(ledger, shop, price=25)
    worker = community_worker()
    grant_proxy(ledger, member.address, worker.address)
    helper = sign_in(client, worker)
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 25}
    done = helper.write("POST", f"/v1/members/{member.address}/orders", body)
    assert done.status_code == 201, done.text
    assert done.json()["member"] == member.address
    stranger = sign_in(client, Account.create())
    denied = stranger.write("POST", f"/v1/members/{member.address}/orders", body)
    assert denied.status_code == 403
    assert ledger.points.available_of(member.address, shop.id) == 75
    listed = helper.get(f"/v1/members/{member.address}/orders")
    assert [o["id"] for o in listed.json()] == [done.json()["id"]]
    cancelled = helper.write(
        "POST", f"/v1/members/{member.address}/orders/{done.json()['id']}/cancel"
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert ledger.points.available_of(member.address, shop.id) == 100
