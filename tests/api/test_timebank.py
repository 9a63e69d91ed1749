"""The time bank through the API: members post, accept, confirm, withdraw, cancel and dispute,
each signing for themselves; the address of a request is shown only to those involved; a refused
step changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from tests.api.conftest import Session, member_holding
from tests.factories import timebank_scheme

ADDRESS = "祖庙街道 12 号 3 楼"


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    return timebank_scheme(ledger)


def post(me: Session, scheme: Scheme, **changes: Any) -> dict[str, Any]:
    body = {
        "scheme": scheme.code,
        "kind": "cleaning",
        "hours": 2,
        "needs": "打扫厨房和客厅",
        "address": ADDRESS,
        **changes,
    }
    answer = me.write("POST", f"/v1/members/{me.address}/timebank/requests", body)
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


def state(ledger: Ledger, scheme: Scheme, *members: str) -> Any:
    tb, p = ledger.timebank_contract, ledger.points
    count = tb.request_count()
    return (
        count,
        tb.request(count),
        [p.balance_of(m, scheme.id) for m in members],
        p.held_total(scheme.id),
    )


def test_a_request_is_posted_accepted_and_confirmed_and_the_address_shown_only_to_those_involved(
    client: TestClient, ledger: Ledger, scheme: Scheme
) -> None:
    asker = member_holding(ledger, client, scheme.id, 5)
    helper = member_holding(ledger, client, scheme.id)
    posted = post(asker, scheme)
    assert (posted["status"], posted["hours"], posted["requester"]) == ("open", 2, asker.address)
    assert posted["address"] == ADDRESS
    rid = posted["id"]

    seen = helper.get(f"/v1/timebank/requests/{rid}").json()
    assert (seen["needs"], seen["address"], seen["address_hidden"]) == (
        "打扫厨房和客厅",
        None,
        True,
    )
    listed = helper.get("/v1/timebank/requests", params={"scheme": scheme.code}).json()
    assert rid in [r["id"] for r in listed]
    assert all(r["status"] == "open" for r in listed)

    accepted = helper.write(
        "POST", f"/v1/members/{helper.address}/timebank/requests/{rid}/accept", {}
    )
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["helper"]) == ("accepted", helper.address)
    assert accepted.json()["address"] == ADDRESS  # a party now

    confirmed = asker.write(
        "POST", f"/v1/members/{asker.address}/timebank/requests/{rid}/confirm", {}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert ledger.points.balance_of(helper.address, scheme.id) == 2
    assert ledger.points.balance_of(asker.address, scheme.id) == 3
    mine = helper.get(f"/v1/members/{helper.address}/timebank/requests").json()
    assert [r["id"] for r in mine] == [rid]


def test_withdraw_cancel_and_dispute(client: TestClient, ledger: Ledger, scheme: Scheme) -> None:
    asker = member_holding(ledger, client, scheme.id, 10)
    helper = member_holding(ledger, client, scheme.id)
    first, second = post(asker, scheme, needs="买菜"), post(asker, scheme, needs="陪同就医")
    base = f"/v1/members/{helper.address}/timebank/requests"
    assert helper.write("POST", f"{base}/{first['id']}/accept", {}).status_code == 200
    withdrawn = helper.write("POST", f"{base}/{first['id']}/withdraw", {})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["helper"]) == ("open", None)
    cancelled = asker.write(
        "POST", f"/v1/members/{asker.address}/timebank/requests/{first['id']}/cancel", {}
    )
    assert cancelled.json()["status"] == "cancelled"

    assert helper.write("POST", f"{base}/{second['id']}/accept", {}).status_code == 200
    disputed = helper.write("POST", f"{base}/{second['id']}/dispute", {"reason": 1})
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"
    assert ledger.points.balance_of(asker.address, scheme.id) == 8  # two hours held


def test_refused_steps_say_why_and_change_nothing(
    client: TestClient, ledger: Ledger, scheme: Scheme
) -> None:
    asker = member_holding(ledger, client, scheme.id, 3)
    other = member_holding(ledger, client, scheme.id)
    rid = post(asker, scheme, hours=3)["id"]
    before = state(ledger, scheme, asker.address, other.address)

    not_party = other.write(
        "POST", f"/v1/members/{other.address}/timebank/requests/{rid}/confirm", {}
    )
    assert not_party.status_code == 404
    assert not_party.json()["error"]["code"] == "not_found"
    for_someone_else = other.write(
        "POST", f"/v1/members/{asker.address}/timebank/requests/{rid}/cancel", {}
    )
    assert for_someone_else.status_code == 403
    own = asker.client.post(
        f"/v1/members/{asker.address}/timebank/requests/{rid}/accept",
        json={},
        headers=asker.headers,
    )
    assert own.status_code in (403, 409), own.text  # refused by the contract before signing
    too_much = asker.client.post(
        f"/v1/members/{asker.address}/timebank/requests",
        json={"scheme": scheme.code, "kind": "shopping", "hours": 4, "needs": "买菜"},
        headers=asker.headers,
    )
    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    missing = other.get("/v1/timebank/requests/99999999")
    assert missing.status_code == 404
    assert state(ledger, scheme, asker.address, other.address) == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"hours": 0}, "validation_error"),
        ({"hours": 1001}, "validation_error"),
        ({"needs": ""}, "validation_error"),
        ({"needs": "x" * 501}, "validation_error"),
        ({"kind": "juggling"}, "unknown_name"),
        ({"deadline": "not a time"}, "validation_error"),
    ],
)
def test_bad_posts_are_refused_before_anything_is_sent(
    client: TestClient, ledger: Ledger, scheme: Scheme, change: dict[str, Any], code: str
) -> None:
    asker = member_holding(ledger, client, scheme.id)
    before = ledger.timebank_contract.request_count()
    body = {"scheme": scheme.code, "kind": "cleaning", "hours": 1, "needs": "打扫", **change}
    answer = asker.client.post(
        f"/v1/members/{asker.address}/timebank/requests", json=body, headers=asker.headers
    )
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["error"]["code"] == code
    assert ledger.timebank_contract.request_count() == before


def test_the_same_request_again_while_it_is_open_is_named_not_created(
    client: TestClient, ledger: Ledger, scheme: Scheme
) -> None:
    """A second post of the same details (a double tap, or a retry without the first's key)
    answers the open request already posted: 200 and created false, never 201 for a request
    that was not made; other needs make a new one."""
    asker = member_holding(ledger, client, scheme.id, 4)
    first = post(asker, scheme, needs="换灯泡")
    assert first["created"] is True
    count = ledger.timebank_contract.request_count()
    body = {"scheme": scheme.code, "kind": "cleaning", "hours": 2, "needs": "换灯泡",
            "address": ADDRESS}  # fmt: skip
    again = asker.write("POST", f"/v1/members/{asker.address}/timebank/requests", body)
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["created"]) == (first["id"], False)
    assert ledger.timebank_contract.request_count() == count
    other = post(asker, scheme, needs="换两个灯泡")
    assert other["created"] is True and other["id"] == count + 1


def test_kinds_are_public(client: TestClient) -> None:
    kinds = client.get("/v1/timebank/kinds").json()
    assert "cleaning" in [k["name"] for k in kinds["kinds"]]
    assert kinds["dispute_reasons"]
