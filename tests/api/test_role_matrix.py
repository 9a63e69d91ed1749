"""Who may call each write: every write endpoint of the API, called by every role that may not
call it, is refused with a clear answer and changes nothing (not the chain, not the store); then
one role that may call it does, so the refusals were of a request that would have gone through.

The roles: each global role (registrar, auditor, a council seat), a scheme's issuer and its staff
(organiser, reviewer, merchant), the member a path names and their recorded proxy, another
member, a custodial wallet's owner, a signed-in stranger holding nothing, and nobody signed in.
A new write endpoint without a row here fails `test_the_matrix_covers_every_write_endpoint`."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlmodel import SQLModel

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.earning.uploads import report_data
from ledger.ledger import Ledger
from ledger.store import session
from tests.api import bodies
from tests.api.conftest import Session, pin_sign_in, sign_in
from tests.batch_helpers import batch_row, csv_text
from tests.catalogue_helpers import Shop, grant_proxy, list_item
from tests.contracts.helpers import source
from tests.earning_helpers import LOOSE, WUHAN, as_typed, fund, grant, now
from tests.exchange_helpers import exchange_scheme
from tests.factories import new_member, new_scheme, person, timebank_scheme
from tests.probes import issue_points

PIN = "482916"
HOUR = 3600
#: Every role the matrix calls with; "nobody" sends no token.
ROLES = (
    "nobody",
    "stranger",
    "wallet",
    "member",
    "proxy",
    "other_member",
    "registrar",
    "auditor",
    "council",
    "issuer",
    "organiser",
    "reviewer",
    "merchant",
)
#: Writes anyone may send: signing in and out, and checking a certificate.
PUBLIC = {
    "POST /v1/auth/challenge",
    "POST /v1/auth/sign-in",
    "POST /v1/auth/pin-sign-in",
    "POST /v1/auth/sign-out",
    "POST /v1/certificates/verification",
}
#: Store tables a refused request may write to: sign-ins, the record of refusals kept for the
#: auditors, and the event index (which follows the chain, not the request). The admin log
#: may gain a line saying an attempt was refused, and nothing else.
BOOKKEEPING = {"api_session", "sign_in_challenge", "refused_attempt"}
ROWS = {"admin_action": "SELECT * FROM admin_action WHERE outcome NOT LIKE 'refused:%'"}


@dataclass
class World:
    """The schemes, the callers by role, and what the paths name."""

    ledger: Ledger
    client: TestClient
    scheme: Scheme
    timebank: Scheme
    pair: tuple[Scheme, Scheme]
    shop: Shop
    fund_id: int
    callers: dict[str, Session] = field(default_factory=dict)

    def __getitem__(self, role: str) -> Session:
        return self.callers[role]

    @property
    def member(self) -> str:
        return self["member"].address

    def as_(self, role: str, method: str, url: str, body: dict[str, Any]) -> Response:
        """The request sent as `role`: signed the way that role signs (the 428 round trip with
        its key, or its wallet's PIN), or with no token at all for "nobody"."""
        if role == "nobody":
            return self.client.request(method, url, json=body)
        return self[role].write(method, url, body)


@dataclass(frozen=True)
class Call:
    """One write: its URL and body, made ready for the matrix by `prepare`."""

    url: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Row:
    """A write endpoint, the roles that may call it, and how to make a call of it ready (the
    order, record or request its path names, fresh for each row)."""

    route: str
    allowed: tuple[str, ...]
    prepare: Callable[[World], Call]
    #: The first allowed role calls it after the refusals and must succeed (False where that
    #: needs a step this matrix does not take, such as an interrupted batch job).
    control: bool = True
    #: (status, code) of a refusal where it is not 403 access_denied.
    refused: tuple[int, str] = (403, "access_denied")

    @property
    def method(self) -> str:
        return self.route.split(" ")[0]

    @property
    def id(self) -> str:
        return self.route


# --- the world ----------------------------------------------------------------------------------


def custodial(world: World, role: str | None) -> Session:
    """A custodial wallet, granted `role` on the world's scheme, signed in with its PIN."""
    wallets = world.client.app.state.services.wallets  # type: ignore[attr-defined]
    wallet = wallets.create(pin=PIN, created_by=world.ledger.operator("registrar").address)
    if role is not None:
        issuer = world.ledger.operator("issuer-vol")
        grant(world.ledger, world.scheme, role, wallet.address, issuer=issuer)
    return pin_sign_in(world.client, wallet.address, PIN)


@pytest.fixture(scope="module")
def world(ledger: Ledger, client: TestClient) -> World:
    issuer = ledger.operator("issuer-vol")
    scheme = new_scheme(
        ledger,
        issuer=issuer.address,
        quota=10**12,
        flags=SchemeFlag.REDEMPTION | SchemeFlag.GIFTS,
    )
    ledger.publish_duration_rule(issuer=issuer, scheme=scheme.id, points_per_hour=10, grades=WUHAN)
    ledger.earning.set_limits(issuer=issuer, scheme=scheme.id, limits=LOOSE)
    merchant: LocalAccount = Account.create()
    grant(ledger, scheme, "merchant", merchant.address, issuer=issuer)
    fund(ledger, merchant.address)  # it lists the items the orders are of with its own key
    fund_view = ledger.gifts.create_fund(
        issuer=issuer,
        scheme=scheme.id,
        manager=Account.create().address,
        name=f"助老基金 {scheme.code}",
        description="为社区独居老人",
    )
    w = World(
        ledger=ledger,
        client=client,
        scheme=scheme,
        timebank=timebank_scheme(ledger),
        pair=(exchange_scheme(ledger, value=1000), exchange_scheme(ledger, value=2500)),
        shop=Shop(scheme, issuer, merchant),
        fund_id=fund_view.fund.id,
    )
    member = new_member(ledger)
    fund(ledger, member.address)
    for s, points in ((scheme, 10_000), (w.timebank, 50), (w.pair[0], 1_000)):
        issue_points(ledger, member.address, s.id, points, source())
    proxy: LocalAccount = Account.create()
    grant_proxy(ledger, member.address, proxy.address)
    w.callers = {
        "stranger": sign_in(client, Account.create()),
        "member": sign_in(client, member.account),
        "proxy": sign_in(client, proxy),
        "other_member": sign_in(client, new_member(ledger).account),
        "registrar": sign_in(client, ledger.operator("registrar")),
        "auditor": sign_in(client, ledger.operator("auditor")),
        "council": sign_in(client, ledger.operator("council-1")),
        "issuer": sign_in(client, issuer),
        "merchant": sign_in(client, merchant),
    }
    w.callers["wallet"] = custodial(w, None)
    w.callers["organiser"] = custodial(w, "organiser")
    w.callers["reviewer"] = custodial(w, "reviewer")
    return w


def ok(answer: Response) -> dict[str, Any]:
    assert answer.status_code < 300, answer.text
    data: dict[str, Any] = answer.json()
    return data


# --- what each row's path names -----------------------------------------------------------------


def an_order(w: World) -> int:
    item = list_item(w.ledger, w.shop, price=5, stock=1_000, per_member=1_000)
    body = {"item_id": item.item.id, "quantity": 1, "unit_price": 5}
    return int(ok(w.as_("member", "POST", f"/v1/members/{w.member}/orders", body))["id"])


def a_request(w: World, state: str) -> int:
    """A time-bank request of the member's, open or accepted by the other member."""
    body = {"scheme": w.timebank.code, "kind": "cleaning", "hours": 1, "needs": "打扫厨房"}
    rid = int(ok(w.as_("member", "POST", f"/v1/members/{w.member}/timebank/requests", body))["id"])
    if state == "accepted":
        helper = w["other_member"].address
        url = f"/v1/members/{helper}/timebank/requests/{rid}/accept"
        ok(w.as_("other_member", "POST", url, {}))
    return rid


def activity_body(w: World) -> dict[str, Any]:
    return bodies.activity(w.ledger, w.scheme.code, capacity=50)


def an_activity(w: World) -> int:
    return int(ok(w.as_("organiser", "POST", "/v1/issuer/activities", activity_body(w)))["id"])


def record_body(w: World) -> dict[str, Any]:
    """An hour of a fresh volunteer's service, ending two hours ago."""
    end = now(w.ledger) - 2 * HOUR
    return bodies.record(w.ledger, w.scheme.code, a_registered(w), end=as_typed(end))


def a_record(w: World, *, approved: bool = False) -> int:
    rid = int(ok(w.as_("organiser", "POST", "/v1/issuer/records", record_body(w)))["id"])
    if approved:
        ok(w.as_("reviewer", "POST", f"/v1/issuer/records/{rid}/approve", {"grade": "B"}))
    return rid


def correction(w: World) -> dict[str, Any]:
    """The record's end put an hour later."""
    fixed = {k: v for k, v in record_body(w).items() if k in ("start", "content", "evidence_hash")}
    return {**fixed, "end": as_typed(now(w.ledger) - HOUR), "reason": "结束时间记错"}


def batch_body(w: World) -> dict[str, Any]:
    start = now(w.ledger) - 2 * 86400 - secrets.randbelow(3600)
    key = f"RM-{secrets.token_hex(4)}"
    row = batch_row(key, a_registered(w), as_typed(start), as_typed(start + HOUR))
    return {"scheme": w.scheme.code, "reviewer": w["reviewer"].address, "csv": csv_text([row])}


def an_upload(w: World) -> int:
    """A batch upload planned and submitted by the organiser, waiting for its reviewer."""
    job = ok(w.as_("organiser", "POST", "/v1/issuer/batches", batch_body(w)))
    uploads = w.client.app.state.services.uploads  # type: ignore[attr-defined]
    done = uploads.wait(job["id"], 60)
    assert done.state == "awaiting_review", report_data(done)
    return int(job["id"])


def item_body(w: World) -> dict[str, Any]:
    return bodies.item(w.ledger, w.scheme.code)


def an_item(w: World) -> int:
    return int(ok(w.as_("merchant", "POST", "/v1/issuer/catalogue/items", item_body(w)))["id"])


def a_registered(w: World, *, frozen: bool = False) -> str:
    address: str = new_member(w.ledger).address
    if frozen:
        url = f"/v1/issuer/members/{address}/freeze"
        ok(w.as_("registrar", "POST", url, {"reason": 3}))
    return address


def personal() -> dict[str, str]:
    who = person()
    return {"name": who.name, "id_number": who.id_number, "phone": who.phone or "13800138000"}


def consent() -> str:
    return base64.b64encode(b"consent " + secrets.token_bytes(8)).decode()


def a_proxied(w: World) -> tuple[str, str]:
    address = a_registered(w)
    proxy = Account.create().address
    body = {"proxy": proxy, "consent_base64": consent()}
    ok(w.as_("registrar", "POST", f"/v1/issuer/members/{address}/proxies", body))
    return address, proxy


def a_proposal(w: World, *, approved: bool = False) -> int:
    """A unit-value proposal of the scheme by council-2 (and approved by council-3)."""
    second = sign_in(w.client, w.ledger.operator("council-2"))
    body = {"scheme": w.scheme.code, "unit_value": 1000 + secrets.randbelow(500)}
    pid = int(ok(second.write("POST", "/v1/issuer/proposals/unit-value", body))["id"])
    if approved:
        third = sign_in(w.client, w.ledger.operator("council-3"))
        ok(third.write("POST", f"/v1/issuer/proposals/{pid}/approve", {}))
    return pid


def quote(w: World) -> dict[str, Any]:
    a, b = w.pair
    return {"from_scheme": a.code, "to_scheme": b.code, "amount": 10}


def cert_body(w: World) -> dict[str, Any]:
    day = as_typed(now(w.ledger))[:10]
    return {"member": w.member, "from": day, "to": day}


# --- the matrix ---------------------------------------------------------------------------------

MEMBER = ("member", "proxy")
REGISTRAR = ("registrar",)
ORGANISERS = ("organiser", "issuer")
REVIEWERS = ("reviewer", "issuer")
MERCHANTS = ("merchant", "issuer")
STAFF = ("organiser", "reviewer", "merchant", "issuer")
COUNCIL = ("council",)


def member_url(tail: str) -> Callable[[World], str]:
    return lambda w: f"/v1/members/{w.member}{tail}"


MATRIX: tuple[Row, ...] = (
    # custodial wallets
    Row("POST /v1/wallets", REGISTRAR, lambda w: Call("/v1/wallets", {"pin": "735194"})),
    Row(
        "POST /v1/wallets/{address}/pin",
        ("wallet",),
        lambda w: Call(f"/v1/wallets/{w['wallet'].address}/pin", {"old_pin": PIN, "new_pin": PIN}),
    ),
    Row(
        "POST /v1/wallets/{address}/unlock",
        REGISTRAR,
        lambda w: Call(f"/v1/wallets/{w['wallet'].address}/unlock", {}),
    ),
    # the member's wallet: redeem, exchange, the time bank, gifts
    Row(
        "POST /v1/members/{address}/orders",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/orders",
            {"item_id": list_item(w.ledger, w.shop, price=5).item.id, "unit_price": 5},
        ),
    ),
    Row(
        "POST /v1/members/{address}/orders/{order_id}/cancel",
        MEMBER,
        lambda w: Call(f"/v1/members/{w.member}/orders/{an_order(w)}/cancel", {}),
    ),
    Row(
        "POST /v1/members/{address}/exchange/quote",
        (*MEMBER, "auditor"),
        lambda w: Call(f"/v1/members/{w.member}/exchange/quote", quote(w)),
    ),
    Row(
        "POST /v1/members/{address}/exchanges",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/exchanges", {**quote(w), "from_value": 1000, "to_value": 2500}
        ),
    ),
    Row(
        "POST /v1/members/{address}/timebank/requests",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/timebank/requests",
            {"scheme": w.timebank.code, "kind": "cleaning", "hours": 1, "needs": "打扫厨房"},
        ),
    ),
    Row(
        "POST /v1/members/{address}/timebank/requests/{request_id}/accept",
        ("other_member",),
        lambda w: Call(
            f"/v1/members/{w['other_member'].address}/timebank/requests/"
            f"{a_request(w, 'open')}/accept",
            {},
        ),
    ),
    Row(
        "POST /v1/members/{address}/timebank/requests/{request_id}/withdraw",
        ("other_member",),
        lambda w: Call(
            f"/v1/members/{w['other_member'].address}/timebank/requests/"
            f"{a_request(w, 'accepted')}/withdraw",
            {},
        ),
    ),
    Row(
        "POST /v1/members/{address}/timebank/requests/{request_id}/cancel",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/timebank/requests/{a_request(w, 'open')}/cancel", {}
        ),
    ),
    Row(
        "POST /v1/members/{address}/timebank/requests/{request_id}/confirm",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/timebank/requests/{a_request(w, 'accepted')}/confirm", {}
        ),
    ),
    Row(
        "POST /v1/members/{address}/timebank/requests/{request_id}/dispute",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/timebank/requests/{a_request(w, 'accepted')}/dispute",
            {"reason": 1},
        ),
    ),
    Row(
        "POST /v1/members/{address}/gifts",
        MEMBER,
        lambda w: Call(
            f"/v1/members/{w.member}/gifts",
            {"scheme": w.scheme.code, "recipient": w["other_member"].address, "amount": 1},
        ),
    ),
    Row(
        "POST /v1/members/{address}/funds/{fund_id}/donations",
        MEMBER,
        lambda w: Call(f"/v1/members/{w.member}/funds/{w.fund_id}/donations", {"amount": 1}),
    ),
    # certificates: by a registrar, an auditor, or an issuer of the member's records (the issuer
    # here has none: told there is nothing of theirs to certify). Signed with personal_sign,
    # which the matrix's callers do not do.
    Row(
        "POST /v1/certificates",
        ("registrar", "auditor", "issuer"),
        lambda w: Call("/v1/certificates", cert_body(w)),
        control=False,
    ),
    # activities and service records
    Row(
        "POST /v1/issuer/activities",
        ORGANISERS,
        lambda w: Call("/v1/issuer/activities", activity_body(w)),
    ),
    Row(
        "POST /v1/issuer/activities/{activity_id}/cancel",
        ORGANISERS,
        lambda w: Call(f"/v1/issuer/activities/{an_activity(w)}/cancel", {"reason": 2}),
    ),
    Row(
        "POST /v1/issuer/activities/{activity_id}/participants",
        ORGANISERS,
        lambda w: Call(
            f"/v1/issuer/activities/{an_activity(w)}/participants",
            {"member": a_registered(w)},
        ),
    ),
    # members sign up for themselves: whoever is not a registered member is told so
    Row(
        "POST /v1/issuer/activities/{activity_id}/sign-up",
        ("member", "other_member"),
        lambda w: Call(f"/v1/issuer/activities/{an_activity(w)}/sign-up", {}),
        refused=(404, "not_a_member"),
    ),
    Row(
        "POST /v1/issuer/records", ORGANISERS, lambda w: Call("/v1/issuer/records", record_body(w))
    ),
    Row(
        "POST /v1/issuer/records/{record_id}/approve",
        REVIEWERS,
        lambda w: Call(f"/v1/issuer/records/{a_record(w)}/approve", {"grade": "A"}),
    ),
    Row(
        "POST /v1/issuer/records/{record_id}/reject",
        REVIEWERS,
        lambda w: Call(f"/v1/issuer/records/{a_record(w)}/reject", {"reason": 1}),
    ),
    Row(
        "POST /v1/issuer/records/{record_id}/corrections",
        ORGANISERS,
        lambda w: Call(
            f"/v1/issuer/records/{a_record(w, approved=True)}/corrections", correction(w)
        ),
    ),
    # batch uploads (a custodial console wallet signs their many transactions)
    Row(
        "POST /v1/issuer/batches",
        ("organiser", "issuer"),
        lambda w: Call("/v1/issuer/batches", batch_body(w)),
    ),
    Row(
        "POST /v1/issuer/batches/{upload_id}/approve",
        REVIEWERS,
        lambda w: Call(f"/v1/issuer/batches/{an_upload(w)}/approve", {}),
    ),
    Row(
        "POST /v1/issuer/batches/{upload_id}/resume",
        STAFF,
        lambda w: Call(f"/v1/issuer/batches/{an_upload(w)}/resume", {}),
        control=False,
    ),
    # the merchant's catalogue
    Row(
        "POST /v1/issuer/catalogue/items",
        MERCHANTS,
        lambda w: Call("/v1/issuer/catalogue/items", item_body(w)),
    ),
    Row(
        "PUT /v1/issuer/catalogue/items/{item_id}",
        MERCHANTS,
        lambda w: Call(f"/v1/issuer/catalogue/items/{an_item(w)}", {"price": 40}),
    ),
    Row(
        "POST /v1/issuer/catalogue/items/{item_id}/delist",
        MERCHANTS,
        lambda w: Call(f"/v1/issuer/catalogue/items/{an_item(w)}/delist", {}),
    ),
    Row(
        "POST /v1/issuer/catalogue/orders/{order_id}/fulfil",
        MERCHANTS,
        lambda w: Call(f"/v1/issuer/catalogue/orders/{an_order(w)}/fulfil", {"code": "T-0001"}),
    ),
    # members and proxies
    Row(
        "POST /v1/issuer/members",
        REGISTRAR,
        lambda w: Call(
            "/v1/issuer/members",
            {"address": Account.create().address, **personal()},
        ),
    ),
    Row(
        "POST /v1/issuer/members/{address}/freeze",
        REGISTRAR,
        lambda w: Call(f"/v1/issuer/members/{a_registered(w)}/freeze", {"reason": 3}),
    ),
    Row(
        "POST /v1/issuer/members/{address}/unfreeze",
        REGISTRAR,
        lambda w: Call(
            f"/v1/issuer/members/{a_registered(w, frozen=True)}/unfreeze", {"reason": 3}
        ),
    ),
    Row(
        "POST /v1/issuer/members/{address}/proxies",
        REGISTRAR,
        lambda w: Call(
            f"/v1/issuer/members/{a_registered(w)}/proxies",
            {"proxy": Account.create().address, "consent_base64": consent()},
        ),
    ),
    Row(
        "POST /v1/issuer/members/{address}/proxies/{proxy}/revoke",
        REGISTRAR,
        lambda w: Call("/v1/issuer/members/{}/proxies/{}/revoke".format(*a_proxied(w)), {}),
    ),
    # the council
    Row(
        "POST /v1/issuer/proposals/unit-value",
        COUNCIL,
        lambda w: Call(
            "/v1/issuer/proposals/unit-value", {"scheme": w.scheme.code, "unit_value": 1200}
        ),
    ),
    Row(
        "POST /v1/issuer/proposals/{proposal_id}/approve",
        COUNCIL,
        lambda w: Call(f"/v1/issuer/proposals/{a_proposal(w)}/approve", {}),
    ),
    Row(
        "POST /v1/issuer/proposals/{proposal_id}/execute",
        COUNCIL,
        lambda w: Call(f"/v1/issuer/proposals/{a_proposal(w, approved=True)}/execute", {}),
    ),
)


# --- what a refusal must leave as it was --------------------------------------------------------


def state(ledger: Ledger) -> tuple[int, dict[str, str]]:
    """The chain's height (every write is a transaction; nothing else runs meanwhile) and a
    digest of every store table a write changes."""
    digests: dict[str, str] = {}
    with session(ledger.engine) as db:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in BOOKKEEPING or table.name.startswith("index_"):
                continue
            query = ROWS.get(table.name, f"SELECT * FROM {table.name}")
            rows = db.exec(text(query)).all()  # type: ignore[call-overload]
            digests[table.name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return ledger.w3.eth.block_number, digests


def changed(before: tuple[int, dict[str, str]], after: tuple[int, dict[str, str]]) -> list[str]:
    found = [f"blocks {before[0]} -> {after[0]}"] if before[0] != after[0] else []
    return found + [t for t in before[1] if before[1][t] != after[1].get(t)]


# --- the specification --------------------------------------------------------------------------


def test_the_matrix_covers_every_write_endpoint(client: TestClient) -> None:
    writes = {
        f"{method.upper()} {path}"
        for path, operations in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in operations
        if method in {"post", "put", "patch", "delete"}
    }
    rows = {row.route for row in MATRIX}
    assert len(rows) == len(MATRIX)
    assert writes - PUBLIC == rows, (writes - PUBLIC - rows, rows - writes)
    assert len(writes) == 44


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.route)
def test_every_other_role_is_refused_and_nothing_changes(world: World, row: Row) -> None:
    call = row.prepare(world)
    before = state(world.ledger)
    answers: dict[str, tuple[int, str]] = {}
    for role in ROLES:
        if role in row.allowed:
            continue
        answer = world.as_(role, row.method, call.url, call.body)
        error = answer.json().get("error", {}) if answer.content else {}
        answers[role] = (answer.status_code, error.get("code", ""))
    expected = {
        role: (401, "not_signed_in") if role == "nobody" else row.refused for role in answers
    }
    assert answers == expected
    assert changed(before, state(world.ledger)) == []
    if row.control:
        done = world.as_(row.allowed[0], row.method, call.url, call.body)
        assert done.status_code < 300, done.text
        if done.status_code == 202:  # a batch job: let it finish before the next row's counts
            uploads = world.client.app.state.services.uploads  # type: ignore[attr-defined]
            assert uploads.wait(done.json()["id"], 60).state in {"awaiting_review", "done"}
