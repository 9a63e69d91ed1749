"""One account's writes at the same moment (issue 18 §1): a registrar in several tabs, a member who
orders twice quickly. Every answer is checked against the chain: a success only for the write that
happened, with that write's own result; the request that lost its nonce is asked to sign again; an
exact replay of a request that ran says so."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eth_account import Account
from fastapi.testclient import TestClient
from httpx import Response
from web3.logs import DISCARD

from ledger.chain.relay import Relay
from ledger.ledger import Ledger
from tests.api.conftest import (
    Session,
    authorize,
    custodial_holder,
    member_holding,
    orders_url,
    shopper,
    sign_in,
)
from tests.catalogue_helpers import Shop, list_item
from tests.factories import person as someone

THREADS = 8


def at_once(calls: list[Callable[[], Response]]) -> list[Response]:
    """Run every call at the same moment, each in its own thread; the answers in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def orders_of(ledger: Ledger, member: str) -> dict[int, int]:
    """Every order the chain holds for `member`: id -> quantity."""
    return {o.order.id: o.order.quantity for o in ledger.catalogue.orders(member=member)}


def prepare(me: Session, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """The 428 round trip's first half: the body to send again, signed."""
    first = me.client.post(url, json=body, headers=me.headers)
    assert first.status_code == 428, first.text
    assert me.account is not None
    return {**body, "authorization": authorize(me.account, first)}


def test_two_orders_prepared_together_one_runs_and_the_other_is_asked_to_sign_again(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me, item, url = shopper(ledger, client, shop, 100, price=10)
    a = prepare(me, url, {"item_id": item.item.id, "quantity": 1, "unit_price": 10})
    b = prepare(me, url, {"item_id": item.item.id, "quantity": 2, "unit_price": 10})
    assert a["authorization"]["nonce"] == b["authorization"]["nonce"]

    done = client.post(url, json=a, headers=me.headers)
    lost = client.post(url, json=b, headers=me.headers)

    assert done.status_code == 201, done.text
    assert done.json()["quantity"] == 1
    assert lost.status_code == 409, lost.text
    error = lost.json()["error"]
    assert error["code"] == "stale_authorization"
    assert "sign" in error["message"] and "altered" not in error["message"]
    assert orders_of(ledger, me.address) == {done.json()["id"]: 1}
    assert ledger.points.available_of(me.address, shop.id) == 90

    # the exact request again: the answer of the run it had, told apart from a new write
    replay = client.post(url, json=a, headers=me.headers)
    assert replay.status_code == 200, replay.text
    assert replay.headers["Relay-Replayed"] == "true"
    assert replay.json()["id"] == done.json()["id"]
    assert "Relay-Replayed" not in done.headers
    # B, signed again, runs with its own quantity
    again = client.post(
        url,
        json=prepare(me, url, {k: v for k, v in b.items() if k != "authorization"}),
        headers=me.headers,
    )
    assert again.status_code == 201, again.text
    assert again.json()["quantity"] == 2
    assert orders_of(ledger, me.address) == {done.json()["id"]: 1, again.json()["id"]: 2}
    assert ledger.points.available_of(me.address, shop.id) == 70


def test_one_signers_requests_at_once_each_answer_is_its_own_write_or_a_409(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me, item, url = shopper(ledger, client, shop, 1_000, price=1, stock=1_000, per_member=1_000)
    bodies = at_once(
        [
            lambda q=q: _prepared(
                me, url, {"item_id": item.item.id, "quantity": q, "unit_price": 1}
            )
            for q in range(1, THREADS + 1)
        ]
    )
    answers = at_once(
        [lambda b=b: client.post(url, json=b.json(), headers=me.headers) for b in bodies]
    )

    chain = orders_of(ledger, me.address)
    won = [(b.json(), a) for b, a in zip(bodies, answers, strict=True) if a.status_code == 201]
    lost = [a for a in answers if a.status_code != 201]
    assert won, [a.text for a in answers]
    assert all(a.status_code == 409 for a in lost), [a.text for a in lost]
    assert all(a.json()["error"]["code"] == "stale_authorization" for a in lost)
    for body, answer in won:  # each success is the write it asked for, and it is on chain
        assert chain[answer.json()["id"]] == body["quantity"] == answer.json()["quantity"]
    assert len({a.json()["id"] for _, a in won}) == len(won) == len(chain)
    assert ledger.points.available_of(me.address, shop.id) == 1_000 - sum(chain.values())


def _prepared(me: Session, url: str, body: dict[str, Any]) -> Response:
    """`prepare` as a Response carrying the signed body (for `at_once`)."""
    return Response(200, json=prepare(me, url, body))


def test_a_custodial_wallets_writes_at_once_all_run_in_nonce_order_each_with_its_result(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    me = custodial_holder(ledger, client, shop.id, 1_000)
    address, url = me.address, orders_url(me.address)
    item = list_item(ledger, shop, price=1, stock=1_000, per_member=1_000)

    answers = at_once(
        [
            lambda q=q: me.write(
                "POST", url, {"item_id": item.item.id, "quantity": q, "unit_price": 1}
            )
            for q in range(1, THREADS + 1)
        ]
    )

    assert [a.status_code for a in answers] == [201] * THREADS, [a.text for a in answers]
    assert [a.json()["quantity"] for a in answers] == list(range(1, THREADS + 1))
    chain = orders_of(ledger, address)
    assert chain == {a.json()["id"]: a.json()["quantity"] for a in answers}
    assert ledger.points.available_of(address, shop.id) == 1_000 - sum(range(1, THREADS + 1))


def test_a_registrar_in_several_tabs_every_created_member_is_registered(
    client: TestClient, ledger: Ledger
) -> None:
    registrar = sign_in(client, ledger.operator("registrar"))
    url = "/v1/issuer/members"
    people = [
        {"address": Account.create().address, "name": p.name, "id_number": p.id_number}
        for p in (someone() for _ in range(THREADS))
    ]
    bodies = at_once([lambda p=p: _prepared(registrar, url, p) for p in people])
    answers = at_once(
        [lambda b=b: client.post(url, json=b.json(), headers=registrar.headers) for b in bodies]
    )

    created = [(p, a) for p, a in zip(people, answers, strict=True) if a.status_code == 201]
    assert created, [a.text for a in answers]
    for person, answer in created:
        assert answer.json()["address"] == person["address"]
        assert ledger.members.member(person["address"]).registered, person["address"]
    hashes = [a.json()["tx_hash"] for _, a in created]
    assert len(set(hashes)) == len(hashes)
    for person, answer in zip(people, answers, strict=True):
        if answer.status_code != 201:
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "stale_authorization"
            assert not ledger.members.member(person["address"]).registered
            # signed again, the registration completes
            retry = registrar.write("POST", url, person)
            assert retry.status_code == 201, retry.text
            assert ledger.members.member(person["address"]).registered


def racers(
    client: TestClient, ledger: Ledger, shop: Shop, item_id: int, n: int
) -> tuple[list[Session], list[dict[str, Any]]]:
    """`n` members holding 100 points, signed in, each with a signed redeem of one unit at 20."""
    sessions = [member_holding(ledger, client, shop.id, 100) for _ in range(n)]
    body = {"item_id": item_id, "quantity": 1, "unit_price": 20}
    return sessions, [prepare(s, f"/v1/members/{s.address}/orders", body) for s in sessions]


def order_posts(
    client: TestClient, sessions: list[Session], signed: list[dict[str, Any]]
) -> list[Callable[[], Response]]:
    """Each session's signed order, as a call that posts it."""
    return [
        lambda s=s, b=b: client.post(f"/v1/members/{s.address}/orders", json=b, headers=s.headers)
        for s, b in zip(sessions, signed, strict=True)
    ]


def held_together(client: TestClient, posts: list[Callable[[], Response]]) -> list[Response]:
    """Every post sent while the app's relay sends nothing, until all of them wait for a
    transaction: then they go out together. The answers, in order."""
    relay: Relay = client.app.state.services.relay  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        with relay.batcher.held():
            pending = [pool.submit(post) for post in posts]
            deadline = time.monotonic() + 60
            while relay.batcher.waiting() < len(posts):
                assert time.monotonic() < deadline, "the requests never all reached the relay"
                time.sleep(0.05)
        return [p.result(timeout=60) for p in pending]


def test_members_ordering_at_once_each_get_their_own_order_from_one_transaction(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    item = list_item(ledger, shop, price=20, stock=100, per_member=3)
    sessions, signed = racers(client, ledger, shop, item.item.id, THREADS)
    relay: Relay = client.app.state.services.relay  # type: ignore[attr-defined]
    sent = relay.batcher.transactions

    answers = held_together(
        client,
        order_posts(client, sessions, signed),
    )

    assert [a.status_code for a in answers] == [201] * THREADS, [a.text for a in answers]
    assert relay.batcher.transactions == sent + 1
    for session, answer in zip(sessions, answers, strict=True):
        order = answer.json()
        assert order["member"] == session.address  # its own order, not another's from the batch
        assert orders_of(ledger, session.address) == {order["id"]: 1}
        assert ledger.points.available_of(session.address, shop.id) == 80


def test_members_racing_for_the_last_units_the_losers_are_told_it_is_sold_out(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    """Relayed redeems that pass the pre-send simulation and are refused on chain: the forwarder
    replaces the catalogue's reason with FailedInnerCall; the answer still says sold out."""
    item = list_item(ledger, shop, price=20, stock=3, per_member=1)
    sessions, signed = racers(client, ledger, shop, item.item.id, THREADS)
    held = ledger.points.held_total(shop.id)  # the module's other tests hold points too

    answers = at_once(order_posts(client, sessions, signed))

    won = [a for a in answers if a.status_code == 201]
    lost = [a for a in answers if a.status_code != 201]
    assert len(won) == 3, [a.text for a in answers]
    for answer in lost:
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "sold_out", answer.text
    assert ledger.catalogue_contract.item(item.item.id).stock == 0
    assert ledger.points.held_total(shop.id) == held + 60
    left = sorted(ledger.points.available_of(m.address, shop.id) for m in sessions)
    assert left == [80] * 3 + [100] * (THREADS - 3)


def test_a_redeem_refused_on_chain_after_its_simulation_passed_says_sold_out(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    """Made certain: both redeems pass their simulation, then wait while the relay sends nothing,
    and go out together in one batch, where the second is refused inside the forwarder."""
    item = list_item(ledger, shop, price=20, stock=1, per_member=1)
    sessions, signed = racers(client, ledger, shop, item.item.id, 2)
    answers = held_together(
        client,
        order_posts(client, sessions, signed),
    )

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    lost = next(a for a in answers if a.status_code == 409).json()["error"]
    assert lost["code"] == "sold_out", lost
    assert lost["details"]["error"] == "CatalogueSoldOut"
    won = next(a for a in answers if a.status_code == 201).json()
    batch = ledger.w3.eth.get_transaction_receipt(lost["details"]["tx_hash"])
    placed = ledger.catalogue_contract.contract.events.OrderPlaced().process_receipt(
        batch, errors=DISCARD
    )
    assert [e["args"]["orderId"] for e in placed] == [won["id"]]  # refused in the same batch
    assert ledger.catalogue_contract.item(item.item.id).stock == 0
