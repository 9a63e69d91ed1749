"""Signing in: Sign-In with Ethereum refuses expired, replayed, wrong-chain and wrong-signer
messages; custodial wallets sign in with a PIN and lock after repeated wrong PINs, however many
guesses arrive at once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import select

from api.app import create_app
from ledger.ledger import Ledger
from ledger.store import session, utcnow
from ledger.store.sessions import ApiSession, CustodialWallet, SignInChallenge
from tests.api.conftest import PIN, custodial_member, pin_sign_in, sign_in
from tests.conftest import fresh_database
from tests.wallet_helpers import GUESSES, race


def signed(account: LocalAccount, message: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def challenge(client: TestClient, address: str) -> str:
    answer = client.post("/v1/auth/challenge", json={"address": address})
    assert answer.status_code == 200
    message: str = answer.json()["message"]
    return message


def refused(answer: object, code: str) -> dict[str, object]:
    from httpx import Response

    assert isinstance(answer, Response)
    assert answer.status_code in (401, 422), answer.text
    error: dict[str, object] = answer.json()["error"]
    assert error["code"] == code, error
    assert error["message_zh"]
    return error


def test_sign_in_with_own_key_gives_a_token_that_names_the_account(client: TestClient) -> None:
    account: LocalAccount = Account.create()
    message = challenge(client, account.address)
    assert "wants you to sign in with your Ethereum account:\n" + account.address in message
    assert "Chain ID: " in message and "Nonce: " in message
    answer = client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": signed(account, message)}
    )
    assert answer.status_code == 200
    token = answer.json()["token"]
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["address"] == account.address
    assert me.json()["method"] == "key"
    assert me.json()["member"] is False


def test_a_replayed_sign_in_is_refused(client: TestClient) -> None:
    account: LocalAccount = Account.create()
    message = challenge(client, account.address)
    body = {"message": message, "signature": signed(account, message)}
    assert client.post("/v1/auth/sign-in", json=body).status_code == 200
    error = refused(client.post("/v1/auth/sign-in", json=body), "sign_in_refused")
    assert "used already" in str(error["message"])


def test_a_sign_in_by_another_key_is_refused(client: TestClient) -> None:
    account: LocalAccount = Account.create()
    message = challenge(client, account.address)
    other: LocalAccount = Account.create()
    answer = client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": signed(other, message)}
    )
    refused(answer, "sign_in_refused")
    # the challenge is not used up by the failed attempt: the right key still signs in
    good = {"message": message, "signature": signed(account, message)}
    assert client.post("/v1/auth/sign-in", json=good).status_code == 200


def test_a_sign_in_for_another_chain_is_refused(client: TestClient, ledger: Ledger) -> None:
    account: LocalAccount = Account.create()
    message = challenge(client, account.address)
    chain = ledger.network.chain_id
    other = message.replace(f"Chain ID: {chain}\n", f"Chain ID: {chain + 1}\n")
    assert other != message
    error = refused(
        client.post(
            "/v1/auth/sign-in", json={"message": other, "signature": signed(account, other)}
        ),
        "sign_in_refused",
    )
    assert f"chain {chain + 1}" in str(error["message"])


def test_an_altered_or_unknown_message_is_refused(client: TestClient) -> None:
    account: LocalAccount = Account.create()
    message = challenge(client, account.address)
    altered = message.replace("Sign in to", "Send everything to")
    refused(
        client.post(
            "/v1/auth/sign-in", json={"message": altered, "signature": signed(account, altered)}
        ),
        "sign_in_refused",
    )
    unknown = message.replace("Nonce: ", "Nonce: 00")
    refused(
        client.post(
            "/v1/auth/sign-in", json={"message": unknown, "signature": signed(account, unknown)}
        ),
        "sign_in_refused",
    )
    refused(
        client.post("/v1/auth/sign-in", json={"message": "hello", "signature": "0x" + "00" * 65}),
        "invalid_input",
    )


def test_an_expired_sign_in_message_is_refused(client: TestClient, ledger: Ledger) -> None:
    account: LocalAccount = Account.create()
    message = challenge(client, account.address)
    with session(ledger.engine) as db:
        row = db.exec(select(SignInChallenge).where(SignInChallenge.message == message)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.add(row)
    answer = client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": signed(account, message)}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "authorization_expired"


def test_expired_and_signed_out_tokens_are_refused(client: TestClient, ledger: Ledger) -> None:
    s = sign_in(client, Account.create())
    assert s.get("/v1/auth/me").status_code == 200
    assert client.post("/v1/auth/sign-out", headers=s.headers).status_code == 204
    assert refused(s.get("/v1/auth/me"), "not_signed_in")
    s2 = sign_in(client, Account.create())
    with session(ledger.engine) as db:
        for row in db.exec(select(ApiSession).where(ApiSession.address == s2.address)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            db.add(row)
    client.app.state.services._callers.clear()  # type: ignore[attr-defined]
    refused(s2.get("/v1/auth/me"), "not_signed_in")
    refused(client.get("/v1/auth/me"), "not_signed_in")
    refused(
        client.get("/v1/auth/me", headers={"Authorization": "Bearer nonsense"}), "not_signed_in"
    )


def test_a_custodial_wallet_signs_in_with_its_pin_and_keeps_no_key_in_clear(
    client: TestClient, ledger: Ledger
) -> None:
    address = custodial_member(client, ledger)
    s = pin_sign_in(client, address, PIN)
    me = s.get("/v1/auth/me").json()
    assert me == {
        **me,
        "address": address,
        "method": "custodial",
        "member": True,
        "custodial": True,
    }
    with session(ledger.engine) as db:
        row = db.get(CustodialWallet, address)
    assert row is not None and PIN not in row.keystore_json
    assert '"kdf": "scrypt"' in row.keystore_json


def test_wrong_pins_are_refused_and_lock_the_wallet_until_a_registrar_lifts_it(
    client: TestClient, ledger: Ledger, api_settings: object
) -> None:
    address = custodial_member(client, ledger)
    attempts = ledger.settings.pin_max_attempts
    for left in range(attempts - 1, 0, -1):
        answer = client.post("/v1/auth/pin-sign-in", json={"address": address, "pin": "999999"})
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "wrong_pin"
        assert answer.json()["error"]["details"]["attempts_left"] == left
    locking = client.post("/v1/auth/pin-sign-in", json={"address": address, "pin": "999999"})
    assert locking.status_code == 423
    assert locking.json()["error"]["code"] == "wallet_locked"
    # locked: even the right PIN is refused now, told how long the lock still lasts
    right = client.post("/v1/auth/pin-sign-in", json={"address": address, "pin": PIN})
    assert right.status_code == 423
    lockout = ledger.settings.pin_lockout_seconds
    for answer in (locking, right):
        assert lockout - 10 <= int(answer.headers["Retry-After"]) <= lockout
    # a stranger cannot lift the lock; a registrar can
    stranger = sign_in(client, Account.create())
    assert stranger.write("POST", f"/v1/wallets/{address}/unlock").status_code == 403
    registrar = sign_in(client, ledger.operator("registrar"))
    assert registrar.write("POST", f"/v1/wallets/{address}/unlock").status_code == 200
    pin_sign_in(client, address, PIN)


def test_only_a_registrar_creates_custodial_wallets_and_weak_pins_are_refused(
    client: TestClient, ledger: Ledger
) -> None:
    stranger = sign_in(client, Account.create())
    answer = stranger.write("POST", "/v1/wallets", {"pin": PIN})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "access_denied"
    registrar = sign_in(client, ledger.operator("registrar"))
    with session(ledger.engine) as db:
        before = len(db.exec(select(CustodialWallet)).all())
    for weak in ("123456", "111111", "12ab"):
        bad = registrar.write("POST", "/v1/wallets", {"pin": weak})
        assert bad.status_code == 422, weak
    with session(ledger.engine) as db:
        assert len(db.exec(select(CustodialWallet)).all()) == before


def test_changing_a_pin_needs_the_old_one(client: TestClient, ledger: Ledger) -> None:
    address = custodial_member(client, ledger)
    s = pin_sign_in(client, address, PIN)
    wrong = client.post(
        f"/v1/wallets/{address}/pin",
        json={"old_pin": "999999", "new_pin": "731946"},
        headers=s.headers,
    )
    assert wrong.status_code == 401
    ok = client.post(
        f"/v1/wallets/{address}/pin", json={"old_pin": PIN, "new_pin": "731946"}, headers=s.headers
    )
    assert ok.status_code == 200
    pin_sign_in(client, address, "731946")
    bad = client.post("/v1/auth/pin-sign-in", json={"address": address, "pin": PIN})
    assert bad.status_code == 401


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def any_store_client(
    api_settings: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    """The API on a store of its own, on each backend."""
    tmp = tmp_path_factory.mktemp(f"store-{request.param}")
    url = fresh_database(str(request.param), Path(tmp), request)
    with TestClient(create_app(api_settings.model_copy(update={"database_url": url}))) as c:
        yield c


def test_pin_guesses_sent_at_once_are_evaluated_no_more_than_the_lock_out_allows(
    any_store_client: TestClient, ledger: Ledger
) -> None:
    client = any_store_client
    registrar = sign_in(client, ledger.operator("registrar"))
    created = registrar.write("POST", "/v1/wallets", {"pin": PIN})
    assert created.status_code == 201, created.text
    address = created.json()["address"]

    def guess(pin: str) -> Response:
        return client.post("/v1/auth/pin-sign-in", json={"address": address, "pin": pin})

    answers = race(guess, wrong="999999", right=PIN)
    assert all(isinstance(a, Response) for a in answers), answers
    statuses = [a.status_code for a in answers if isinstance(a, Response)]
    # never a token: the right PIN arrives after the lock and is not evaluated
    assert sorted(set(statuses)) == [401, 423], statuses
    wrong = [a.json()["error"] for a in answers if isinstance(a, Response) and a.status_code == 401]
    locked = [a for a in answers if isinstance(a, Response) and a.status_code == 423]
    max_attempts = ledger.settings.pin_max_attempts
    assert {e["code"] for e in wrong} == {"wrong_pin"}
    left = sorted((e["details"]["attempts_left"] for e in wrong), reverse=True)
    assert left == list(range(max_attempts - 1, 0, -1))
    assert len(locked) == GUESSES - (max_attempts - 1)
    lockout = ledger.settings.pin_lockout_seconds
    for answer in locked:
        assert answer.json()["error"]["code"] == "wallet_locked"
        assert lockout - 10 <= int(answer.headers["Retry-After"]) <= lockout
