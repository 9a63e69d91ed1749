"""Gifts and community funds through the API: a member gives or donates, signing for themselves;
an Idempotency-Key gives once; funds and their history are read by signed-in members; refusals
change nothing on chain or in the store."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import func, select

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.gifts import GiftEntry
from tests.api.conftest import member_holding
from tests.factories import new_member, new_scheme


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger)


@pytest.fixture(scope="module")
def fund_id(ledger: Ledger, scheme: Scheme) -> int:
    view = ledger.gifts.create_fund(
        issuer=ledger.operator("issuer-vol"),
        scheme=scheme.id,
        manager=Account.create().address,
        name=f"助老基金 {scheme.code}",
        description="为社区独居老人",
    )
    return view.fund.id


def state(ledger: Ledger, scheme: Scheme, *addresses: str) -> Any:
    with session(ledger.engine) as db:
        rows = db.exec(select(func.count()).select_from(GiftEntry)).one()
    g = ledger.gifts_contract
    return (
        [ledger.points.balance_of(a, scheme.id) for a in addresses],
        g.funds_balance(scheme.id),
        rows,
    )


def test_a_member_gives_points_once_per_idempotency_key(
    client: TestClient, ledger: Ledger, scheme: Scheme
) -> None:
    giver = member_holding(ledger, client, scheme.id, 100)
    friend = new_member(ledger)
    url = f"/v1/members/{giver.address}/gifts"
    body = {"scheme": scheme.code, "recipient": friend.address, "amount": 25, "memo": "谢谢您"}
    first = giver.write("POST", url, body, key="gift-1")
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert (receipt["kind"], receipt["from"], receipt["to"], receipt["amount"]) == (
        "gift",
        giver.address,
        friend.address,
        25,
    )
    assert receipt["text"] == "谢谢您" and receipt["tx_hash"]
    again = giver.write("POST", url, body, key="gift-1")
    assert again.json()["tx_hash"] == receipt["tx_hash"]
    assert ledger.points.balance_of(friend.address, scheme.id) == 25
    assert ledger.points.balance_of(giver.address, scheme.id) == 75


def test_a_refused_gift_says_why_and_changes_nothing(
    client: TestClient, ledger: Ledger, scheme: Scheme
) -> None:
    giver = member_holding(ledger, client, scheme.id, 10)
    friend = new_member(ledger)
    before = state(ledger, scheme, giver.address, friend.address)
    url = f"/v1/members/{giver.address}/gifts"
    too_much = giver.client.post(
        url,
        json={"scheme": scheme.code, "recipient": friend.address, "amount": 11},
        headers=giver.headers,
    )
    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    bad = giver.client.post(
        url,
        json={"scheme": scheme.code, "recipient": "0x12", "amount": 0, "memo": "x" * 501},
        headers=giver.headers,
    )
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["error"]["details"]["fields"]}
    assert fields == {"body.amount", "body.memo"}
    bad_recipient = giver.client.post(
        url, json={"scheme": scheme.code, "recipient": "0x12", "amount": 1}, headers=giver.headers
    )
    assert bad_recipient.json()["error"]["code"] == "invalid_address"
    not_mine = member_holding(ledger, client, scheme.id).client.post(
        url,
        json={"scheme": scheme.code, "recipient": friend.address, "amount": 1},
        headers=member_holding(ledger, client, scheme.id).headers,
    )
    assert not_mine.status_code == 403
    assert state(ledger, scheme, giver.address, friend.address) == before


def test_a_member_donates_to_a_fund_and_sees_it_in_the_funds_history(
    client: TestClient, ledger: Ledger, scheme: Scheme, fund_id: int
) -> None:
    donor = member_holding(ledger, client, scheme.id, 40)
    listed = donor.get("/v1/funds", params={"scheme": scheme.code})
    assert listed.status_code == 200, listed.text
    assert [f["id"] for f in listed.json()] == [fund_id]
    donated = donor.write(
        "POST",
        f"/v1/members/{donor.address}/funds/{fund_id}/donations",
        {"amount": 30, "note": "捐给助老"},
    )
    assert donated.status_code == 201, donated.text
    assert (donated.json()["kind"], donated.json()["fund_id"]) == ("donation", fund_id)
    fund = donor.get(f"/v1/funds/{fund_id}").json()
    assert fund["name"] == f"助老基金 {scheme.code}"
    assert fund["balance"] >= 30
    history = donor.get(f"/v1/funds/{fund_id}/history").json()["history"]
    assert history[0]["kind"] == "created"
    assert {
        "kind": "donation",
        "account": donor.address,
        "amount": 30,
        "text": "捐给助老",
    }.items() <= (history[-1].items())


def test_fund_reads_need_a_signed_in_caller_and_a_fund_that_exists(
    client: TestClient, ledger: Ledger, scheme: Scheme, fund_id: int
) -> None:
    assert client.get("/v1/funds").status_code == 401
    me = member_holding(ledger, client, scheme.id, 5)
    missing = me.get("/v1/funds/99999999")
    assert missing.status_code == 409, missing.text  # the contract's GiftsUnknownFund
    assert missing.json()["error"]["details"]["error"] == "GiftsUnknownFund"
    assert me.get("/v1/funds/0").status_code == 422
    before = state(ledger, scheme, me.address)
    refused = me.client.post(
        f"/v1/members/{me.address}/funds/{fund_id}/donations",
        json={"amount": 6},
        headers=me.headers,
    )
    assert refused.json()["error"]["code"] == "insufficient_balance"
    assert state(ledger, scheme, me.address) == before
