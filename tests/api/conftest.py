"""The API against the session's real chain: a TestClient, signing in (with a key, or a custodial
wallet's PIN), signed writes, and members holding points and shops to redeem them in."""

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
from ledger.spending.items import ItemView
from tests.catalogue_helpers import Shop, list_item, new_shop
from tests.contracts.helpers import source
from tests.factories import new_holder, person
from tests.probes import issue_points

#: The PIN of the custodial wallets these tests create.
PIN = "258147"


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


def custodial_member(client: TestClient, ledger: Ledger, pin: str = PIN) -> str:
    """A registrar creates a custodial wallet and registers its owner as a member."""
    registrar = sign_in(client, ledger.operator("registrar"))
    created = registrar.write("POST", "/v1/wallets", {"pin": pin})
    assert created.status_code == 201, created.text
    address: str = created.json()["address"]
    ledger.register_member(
        registrar=ledger.operator("registrar"), address=address, personal=person()
    )
    return address


def member_holding(ledger: Ledger, client: TestClient, scheme_id: int, points: int = 0) -> Session:
    """A fresh member holding `points` of scheme `scheme_id`, signed in with their own key."""
    return sign_in(client, new_holder(ledger, scheme_id, points).account)


def custodial_holder(ledger: Ledger, client: TestClient, scheme_id: int, points: int) -> Session:
    """A fresh member with a custodial wallet holding `points` of `scheme_id`, signed in with
    its PIN."""
    address = custodial_member(client, ledger)
    issue_points(ledger, address, scheme_id, points, source())
    return pin_sign_in(client, address, PIN)


def orders_url(member: str) -> str:
    return f"/v1/members/{member}/orders"


def shopper(
    ledger: Ledger, client: TestClient, shop: Shop, points: int, **item: Any
) -> tuple[Session, ItemView, str]:
    """A member holding `points` of `shop`'s scheme, signed in with their own key; an item of the
    shop listed with `item` (price, stock...); and the URL of the member's orders."""
    me = member_holding(ledger, client, shop.id, points)
    return me, list_item(ledger, shop, **item), orders_url(me.address)


@pytest.fixture(scope="module")
def shop(ledger: Ledger) -> Shop:
    """A scheme allowing redemption with its merchant, shared by the module's tests."""
    return new_shop(ledger)
