"""The first API endpoints, served from a real chain: health, schemes, balances, the error model."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from anyio import to_thread
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.app import create_app
from api.middleware import BODY_BYTES, UPLOAD_BODY_BYTES
from ledger.ledger import Ledger
from tests.api.conftest import sign_in
from tests.factories import new_member, new_scheme
from tests.probes import issue_points


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


def metadata_path(ledger: Ledger, token_id: int) -> str:
    """What a wallet fetches for `token_id`: the ledger's uri() with the id as EIP-1155 says."""
    url = urlsplit(ledger.points.uri(token_id).replace("{id}", f"{token_id:064x}"))
    assert (url.scheme, url.netloc) == ("http", urlsplit(ledger.settings.public_url).netloc)
    return url.path


def test_a_schemes_erc1155_metadata_is_served_where_uri_points(
    client: TestClient, ledger: Ledger
) -> None:
    scheme = new_scheme(ledger)
    response = client.get(metadata_path(ledger, scheme.id))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "name": scheme.name,
        "description": f"{scheme.name} ({scheme.code}), issued by {scheme.issuer}; counted in 分.",
        "decimals": 0,
        "properties": {
            "scheme_code": scheme.code,
            "unit": "分",
            "issuer": scheme.issuer,
            "value_csu": 1.0,
            "flags": ["gifts"],
        },
    }


def test_metadata_of_an_unknown_token_id_is_a_404(client: TestClient, ledger: Ledger) -> None:
    unknown = ledger.schemes.scheme_count() + 1
    response = client.get(metadata_path(ledger, unknown))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_scheme"
    assert client.get("/v1/metadata/1.json").status_code == 422  # not an EIP-1155 id


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


def test_the_api_serves_as_many_requests_at_once_as_its_setting_says(api_settings: Any) -> None:
    """A write holds a worker thread until its transaction is confirmed, so the worker threads
    are a setting (``VPL_API_THREADS``), not anyio's 40."""
    settings = api_settings.model_copy(update={"api_threads": 77, "api_follow_chain": False})
    with TestClient(create_app(settings)) as c:
        assert c.portal is not None
        tokens = c.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
        assert tokens == 77
        assert c.get("/health").status_code == 200


# --- bodies too large, or not JSON ---------------------------------------------------------------


def gift_url(me: Any) -> str:
    return f"/v1/members/{me.address}/gifts"


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    me = sign_in(client, Account.create())
    body = b'{"scheme": "' + b"x" * BODY_BYTES + b'"}'
    sent = client.post(
        gift_url(me), content=body, headers={**me.headers, "content-type": "application/json"}
    )
    assert sent.status_code == 413
    assert sent.json()["error"]["code"] == "body_too_large"
    assert sent.json()["error"]["details"] == {"limit": BODY_BYTES}
    assert sent.headers["x-request-id"]


def test_a_body_sent_without_a_length_is_counted_as_it_arrives(client: TestClient) -> None:
    me = sign_in(client, Account.create())
    pieces = (b"[" + b"1," * 50_000 for _ in range(12))  # 1.2 MB in chunks, no Content-Length
    sent = client.post(
        gift_url(me), content=pieces, headers={**me.headers, "content-type": "application/json"}
    )
    assert sent.status_code == 413, sent.text
    assert sent.json()["error"]["code"] == "body_too_large"


def test_a_batch_upload_may_be_larger_than_other_requests(client: TestClient) -> None:
    """Its CSV file goes up to 5 MB: the body limit lets it through to the endpoint (which needs
    a signed-in organiser: 401 here, not 413)."""
    body = b'{"scheme": "VOL", "content": "' + b"a" * (2 * BODY_BYTES) + b'"}'
    sent = client.post(
        "/v1/issuer/batches", content=body, headers={"content-type": "application/json"}
    )
    assert sent.status_code == 401, sent.text
    too_big = b'{"content": "' + b"a" * UPLOAD_BODY_BYTES + b'"}'
    refused = client.post(
        "/v1/issuer/batches", content=too_big, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 413


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"scheme": "VOL", "recipient": ', b"\xff\xfe", b"[]", b'"x"']
)
def test_a_body_that_is_not_the_json_object_asked_for_is_a_422(
    client: TestClient, body: bytes
) -> None:
    me = sign_in(client, Account.create())
    sent = client.post(
        gift_url(me), content=body, headers={**me.headers, "content-type": "application/json"}
    )
    assert sent.status_code == 422, sent.text
    assert sent.json()["error"]["code"] == "validation_error"


# --- the store cannot be written ------------------------------------------------------------------


def test_a_store_that_cannot_be_written_is_a_503_to_retry_and_then_works_again(
    api_settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its disk full, an I/O error, the database server gone: the caller is told to retry (not an
    internal error), and the log names the reason without the statement or its values."""
    settings = api_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'api.db'}", "api_follow_chain": False}
    )
    with TestClient(create_app(settings)) as c:
        engine = c.app.state.services.ledger.engine  # type: ignore[attr-defined]
        address = Account.create().address

        def read_only(connection: Any, record: Any, proxy: Any) -> None:
            connection.execute("PRAGMA query_only = 1")

        event.listen(engine, "checkout", read_only)
        try:
            refused = c.post("/v1/auth/challenge", json={"address": address})
        finally:
            event.remove(engine, "checkout", read_only)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "store_unavailable"
        assert refused.headers["Retry-After"] == "5"
        assert "readonly database" in caplog.text and address not in caplog.text
        engine.dispose()  # connections made read-only go

        again = c.post("/v1/auth/challenge", json={"address": address})
        assert again.status_code == 200, again.text
