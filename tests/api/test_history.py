"""Members' history and the auditors' explorer, served from the event index the API process
follows; every answer says up to which block it holds the chain."""

from __future__ import annotations

import inspect

from eth_account import Account
from fastapi.testclient import TestClient

from api.errors import MESSAGES_ZH
from ledger import errors
from ledger.ledger import Ledger
from tests.api.conftest import Session, sign_in
from tests.catalogue_helpers import Shop, list_item
from tests.contracts.helpers import source
from tests.factories import new_member
from tests.probes import issue_points


def caught_up(client: TestClient) -> None:
    """Let the index reach the chain's head now (the follower thread would, a moment later)."""
    client.app.state.services.indexer.sync()  # type: ignore[attr-defined]


def test_history_lists_issuance_and_redemption_newest_first(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    member = new_member(ledger)
    issued = issue_points(ledger, member.address, shop.id, 80, source())
    item = list_item(ledger, shop, price=30)
    me = sign_in(client, member.account)
    order = me.write(
        "POST",
        f"/v1/members/{member.address}/orders",
        {"item_id": item.item.id, "quantity": 1, "unit_price": 30},
    )
    assert order.status_code == 201
    caught_up(client)
    page = me.get(f"/v1/members/{member.address}/history").json()
    assert [(e["kind"], e["delta"]) for e in page["entries"]] == [
        ("redemption_hold", -30),
        ("issued", 80),
    ]
    assert page["entries"][1]["tx_hash"] == issued.tx_hash
    assert page["entries"][0]["reference"] == f"order:{order.json()['id']}"
    assert page["indexed_block"] >= issued.block_number and page["blocks_behind"] >= 0
    only = me.get(f"/v1/members/{member.address}/history?kind=issued").json()["entries"]
    assert [e["kind"] for e in only] == ["issued"]
    first = me.get(f"/v1/members/{member.address}/history?limit=1").json()
    assert len(first["entries"]) == 1 and first["next_cursor"]
    second = me.get(
        f"/v1/members/{member.address}/history?limit=1&cursor={first['next_cursor']}"
    ).json()
    assert [e["kind"] for e in second["entries"]] == ["issued"]


def test_bad_history_queries_are_refused_clearly(client: TestClient, ledger: Ledger) -> None:
    member = new_member(ledger)
    me = sign_in(client, member.account)
    url = f"/v1/members/{member.address}/history"
    assert me.get(f"{url}?cursor=nonsense").json()["error"]["code"] == "invalid_cursor"
    unknown = me.get(f"{url}?kind=isued").json()["error"]
    assert unknown["code"] == "unknown_name" and "issued" in unknown["message"]
    assert me.get(f"{url}?limit=100000").status_code == 422
    swapped = me.get(f"{url}?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z")
    assert swapped.status_code == 422
    stranger = sign_in(client, Account.create())
    assert stranger.get(url).status_code == 403


def test_the_explorer_finds_a_transaction_and_says_how_far_it_holds(
    client: TestClient, ledger: Ledger, shop: Shop
) -> None:
    member = new_member(ledger)
    issued = issue_points(ledger, member.address, shop.id, 5, source())
    caught_up(client)
    auditor: Session = sign_in(client, ledger.operator("auditor"))
    found = auditor.get(f"/v1/audit/events?tx_hash={issued.tx_hash}").json()
    names = {(e["contract"], e["event"]) for e in found["entries"]}
    assert ("PointsLedger", "TransferSingle") in names
    by_member = auditor.get(f"/v1/audit/events?address={member.address}").json()["entries"]
    assert {e["tx_hash"] for e in by_member} >= {issued.tx_hash}
    status = auditor.get("/v1/audit/index").json()
    assert status["indexed_block"] >= issued.block_number
    unknown = auditor.get("/v1/audit/events?tx_hash=0x" + "ab" * 32)
    assert unknown.status_code in (200, 404)
    assert auditor.get("/v1/audit/events?tx_hash=0x12").status_code == 422
    stranger = sign_in(client, Account.create())
    assert stranger.get("/v1/audit/events").status_code == 403


def test_every_error_code_has_a_chinese_message() -> None:
    codes = {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.LedgerError)
    }
    assert codes - set(MESSAGES_ZH) == set()
