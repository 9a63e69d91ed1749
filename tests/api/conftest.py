"""The API against the session's real chain: a TestClient, signing in, and signed writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from ledger.ledger import Ledger


@pytest.fixture(scope="module")
def api_settings(ledger: Ledger) -> Any:
    """The session ledger's settings, with a cheap keystore cost for custodial wallets and rate
    limits out of the way (tests of those set their own)."""
    return ledger.settings.model_copy(
        update={
            "wallet_kdf_n": 2**10,
            "rate_limit_per_account": 100_000,
            "rate_limit_per_ip": 100_000,
        }
    )


@pytest.fixture(scope="module")
def client(api_settings: Any) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as c:
        yield c


@dataclass
class Session:
    """A signed-in caller: their bearer header, and how they sign writes."""

    client: TestClient
    address: str
    token: str
    account: LocalAccount | None = None
    pin: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.client.get(url, headers=self.headers, **kwargs)

    def write(
        self, method: str, url: str, body: dict[str, Any] | None = None, *, key: str | None = None
    ) -> Response:
        """A write, signed the way this caller signs: PIN header, or the 428 round trip."""
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = key
        if self.pin is not None:
            headers["X-Wallet-PIN"] = self.pin
            return self.client.request(method, url, json=body or {}, headers=headers)
        first = self.client.request(method, url, json=body or {}, headers=headers)
        if first.status_code != 428:
            return first
        assert self.account is not None
        return self.client.request(
            method,
            url,
            json={**(body or {}), "authorization": authorize(self.account, first)},
            headers=headers,
        )


def authorize(account: LocalAccount, answer: Response) -> dict[str, Any]:
    """Sign the typed data of a 428 answer: the `authorization` to send the write again with."""
    body = answer.json()
    assert body["error"]["code"] == "signature_required", body
    typed = body["error"]["details"]["typed_data"]
    signed = account.sign_typed_data(full_message=typed)
    message = typed["message"]
    return {
        "nonce": message["nonce"],
        "deadline": message["deadline"],
        "gas": message["gas"],
        "signature": "0x" + bytes(signed.signature).hex(),
    }


def sign_in(client: TestClient, account: LocalAccount) -> Session:
    """Sign in with the account's own key (EIP-4361)."""
    challenge = client.post("/v1/auth/challenge", json={"address": account.address})
    assert challenge.status_code == 200, challenge.text
    message = challenge.json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature
    answer = client.post(
        "/v1/auth/sign-in", json={"message": message, "signature": "0x" + bytes(signature).hex()}
    )
    assert answer.status_code == 200, answer.text
    return Session(client, account.address, answer.json()["token"], account=account)


def pin_sign_in(client: TestClient, address: str, pin: str) -> Session:
    answer = client.post("/v1/auth/pin-sign-in", json={"address": address, "pin": pin})
    assert answer.status_code == 200, answer.text
    return Session(client, address, answer.json()["token"], pin=pin)
