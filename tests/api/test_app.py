"""The first API endpoints, served from a real chain: health, schemes, balances, the error model."""

from __future__ import annotations

import secrets

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from ledger.ledger import Ledger
from tests.api.conftest import sign_in
from tests.conftest import issue_points
from tests.factories import new_member, new_scheme


def test_health_reports_the_deployed_chain(client: TestClient, ledger: Ledger) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["chain_id"] == ledger.network.chain_id
    assert body["block"] >= ledger.manifest.deploy_block


def test_schemes_lists_an_admitted_scheme_with_its_flags(
    client: TestClient, ledger: Ledger
) -> None:
    scheme = new_scheme(ledger)
    listed = {s["code"]: s for s in client.get("/v1/schemes").json()}
    assert listed[scheme.code]["id"] == scheme.id
    assert listed[scheme.code]["flags"] == ["gifts"]
    assert client.get(f"/v1/schemes/{scheme.code}").json()["name"] == scheme.name


def test_unknown_scheme_is_a_404_with_a_stable_code(client: TestClient) -> None:
    response = client.get("/v1/schemes/NOSUCH")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_scheme"
    assert "vpl scheme list" in response.json()["error"]["message"]


def test_balances_show_issued_points_to_the_member_only(client: TestClient, ledger: Ledger) -> None:
    scheme = new_scheme(ledger)
    member = new_member(ledger)
    issue_points(ledger, member.address, scheme.id, 42, secrets.token_bytes(32))
    me = sign_in(client, member.account)
    body = me.get(f"/v1/members/{member.address}/balances").json()
    assert body["member"] == member.address
    rows = {b["scheme"]: b for b in body["balances"]}
    assert rows[scheme.code]["balance"] == 42
    assert rows[scheme.code]["available"] == 42
    assert rows[scheme.code]["frozen"] == 0
    stranger = sign_in(client, Account.create())
    denied = stranger.get(f"/v1/members/{member.address}/balances")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "access_denied"
    auditor = sign_in(client, ledger.operator("auditor"))
    assert auditor.get(f"/v1/members/{member.address}/balances").status_code == 200
    assert client.get(f"/v1/members/{member.address}/balances").status_code == 401


@pytest.mark.parametrize("address", ["0x1234", "not-an-address", "0x" + "g" * 40])
def test_malformed_address_is_a_422_naming_the_problem(client: TestClient, address: str) -> None:
    me = sign_in(client, Account.create())
    response = me.get(f"/v1/members/{address}/balances")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_address"
