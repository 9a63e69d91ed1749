"""A volunteer's service records and certificates through the API: records with who may read
their details (三方可见) and the reads so far; the details only for the three parties; a
certificate signed on the certifier's own device, downloaded by the member, verified by anyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient

from ledger.ledger import Ledger
from ledger.values import CST
from tests.api.conftest import Session, sign_in
from tests.earning_helpers import Earning, earn, shared_scheme, two_hours_ago
from tests.factories import Member, new_member


@pytest.fixture(scope="module")
def e(ledger: Ledger) -> Earning:
    return shared_scheme(ledger, "duration")


@pytest.fixture(scope="module")
def employer() -> Any:
    return Account.create()


@pytest.fixture(scope="module")
def volunteer(ledger: Ledger, e: Earning, employer: Any) -> tuple[Member, int]:
    m = new_member(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, m.address, start, end, employer=employer.address)
    return m, record_id


def test_a_volunteer_lists_their_records_with_who_may_read_the_details(
    client: TestClient, ledger: Ledger, e: Earning, volunteer: tuple[Member, int], employer: Any
) -> None:
    m, record_id = volunteer
    me = sign_in(client, m.account)
    answer = me.get(f"/v1/members/{m.address}/records")
    assert answer.status_code == 200, answer.text
    (record,) = answer.json()
    assert (record["id"], record["volunteer"], record["status"]) == (
        record_id,
        m.address,
        "approved",
    )
    assert record["details"] is None  # the list carries no personal data
    visible = record["visible_to"]
    assert (visible["volunteer"], visible["employer"], visible["issuer"]) == (
        m.address,
        employer.address,
        e.issuer.address,
    )
    assert visible["community_roles"] == ["reviewer", "organiser"]
    assert me.get(f"/v1/members/{m.address}/records", params={"status": "pending"}).json() == []


def test_the_details_are_shown_to_the_three_parties_only_and_each_read_is_logged(
    client: TestClient, ledger: Ledger, e: Earning, volunteer: tuple[Member, int], employer: Any
) -> None:
    m, record_id = volunteer
    url = f"/v1/records/{record_id}"
    own = sign_in(client, m.account).get(url)
    assert own.status_code == 200, own.text
    assert (own.json()["capacity"], own.json()["details"]["content"]) == (
        "volunteer",
        "陪老人就医、代购药品",
    )
    by_employer = sign_in(client, employer).get(url).json()
    assert by_employer["capacity"] == "employer" and by_employer["details"]
    by_reviewer = sign_in(client, e.reviewer).get(url).json()
    assert by_reviewer["capacity"] == "reviewer"
    auditor = sign_in(client, ledger.operator("auditor")).get(url)
    assert auditor.status_code == 200
    assert (auditor.json()["details"], auditor.json()["capacity"]) == (None, None)
    stranger = sign_in(client, new_member(ledger).account).get(url)
    assert stranger.status_code == 403
    assert "陪老人" not in stranger.text and m.address not in stranger.text
    reads = auditor.json()["visible_to"]["reads"]
    assert [r["capacity"] for r in reads][-3:] == ["volunteer", "employer", "reviewer"]
    assert sign_in(client, m.account).get("/v1/records/999999999").status_code == 404
    assert sign_in(client, m.account).get("/v1/records/0").status_code == 422


def test_another_member_cannot_list_a_volunteers_records(
    client: TestClient, ledger: Ledger, volunteer: tuple[Member, int]
) -> None:
    m, _ = volunteer
    other = sign_in(client, new_member(ledger).account)
    answer = other.get(f"/v1/members/{m.address}/records")
    assert answer.status_code == 403
    assert other.get(f"/v1/members/{m.address}/records", params={"last": 0}).status_code == 422


# --- certificates -------------------------------------------------------------------------------


def certify(certifier: Session, member: str, day: str) -> dict[str, Any]:
    """The certifier's two calls: the draft to sign (428), then its signature; a certificate
    already made is named at once (200, created false)."""
    body = {"member": member, "from": day, "to": day}
    first = certifier.client.post("/v1/certificates", json=body, headers=certifier.headers)
    if first.status_code == 200:
        made: dict[str, Any] = first.json()
        assert made["created"] is False, made
        return made
    assert first.status_code == 428, first.text
    details = first.json()["error"]["details"]
    assert details["document"]["member"] == member
    assert certifier.account is not None
    signed = certifier.account.sign_message(
        encode_defunct(primitive=bytes.fromhex(details["digest"][2:]))
    )
    second = certifier.client.post(
        "/v1/certificates",
        json={
            **body,
            "issued_at": details["issued_at"],
            "block": details["block"],
            "signature": "0x" + bytes(signed.signature).hex(),
        },
        headers=certifier.headers,
    )
    assert second.status_code == 201, second.text
    created: dict[str, Any] = second.json()
    return created


def service_day(ledger: Ledger) -> str:
    start, _ = two_hours_ago(ledger)
    return datetime.fromtimestamp(start, CST).date().isoformat()


def test_a_registrar_certifies_a_volunteer_who_downloads_it_and_anyone_verifies_it(
    client: TestClient, ledger: Ledger, volunteer: tuple[Member, int]
) -> None:
    m, _ = volunteer
    registrar = sign_in(client, ledger.operator("registrar"))
    day = service_day(ledger)
    certificate = certify(registrar, m.address, day)
    assert (certificate["member"], certificate["records"], certificate["created"]) == (
        m.address,
        1,
        True,
    )
    code = certificate["code"]
    assert certify(registrar, m.address, day)["code"] == code  # asked again: the same one

    me = sign_in(client, m.account)
    assert [c["code"] for c in me.get(f"/v1/members/{m.address}/certificates").json()] == [code]
    document = me.get(f"/v1/certificates/{code}").json()
    assert (document["code"], document["issuer"]) == (code, registrar.address)
    page = me.get(f"/v1/certificates/{code}/html")
    assert page.status_code == 200 and code in page.text

    by_code = client.get(f"/v1/certificates/{code.lower()}/verification")
    assert by_code.status_code == 200, by_code.text
    assert (by_code.json()["valid"], by_code.json()["signer"]) == (True, registrar.address)
    by_document = client.post("/v1/certificates/verification", json={"document": document})
    assert by_document.json()["valid"] is True
    by_page = client.post("/v1/certificates/verification", json={"html": page.text})
    assert by_page.json()["valid"] is True
    forged = {**document, "totals": {**document["totals"], "hours": "99.00"}}
    refused = client.post("/v1/certificates/verification", json={"document": forged}).json()
    assert refused["valid"] is False and refused["problems"]

    stranger = sign_in(client, new_member(ledger).account)
    assert stranger.get(f"/v1/certificates/{code}").status_code == 403
    assert stranger.get(f"/v1/certificates/{code}/html").status_code == 403


def test_certificates_refuse_bad_codes_signatures_and_certifiers(
    client: TestClient, ledger: Ledger, e: Earning
) -> None:
    m = new_member(ledger)
    earn(ledger, e, m.address, *two_hours_ago(ledger))
    assert client.get("/v1/certificates/VPL-AAAA-AAAA-AAAA-AAAA/verification").status_code == 404
    assert client.get("/v1/certificates/hello/verification").status_code == 422
    assert client.post("/v1/certificates/verification", json={}).status_code == 422
    not_json = client.post("/v1/certificates/verification", json={"html": "<html></html>"})
    assert not_json.status_code == 422

    day = service_day(ledger)
    other_day = (datetime.fromisoformat(day) - timedelta(days=400)).date().isoformat()
    registrar = sign_in(client, ledger.operator("registrar"))
    nothing = registrar.client.post(
        "/v1/certificates",
        json={"member": m.address, "from": other_day, "to": other_day},
        headers=registrar.headers,
    )
    assert nothing.status_code == 404
    for period in (("2026-02-01", "2026-01-01"), ("9999-12-31", "9999-12-31")):
        bad = registrar.client.post(
            "/v1/certificates",
            json={"member": m.address, "from": period[0], "to": period[1]},
            headers=registrar.headers,
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["code"] == "invalid_input"
    member = sign_in(client, m.account)
    self_certified = member.client.post(
        "/v1/certificates",
        json={"member": m.address, "from": day, "to": day},
        headers=member.headers,
    )
    assert self_certified.status_code == 403
    assert self_certified.json()["error"]["code"] == "access_denied"
    first = registrar.client.post(
        "/v1/certificates",
        json={"member": m.address, "from": day, "to": day},
        headers=registrar.headers,
    )
    assert first.status_code == 428, first.text
    details = first.json()["error"]["details"]
    wrong = Account.create().sign_message(
        encode_defunct(primitive=bytes.fromhex(details["digest"][2:]))
    )
    refused = registrar.client.post(
        "/v1/certificates",
        json={
            "member": m.address,
            "from": day,
            "to": day,
            "issued_at": details["issued_at"],
            "block": details["block"],
            "signature": "0x" + bytes(wrong.signature).hex(),
        },
        headers=registrar.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "signature_mismatch"
    assert member.get(f"/v1/members/{m.address}/certificates").json() == []
