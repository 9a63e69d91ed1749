"""Auditors' queries over HTTP: supply reconciliation, clearing positions and statements,
refused attempts; only for holders of the auditor role, with bounded ranges."""

from __future__ import annotations

import csv
import io

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import text

from ledger.audit.anchors.anchoring import Anchors
from ledger.ledger import Ledger
from tests.api.conftest import Session, sign_in
from tests.catalogue_helpers import holder as shop_holder
from tests.catalogue_helpers import list_item, new_shop
from tests.earning_helpers import earn, earning_scheme, two_hours_ago
from tests.exchange_helpers import exchange_scheme, exchanged, holder
from tests.factories import new_member


@pytest.fixture(scope="module")
def auditor(client: TestClient, ledger: Ledger) -> Session:
    return sign_in(client, ledger.operator("auditor"))


@pytest.fixture(scope="module")
def stranger(client: TestClient) -> Session:
    return sign_in(client, Account.create())


def test_supply_reconciles_issued_minted_and_burned_after_an_exchange(
    ledger: Ledger, auditor: Session, stranger: Session
) -> None:
    a, b, _, _ = exchanged(ledger)
    got_a = auditor.get(f"/v1/audit/schemes/{a.code}/supply").json()
    got_b = auditor.get(f"/v1/audit/schemes/{b.code}/supply").json()
    assert (got_a["issued"], got_a["burned"], got_a["total_supply"]) == (300, 100, 200)
    assert (got_b["minted"], got_b["total_supply"]) == (200, 200)
    assert got_a["balanced"] and got_b["balanced"]
    positions = {p["scheme"]: p["net"] for p in auditor.get("/v1/audit/clearing/positions").json()}
    assert positions[a.code] == -positions[b.code] != 0
    denied = stranger.get(f"/v1/audit/schemes/{a.code}/supply")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "access_denied"
    assert auditor.get("/v1/audit/schemes/NOSUCH/supply").status_code == 404


def test_a_statement_over_a_bounded_range_and_huge_ranges_refused(
    ledger: Ledger, auditor: Session
) -> None:
    head = ledger.w3.eth.block_number
    st = auditor.get(f"/v1/audit/clearing/statement?from_block={max(head - 200, 0)}")
    assert st.status_code == 200, st.text
    assert st.json()["to_block"] >= head
    assert sum(p["net"] for p in st.json()["positions"]) == 0
    huge = auditor.get("/v1/audit/clearing/statement?from_block=0&to_block=100000000")
    assert huge.status_code in (200, 422)
    if huge.status_code == 422:  # only when the chain really is that long
        assert "blocks" in huge.json()["error"]["message"]
    backwards = auditor.get(f"/v1/audit/clearing/statement?from_block={head}&to_block=1")
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "invalid_input"
    bad = auditor.get("/v1/audit/clearing/statement?period=week")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "query.period"


def test_refused_attempts_are_listed_for_auditors(
    ledger: Ledger, client: TestClient, auditor: Session, stranger: Session
) -> None:
    shop = new_shop(ledger)
    member = shop_holder(ledger, shop, 10, funded=False)
    item = list_item(ledger, shop, price=50)
    me = sign_in(client, member.account)
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 50}
    refused = me.write("POST", f"/v1/members/{member.address}/orders", body)
    assert refused.json()["error"]["code"] == "insufficient_balance"
    rows = auditor.get("/v1/audit/refusals?last=500").json()
    mine = [r for r in rows if r["actor"] == member.address]
    assert [(r["action"], r["code"]) for r in mine] == [("redeem", "insufficient_balance")]
    assert stranger.get("/v1/audit/refusals").status_code == 403


def test_reconciliation_at_the_indexed_block_for_auditors_only(
    client: TestClient, ledger: Ledger, auditor: Session, stranger: Session
) -> None:
    a = exchange_scheme(ledger)
    holder(ledger, a, 70)
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]
    got = auditor.get(f"/v1/audit/schemes/{a.code}/reconciliation")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["balanced"] and body["findings"] == []
    assert body["chain"]["issued"] == body["index"]["created"] == 70
    ahead = auditor.get(f"/v1/audit/schemes/{a.code}/reconciliation?block={body['block'] + 10**6}")
    assert ahead.status_code == 409
    assert ahead.json()["error"]["code"] == "index_behind"
    assert stranger.get(f"/v1/audit/schemes/{a.code}/reconciliation").status_code == 403


def test_reconciliation_before_the_deployment_is_refused_naming_its_block(
    client: TestClient, ledger: Ledger, auditor: Session
) -> None:
    a = exchange_scheme(ledger)
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]
    first = ledger.manifest.contracts["PointsLedger"].block
    for block in (1, first - 1):
        got = auditor.get(f"/v1/audit/schemes/{a.code}/reconciliation?block={block}")
        assert got.status_code == 422, got.text
        error = got.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["message"] == (
            f"block {block} is before the deployment: the points ledger was deployed at block "
            f"{first}; ask about block {first} or later"
        )
    at_start = auditor.get(f"/v1/audit/schemes/{a.code}/reconciliation?block={first}")
    assert at_start.status_code == 200 and at_start.json()["balanced"]


def test_every_audit_answer_exports_as_csv(
    client: TestClient, ledger: Ledger, auditor: Session
) -> None:
    a = exchange_scheme(ledger)
    member = holder(ledger, a, 41)
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]
    got = auditor.get(f"/v1/audit/schemes/{a.code}/reconciliation?format=csv")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    assert f'filename="reconciliation-{a.code}-' in got.headers["content-disposition"]
    [row] = list(csv.DictReader(io.StringIO(got.text.lstrip("\ufeff"))))
    assert (row["scheme"], row["chain.issued"], row["index.created"]) == (a.code, "41", "41")
    events = auditor.get(f"/v1/audit/events?address={member.address}&format=csv")
    assert events.status_code == 200
    rows = list(csv.DictReader(io.StringIO(events.text.lstrip("\ufeff"))))
    assert rows and {"tx_hash", "block", "event"} <= set(rows[0])
    assert any(r["event"] == "PointsIssued" and r["args.amount"] == "41" for r in rows)
    for path in (
        f"/v1/audit/schemes/{a.code}/supply",
        "/v1/audit/clearing/positions",
        "/v1/audit/clearing/settlements",
        "/v1/audit/refusals",
    ):
        answer = auditor.get(f"{path}?format=csv")
        assert answer.status_code == 200, (path, answer.text)
        assert answer.text.lstrip("\ufeff").splitlines()[0], path
    bad = auditor.get(f"/v1/audit/schemes/{a.code}/supply?format=xml")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "query.format"


def test_trace_a_record_and_its_transaction_over_http(
    client: TestClient, ledger: Ledger, auditor: Session, stranger: Session
) -> None:
    e = earning_scheme(ledger, quota=300)
    member = new_member(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, member.address, start, end)
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]

    got = auditor.get(f"/v1/audit/records/{record_id}/trace")
    assert got.status_code == 200, got.text
    t = got.json()
    assert (t["status"], t["reviewer"], t["submitter"]) == (
        "approved", e.reviewer.address, e.organiser.address,
    )  # fmt: skip
    assert [s["event"] for s in t["events"]] == ["RecordSubmitted", "RecordApproved"]
    assert t["store"]["matches"] and t["problems"] == []
    tx = t["issued"][0]["tx_hash"]
    by_ref = auditor.get(f"/v1/audit/events?ref=record:{record_id}").json()["entries"]
    assert [x["event"] for x in by_ref] == ["RecordApproved", "RecordSubmitted"]
    bad_ref = auditor.get("/v1/audit/events?ref=records:1")
    assert bad_ref.status_code == 422 and "kinds:" in bad_ref.json()["error"]["message"]
    moved = auditor.get(f"/v1/audit/trace?tx_hash={tx}").json()
    assert moved["movements"][0]["record"]["record_id"] == record_id
    sheet = auditor.get(f"/v1/audit/records/{record_id}/trace?format=csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    assert [r["step"] for r in rows] == ["RecordSubmitted", "RecordApproved", "points issued"]
    verified = auditor.get(f"/v1/audit/records/{record_id}/verification").json()
    assert verified == {"found": True, "matches": True, "record_key": verified["record_key"],
                        "problems": []}  # fmt: skip

    quota_answer = auditor.get(f"/v1/audit/schemes/{e.scheme.code}/quota").json()
    assert quota_answer["periods"][-1]["issued"] == 24
    assert quota_answer["chain"]["remaining"] == 276
    file = auditor.get(f"/v1/audit/members/{member.address}?limit=500").json()
    assert file["balances"] == {e.scheme.code: 24}

    assert auditor.get("/v1/audit/records/999999999/trace").status_code == 404
    assert auditor.get("/v1/audit/records/0/trace").status_code == 422
    assert auditor.get("/v1/audit/trace?tx_hash=0x12").status_code == 422
    unknown = auditor.get("/v1/audit/trace?tx_hash=0x" + "ab" * 32)
    assert unknown.status_code == 404 and "blocks behind" in unknown.json()["error"]["message"]
    assert auditor.get("/v1/audit/batches/999999999/trace").status_code == 404
    far = auditor.get(f"/v1/audit/schemes/{e.scheme.code}/quota?since=1900-01-01T00:00:00Z")
    assert far.status_code == 422 and "quota periods" in far.json()["error"]["message"]
    assert auditor.get("/v1/audit/members/0x12").status_code == 422
    for path in (f"/v1/audit/records/{record_id}/trace", f"/v1/audit/members/{member.address}"):
        assert stranger.get(path).status_code == 403


def test_anomalies_over_http_with_their_evidence(
    client: TestClient, ledger: Ledger, auditor: Session, stranger: Session
) -> None:
    e = earning_scheme(ledger)
    since = ledger.w3.eth.block_number + 1
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, new_member(ledger).address, start, end)  # approved at once
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]
    query = f"/v1/audit/anomalies?rule=fast_review&scheme={e.scheme.code}&from_block={since}"
    got = auditor.get(query)
    assert got.status_code == 200, got.text
    [finding] = got.json()["findings"]
    assert finding["records"] == [f"record:{record_id}"] and finding["rule"] == "fast_review"
    assert [x["what"] for x in finding["evidence"]] == [
        f"record:{record_id} submitted", f"record:{record_id} approved",
    ]  # fmt: skip
    sheet = auditor.get(query + "&format=csv")
    [row] = list(csv.DictReader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    assert row["records"] == f"record:{record_id}" and row["tx_hashes"].count("0x") == 2
    bad = auditor.get("/v1/audit/anomalies?rule=bursts")
    assert bad.status_code == 422 and "did you mean 'burst'" in bad.json()["error"]["message"]
    ahead = auditor.get(f"/v1/audit/anomalies?to_block={10**9}")
    assert ahead.status_code == 409 and ahead.json()["error"]["code"] == "index_behind"
    assert stranger.get("/v1/audit/anomalies").status_code == 403


def test_the_store_anchored_and_verified_over_http(
    ledger: Ledger, auditor: Session, stranger: Session
) -> None:
    e = earning_scheme(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, new_member(ledger).address, start, end)
    outcome = Anchors(ledger).anchor(force=True)
    [latest] = auditor.get("/v1/audit/store/anchors?last=1").json()
    assert (latest["id"], latest["root"]) == (outcome.anchor_id, outcome.root)
    clean = auditor.get("/v1/audit/store/verification").json()
    assert clean["clean"] and clean["anchor_id"] == outcome.anchor_id
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE record_details SET end = end + 60 WHERE record_id = :r"), {"r": record_id}
        )
    found = auditor.get("/v1/audit/store/verification").json()
    assert not found["clean"]
    [row] = [f for f in found["findings"] if f["kind"] == "altered"]
    assert row["table"] == "record_details"
    sheet = auditor.get("/v1/audit/store/verification?format=csv").text.lstrip("\ufeff")
    assert sheet.splitlines()[0] == "kind,table,row_id,detail" and "altered" in sheet
    Anchors(ledger).anchor()  # the next anchor takes the store as it now is
    assert stranger.get("/v1/audit/store/verification").status_code == 403
    assert auditor.get("/v1/audit/store/anchors?last=0").status_code == 422


def test_quota_takes_the_dates_the_cli_takes_and_agrees_with_the_chain(
    client: TestClient, ledger: Ledger, auditor: Session
) -> None:
    """`?since=2026-01-01&until=2026-11-30` was refused (a date without a zone, shown as a Python
    repr), and a range ending before the current window reported a false disagreement."""
    e = earning_scheme(ledger, quota=300)
    start, end = two_hours_ago(ledger)
    earn(ledger, e, new_member(ledger).address, start, end)  # 24 points
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]
    path = f"/v1/audit/schemes/{e.scheme.code}/quota"

    got = auditor.get(f"{path}?since=2026-01-01&until=2026-11-30")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["findings"] == [] and body["chain"]["quota_used"] == 24
    now = auditor.get(path).json()
    [window] = now["periods"]
    assert window["issued"] == 24 and now["findings"] == []
    for since in ("2026-01-01 08:00", "2026-01-01T08:00:00+08:00", "2026/01/01"):
        assert auditor.get(path, params={"since": since}).status_code == 200, since
    cut = auditor.get(path, params={"since": "2026-01-01", "until": window["start"]}).json()
    assert cut["periods"] == [window] and cut["findings"] == []

    bad = auditor.get(path, params={"until": "yesterday"})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"] == (
        "until 'yesterday' is not a date and time like 2026-11-20 09:00 (China Standard Time "
        "unless a zone such as +08:00 is given)"
    )
    assert "datetime" not in bad.text


def test_supply_series_and_search_for_the_explorer(
    client: TestClient, ledger: Ledger, auditor: Session
) -> None:
    a, _, member, _ = exchanged(ledger)
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]
    series = auditor.get(f"/v1/audit/supply-series?scheme={a.code}&bucket=hour").json()
    assert sum(p["created"] for p in series["points"]) == 300
    assert sum(p["destroyed"] for p in series["points"]) == 100
    assert series["points"][-1]["total"] == 200
    sheet = auditor.get(f"/v1/audit/supply-series?scheme={a.code}&format=csv").text
    assert sheet.lstrip("\ufeff").splitlines()[0] == "start,created,destroyed,total"
    huge = auditor.get(
        f"/v1/audit/supply-series?scheme={a.code}&bucket=hour&since=2000-01-01T00:00:00Z"
    )
    assert huge.status_code == 422 and "at most 1000" in huge.json()["error"]["message"]
    assert auditor.get(f"/v1/audit/supply-series?scheme={a.code}&bucket=week").status_code == 422
    since_a_date = auditor.get(f"/v1/audit/supply-series?scheme={a.code}&since=2026-01-01")
    assert since_a_date.status_code == 200, since_a_date.text
    assert since_a_date.json()["points"][-1]["total"] == 200

    head = ledger.w3.eth.block_number
    found = {
        q: auditor.get("/v1/audit/search", params={"q": q}).json()
        for q in (member.address.lower(), str(head - 1), a.code)
    }
    assert found[member.address.lower()] == {"kind": "address", "target": member.address}
    assert found[str(head - 1)] == {"kind": "block", "target": str(head - 1)}
    assert found[a.code] == {"kind": "scheme", "target": a.code}
    for q, status in (
        ("record 999999999", 404),
        ("batch 999999999", 404),
        ("NOSUCH", 404),
        ("0x" + "cd" * 32, 404),
        ("what?", 422),
        (str(head + 10**6), 409),
    ):
        got = auditor.get("/v1/audit/search", params={"q": q})
        assert got.status_code == status, (q, got.text)
