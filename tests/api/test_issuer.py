"""The issuers' console over HTTP: activities, records and their review, batch uploads as jobs,
the merchant's catalogue, members and proxies, rate proposals and the admin log. Each write: its
happy path, and bad input or a wrong role answered with a clear code and nothing changed."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import select

from ledger.earning.uploads import Uploads
from ledger.ledger import Ledger
from ledger.store import session, utcnow
from ledger.store.uploads import BatchUpload
from tests.api import bodies
from tests.api.conftest import Session, pin_sign_in, sign_in
from tests.batch_helpers import batch_row, csv_text
from tests.catalogue_helpers import Shop, holder, list_item
from tests.earning_helpers import (
    Earning,
    as_typed,
    earning_scheme,
    funded_member,
    grant,
    now,
)
from tests.factories import new_member, person

PIN = "736251"
HOUR = 3600


@pytest.fixture(scope="module")
def e(ledger: Ledger) -> Earning:
    return earning_scheme(ledger)


@pytest.fixture(scope="module")
def organiser(client: TestClient, e: Earning) -> Session:
    return sign_in(client, e.organiser)


@pytest.fixture(scope="module")
def reviewer(client: TestClient, e: Earning) -> Session:
    return sign_in(client, e.reviewer)


def stranger(client: TestClient, ledger: Ledger) -> Session:
    return sign_in(client, new_member(ledger).account)


def error(answer: Any) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()["error"]
    return body


# --- activities ----------------------------------------------------------------------------------


def activity_body(e: Earning, ledger: Ledger, **changes: Any) -> dict[str, Any]:
    return bodies.activity(ledger, e.scheme.code, **changes)


def test_an_organiser_publishes_an_activity_assigns_a_member_and_cancels_it(
    client: TestClient, ledger: Ledger, e: Earning, organiser: Session
) -> None:
    created = organiser.write("POST", "/v1/issuer/activities", activity_body(e, ledger))
    assert created.status_code == 201, created.text
    activity = created.json()
    assert (activity["scheme_id"], activity["capacity"], activity["organiser"]) == (
        e.id,
        3,
        organiser.address,
    )
    url = f"/v1/issuer/activities/{activity['id']}"
    assert organiser.get(url).json()["details"]["place"] == "百瑞景社区"
    member = new_member(ledger)
    assigned = organiser.write("POST", f"{url}/participants", {"member": member.address})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["enrolled"] == 1
    listed = organiser.get("/v1/issuer/activities", params={"scheme": e.scheme.code, "last": 5})
    assert activity["id"] in [a["id"] for a in listed.json()]
    bad = organiser.write("POST", f"{url}/cancel", {"reason": 42})
    assert bad.status_code == 422 and error(bad)["code"] == "invalid_input"
    assert not ledger.activities.activity(activity["id"]).cancelled
    cancelled = organiser.write("POST", f"{url}/cancel", {"reason": 2})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True


def test_an_activity_with_bad_times_or_from_a_stranger_is_refused_and_nothing_is_published(
    client: TestClient, ledger: Ledger, e: Earning, organiser: Session
) -> None:
    count = ledger.activities.count()
    t = now(ledger)
    backwards = organiser.write(
        "POST", "/v1/issuer/activities", activity_body(e, ledger, start=t, end=t - HOUR)
    )
    assert backwards.status_code == 422 and error(backwards)["code"] == "invalid_input"
    missing = organiser.write("POST", "/v1/issuer/activities", {"scheme": e.scheme.code})
    assert missing.status_code == 422
    names = {f["field"] for f in error(missing)["details"]["fields"]}
    assert {"body.name", "body.place", "body.start", "body.end"} <= names
    other = stranger(client, ledger)
    refused = other.write("POST", "/v1/issuer/activities", activity_body(e, ledger))
    assert refused.status_code == 403 and error(refused)["code"] == "access_denied"
    assert ledger.activities.count() == count


# --- service records -----------------------------------------------------------------------------


def record_body(e: Earning, ledger: Ledger, volunteer: str, **changes: Any) -> dict[str, Any]:
    return bodies.record(ledger, e.scheme.code, volunteer, **changes)


def submitted_record(ledger: Ledger, e: Earning, organiser: Session) -> dict[str, Any]:
    """A record the organiser submitted for a fresh volunteer, as the API answered it."""
    volunteer = funded_member(ledger)
    answer = organiser.write(
        "POST", "/v1/issuer/records", record_body(e, ledger, volunteer.address)
    )
    assert answer.status_code == 201, answer.text
    record: dict[str, Any] = answer.json()
    return record


def test_a_record_is_submitted_listed_for_review_and_approved_with_a_grade(
    client: TestClient, ledger: Ledger, e: Earning, organiser: Session, reviewer: Session
) -> None:
    record = submitted_record(ledger, e, organiser)
    volunteer = record["volunteer"]
    assert record["status"] == "pending"
    pending = reviewer.get("/v1/issuer/records", params={"scheme": e.scheme.code, "last": 20})
    assert record["id"] in [r["id"] for r in pending.json()]
    url = f"/v1/issuer/records/{record['id']}"
    bad = reviewer.write("POST", f"{url}/approve", {"grade": "Z"})
    assert bad.status_code == 422 and error(bad)["code"] == "invalid_input"
    assert ledger.records.record(record["id"]).status.label == "pending"
    approved = reviewer.write("POST", f"{url}/approve", {"grade": "A"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["grade"] == "A"
    assert ledger.points.balance_of(volunteer, e.id) == approved.json()["points"] > 0
    assert reviewer.get(url).json()["details"]["place"] == "百瑞景社区"


def test_a_reviewer_rejects_with_a_reason_and_never_reviews_their_own_record(
    client: TestClient, ledger: Ledger, e: Earning, organiser: Session
) -> None:
    record = submitted_record(ledger, e, organiser)
    url = f"/v1/issuer/records/{record['id']}"
    # the organiser also reviews in this scheme, but not a record they submitted
    grant(ledger, e.scheme, "reviewer", organiser.address, issuer=e.issuer)
    own = organiser.write("POST", f"{url}/reject", {"reason": 1})
    assert own.status_code == 403 and error(own)["code"] == "access_denied"
    assert "four eyes" in error(own)["message"]
    other = sign_in(client, e.reviewers[1])
    bad = other.write("POST", f"{url}/reject", {"reason": 77})
    assert bad.status_code == 422
    assert ledger.records.record(record["id"]).status.label == "pending"
    rejected = other.write("POST", f"{url}/reject", {"reason": 1})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reject_reason"] == "insufficient or unclear evidence"


def test_a_non_reviewer_is_refused_whether_or_not_the_record_exists(
    client: TestClient, ledger: Ledger, e: Earning, organiser: Session, reviewer: Session
) -> None:
    record = submitted_record(ledger, e, organiser)
    other = stranger(client, ledger)
    for record_id in (record["id"], 2**62):
        url = f"/v1/issuer/records/{record_id}"
        for answer in (
            other.write("POST", f"{url}/approve", {"grade": "A"}),
            other.write("POST", f"{url}/reject", {"reason": 1}),
        ):
            assert answer.status_code == 403, answer.text
            assert error(answer)["code"] == "access_denied"
    assert ledger.records.record(record["id"]).status.label == "pending"
    # a reviewer is told that the record does not exist
    missing = reviewer.write("POST", f"/v1/issuer/records/{2**62}/approve", {"grade": "A"})
    assert error(missing)["details"]["error"] == "RecordsUnknown", missing.text


def test_a_stranger_may_not_list_a_schemes_records(
    client: TestClient, ledger: Ledger, e: Earning
) -> None:
    answer = stranger(client, ledger).get("/v1/issuer/records", params={"scheme": e.scheme.code})
    assert answer.status_code == 403 and error(answer)["code"] == "access_denied"
    unknown = stranger(client, ledger).get("/v1/issuer/records", params={"status": "x"})
    assert unknown.status_code == 422


# --- batch uploads -------------------------------------------------------------------------------


def hour_row(key: str, member: str, start: int) -> list[str]:
    """An upload row of an hour's service from `start`, times written as people type them."""
    return batch_row(key, member, as_typed(start), as_typed(start + HOUR))


@pytest.fixture(scope="module")
def console(client: TestClient, ledger: Ledger, e: Earning) -> tuple[Session, Session]:
    """Custodial console wallets of an organiser and a reviewer of the scheme."""
    wallets = client.app.state.services.wallets  # type: ignore[attr-defined]
    staff = []
    for role in ("organiser", "reviewer"):
        wallet = wallets.create(pin=PIN, created_by=ledger.operator("registrar").address)
        grant(ledger, e.scheme, role, wallet.address, issuer=e.issuer)
        staff.append(pin_sign_in(client, wallet.address, PIN))
    return staff[0], staff[1]


def uploads(client: TestClient) -> Uploads:
    found: Uploads = client.app.state.services.uploads  # type: ignore[attr-defined]
    return found


def test_a_batch_upload_is_planned_submitted_then_paid_by_a_reviewer_with_a_report(
    client: TestClient, ledger: Ledger, e: Earning, console: tuple[Session, Session]
) -> None:
    organiser, reviewer = console
    members = [new_member(ledger).address for _ in range(3)]
    start = now(ledger) - 2 * 86400
    rows = [hour_row(f"API-{secrets.token_hex(4)}", m, start) for m in members]
    body = {
        "scheme": e.scheme.code,
        "reviewer": reviewer.address,
        "csv": csv_text(rows),
        "chunk_size": 2,
    }
    created = organiser.write("POST", "/v1/issuer/batches", body)
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    job = uploads(client).wait(job_id, 60)
    assert job.state == "awaiting_review", job.error_message
    seen = organiser.get(f"/v1/issuer/batches/{job_id}").json()
    assert (seen["chunks_total"], seen["chunks_sent"], len(seen["tx_hashes"])) == (2, 2, 2)
    assert all(ledger.points.balance_of(m, e.id) == 0 for m in members)
    not_reviewer = organiser.write("POST", f"/v1/issuer/batches/{job_id}/approve")
    assert not_reviewer.status_code == 403
    paid = reviewer.write("POST", f"/v1/issuer/batches/{job_id}/approve")
    assert paid.status_code == 202, paid.text
    job = uploads(client).wait(job_id, 60)
    assert job.state == "done", job.error_message
    report = reviewer.get(f"/v1/issuer/batches/{job_id}/report").json()
    assert (report["rows"], report["paid_records"], len(report["batches"])) == (3, 3, 2)
    assert report["bad_rows"] == []
    assert [ledger.points.balance_of(m, e.id) for m in members] == [10, 10, 10]
    status = reviewer.get(f"/v1/issuer/batches/{job_id}").json()
    assert (status["state"], status["rows_done"], len(status["tx_hashes"])) == ("done", 3, 4)
    again = reviewer.write("POST", f"/v1/issuer/batches/{job_id}/approve")
    assert again.status_code == 409 and error(again)["code"] == "status_conflict"
    listed = organiser.get("/v1/issuer/batches", params={"scheme": e.scheme.code}).json()
    assert job_id in [j["id"] for j in listed]


def test_a_batch_with_bad_rows_ends_invalid_listing_every_line_and_pays_nothing(
    client: TestClient, ledger: Ledger, e: Earning, console: tuple[Session, Session]
) -> None:
    organiser, reviewer = console
    member = new_member(ledger).address
    start = now(ledger) - 2 * 86400
    rows = [
        hour_row("API-ok-" + secrets.token_hex(4), member, start),
        hour_row("API-bad-" + secrets.token_hex(4), "0x1234", start),
        hour_row("API-bad2-" + secrets.token_hex(4), member, start + 10 * 86400),
    ]
    body = {"scheme": e.scheme.code, "reviewer": reviewer.address, "csv": csv_text(rows)}
    created = organiser.write("POST", "/v1/issuer/batches", body)
    assert created.status_code == 202, created.text
    job = uploads(client).wait(created.json()["id"], 60)
    assert job.state == "invalid" and job.error_code == "invalid_rows"
    report = organiser.get(f"/v1/issuer/batches/{job.id}/report").json()
    assert [r["line"] for r in report["bad_rows"]] == [3, 4]
    assert ledger.points.balance_of(member, e.id) == 0
    assert organiser.get(f"/v1/issuer/batches/{job.id}").json()["chunks_sent"] == 0


def test_a_batch_needs_a_console_wallet_a_reviewer_and_a_bounded_file(
    client: TestClient,
    ledger: Ledger,
    e: Earning,
    organiser: Session,
    console: tuple[Session, Session],
) -> None:
    _, reviewer = console
    with session(ledger.engine) as db:
        before = len(list(db.exec(select(BatchUpload))))
    body = {"scheme": e.scheme.code, "reviewer": reviewer.address, "csv": csv_text([])}
    own_key = organiser.write("POST", "/v1/issuer/batches", body)
    assert own_key.status_code == 422 and error(own_key)["details"]["field"] == "X-Wallet-PIN"
    not_a_reviewer = console[0].write(
        "POST", "/v1/issuer/batches", {**body, "reviewer": new_member(ledger).address}
    )
    assert not_a_reviewer.status_code == 422
    too_big = console[0].write("POST", "/v1/issuer/batches", {**body, "csv": "x" * 5_000_001})
    assert too_big.status_code == 422 and error(too_big)["code"] == "validation_error"
    with session(ledger.engine) as db:
        assert len(list(db.exec(select(BatchUpload)))) == before


def test_a_job_cut_off_by_a_restart_is_interrupted_and_resumes_without_paying_twice(
    client: TestClient, ledger: Ledger, e: Earning, console: tuple[Session, Session]
) -> None:
    organiser, reviewer = console
    member = new_member(ledger).address
    rows = [hour_row("API-r-" + secrets.token_hex(4), member, now(ledger) - 2 * 86400)]
    job = uploads(client).create(
        scheme=e.id,
        organiser=organiser.address,
        reviewer=reviewer.address,
        file_name="cut.csv",
        csv_text=csv_text(rows),
    )
    with session(ledger.engine) as db:  # the process died while the organiser's step ran
        row = db.get(BatchUpload, job.id)
        assert row is not None
        row.state, row.updated_at = "submitting", utcnow() - timedelta(minutes=5)
        db.add(row)
    assert Uploads(ledger).mark_interrupted() >= 1
    seen = organiser.get(f"/v1/issuer/batches/{job.id}").json()
    assert (seen["state"], seen["phase"]) == ("interrupted", "submit")
    early = reviewer.write("POST", f"/v1/issuer/batches/{job.id}/approve")
    assert early.status_code == 409
    resumed = organiser.write("POST", f"/v1/issuer/batches/{job.id}/resume")
    assert resumed.status_code == 202, resumed.text
    assert uploads(client).wait(job.id or 0, 60).state == "awaiting_review"
    reviewer.write("POST", f"/v1/issuer/batches/{job.id}/approve")
    assert uploads(client).wait(job.id or 0, 60).state == "done"
    assert ledger.points.balance_of(member, e.id) == 10


# --- catalogue (merchants) -----------------------------------------------------------------------


def test_a_merchant_lists_updates_fulfils_and_delists(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    merchant = sign_in(client, shop.merchant)
    body = bodies.item(ledger, shop.scheme.code)
    bad = merchant.write("POST", "/v1/issuer/catalogue/items", {**body, "kind": "car"})
    assert bad.status_code == 422 and error(bad)["code"] == "invalid_input"
    listed = merchant.write("POST", "/v1/issuer/catalogue/items", body)
    assert listed.status_code == 201 and listed.json()["created"] is True, listed.text
    item_id = listed.json()["id"]
    again = merchant.write("POST", "/v1/issuer/catalogue/items", body)  # the item listed: named
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["created"]) == (item_id, False)
    updated = merchant.write("PUT", f"/v1/issuer/catalogue/items/{item_id}", {"price": 40})
    assert updated.status_code == 200 and updated.json()["price"] == 40
    member = holder(ledger, shop, 100)
    order = ledger.catalogue.redeem(
        signer=member.account, member=member.address, item_id=item_id, quantity=1, unit_price=40
    )
    orders = merchant.get("/v1/issuer/catalogue/orders", params={"item": item_id}).json()
    assert [o["id"] for o in orders] == [order.order.id]
    fulfilled = merchant.write(
        "POST", f"/v1/issuer/catalogue/orders/{order.order.id}/fulfil", {"code": "T-0001"}
    )
    assert fulfilled.status_code == 200 and fulfilled.json()["status"] == "fulfilled"
    assert ledger.catalogue.fulfilment_matches(order.order.id, "T-0001")
    delisted = merchant.write("POST", f"/v1/issuer/catalogue/items/{item_id}/delist")
    assert delisted.status_code == 200 and delisted.json()["delisted"] is True


def test_a_stranger_cannot_list_or_change_items(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    item = list_item(ledger, shop, price=10)
    other = stranger(client, ledger)
    changed = other.write("PUT", f"/v1/issuer/catalogue/items/{item.item.id}", {"price": 1})
    assert changed.status_code == 403
    assert ledger.catalogue.item(item.item.id).item.price == 10


def test_only_merchants_and_issuers_read_orders(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    item = list_item(ledger, shop, price=10)
    member = holder(ledger, shop, 100)
    order = ledger.catalogue.redeem(
        signer=member.account,
        member=member.address,
        item_id=item.item.id,
        quantity=1,
        unit_price=10,
    )
    for caller in (stranger(client, ledger), sign_in(client, member.account)):
        for params in ({}, {"item": item.item.id}, {"item": 2**62}):
            answer = caller.get("/v1/issuer/catalogue/orders", params=params)
            assert answer.status_code == 403, (params, answer.text)
            assert error(answer)["code"] == "access_denied"
    merchant = sign_in(client, shop.merchant)
    mine = merchant.get("/v1/issuer/catalogue/orders").json()
    assert order.order.id in [o["id"] for o in mine]
    issuer = sign_in(client, shop.issuer)
    of_item = issuer.get("/v1/issuer/catalogue/orders", params={"item": item.item.id}).json()
    assert [o["id"] for o in of_item] == [order.order.id]


# --- members -------------------------------------------------------------------------------------


def test_a_registrar_registers_a_member_shown_masked_freezes_and_records_a_proxy(
    client: TestClient, ledger: Ledger
) -> None:
    registrar = sign_in(client, ledger.operator("registrar"))
    who = person()
    address = Account.create().address
    body = {"address": address, "name": who.name, "id_number": who.id_number, "phone": who.phone}
    made = registrar.write("POST", "/v1/issuer/members", body)
    assert made.status_code == 201, made.text
    assert who.id_number not in made.text and who.name not in made.text
    shown = made.json()
    assert shown["status"] == "active" and shown["personal"]["masked"] is True
    assert "*" in shown["personal"]["id_number"]
    again = registrar.write("POST", "/v1/issuer/members", body)
    assert again.status_code == 200 and again.json()["created"] is False  # nothing new
    url = f"/v1/issuer/members/{address}"
    frozen = registrar.write("POST", f"{url}/freeze", {"reason": 3})
    assert frozen.status_code == 200 and frozen.json()["status"] == "frozen"
    bad = registrar.write("POST", f"{url}/unfreeze", {"reason": 0})
    assert bad.status_code == 422
    assert registrar.get(url).json()["status"] == "frozen"
    assert registrar.write("POST", f"{url}/unfreeze", {"reason": 3}).json()["status"] == "active"
    proxy = Account.create().address
    consent = base64.b64encode(b"consent " + secrets.token_bytes(8)).decode()
    granted = registrar.write("POST", f"{url}/proxies", {"proxy": proxy, "consent_base64": consent})
    assert granted.status_code == 201, granted.text
    assert granted.json()["active"] and ledger.members.is_proxy(address, proxy)
    revoked = registrar.write("POST", f"{url}/proxies/{proxy}/revoke")
    assert revoked.status_code == 200 and not revoked.json()["active"]
    log = registrar.get("/v1/admin/actions", params={"action": "member.freeze", "limit": 5})
    assert log.status_code == 200
    assert any(a["subject"] == address for a in log.json()["items"])
    assert who.id_number not in log.text


def test_member_registration_refuses_strangers_and_bad_data_and_writes_nothing(
    client: TestClient, ledger: Ledger
) -> None:
    who = person()
    address = Account.create().address
    body = {"address": address, "name": who.name, "id_number": who.id_number}
    refused = stranger(client, ledger).write("POST", "/v1/issuer/members", body)
    assert refused.status_code == 403
    registrar = sign_in(client, ledger.operator("registrar"))
    bad = registrar.write("POST", "/v1/issuer/members", {**body, "id_number": "123"})
    assert bad.status_code == 422 and error(bad)["code"] == "invalid_identity"
    assert "123" not in str(error(bad)["details"])
    no_pin = registrar.write(
        "POST", "/v1/issuer/members", {**body, "address": None, "create_wallet_pin": "123456"}
    )
    assert no_pin.status_code == 422 and error(no_pin)["details"]["field"] == "create_wallet_pin"
    assert not ledger.member(address).registered
    reading = stranger(client, ledger).get(f"/v1/issuer/members/{address}")
    assert reading.status_code == 403
    assert stranger(client, ledger).get("/v1/admin/actions").status_code == 403


# --- rate proposals ------------------------------------------------------------------------------


def test_a_council_member_proposes_a_unit_value_and_another_approves(
    client: TestClient, ledger: Ledger, e: Earning
) -> None:
    first = sign_in(client, ledger.operator("council-1"))
    body = {"scheme": e.scheme.code, "unit_value": 1500}
    count = ledger.council.proposal_count()
    refused = stranger(client, ledger).write("POST", "/v1/issuer/proposals/unit-value", body)
    assert refused.status_code == 403
    bad = first.write("POST", "/v1/issuer/proposals/unit-value", {**body, "unit_value": -1})
    assert bad.status_code == 422 and error(bad)["code"] == "validation_error"
    assert ledger.council.proposal_count() == count
    proposed = first.write("POST", "/v1/issuer/proposals/unit-value", body)
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()
    assert (proposal["state"], proposal["approvals"]) == ("open", 1)
    listed = first.get("/v1/issuer/proposals").json()
    assert proposal["id"] in [p["id"] for p in listed]
    second = sign_in(client, ledger.operator("council-2"))
    url = f"/v1/issuer/proposals/{proposal['id']}"
    early = second.write("POST", f"{url}/execute")
    assert early.status_code == 409
    approved = second.write("POST", f"{url}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    executed = second.write("POST", f"{url}/execute")
    assert executed.status_code == 200, executed.text
    assert executed.json()["state"] == "executed"
