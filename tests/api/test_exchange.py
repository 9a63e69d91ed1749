"""Exchange through the API: a quote is a read, executing passes the quoted values (a changed one
is refused as stale), an Idempotency-Key makes a retry exchange once, and bad input changes
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from tests.api.conftest import Session, member_holding, sign_in
from tests.exchange_helpers import change_value, exchange_scheme, exchange_state, holder


@pytest.fixture(scope="module")
def pair(ledger: Ledger) -> tuple[Scheme, Scheme]:
    return exchange_scheme(ledger, value=1000), exchange_scheme(ledger, value=2500)


def quote(caller: Session, member: str, ask: dict[str, Any]) -> Response:
    """A quote asked for `member` (a read: sent once, never signed)."""
    return caller.client.post(
        f"/v1/members/{member}/exchange/quote", json=ask, headers=caller.headers
    )


def run_unsigned(caller: Session, member: str, body: dict[str, Any]) -> Response:
    """An exchange sent without a signature: refused before signing, or answered 428."""
    return caller.client.post(f"/v1/members/{member}/exchanges", json=body, headers=caller.headers)


def asking(
    ledger: Ledger, client: TestClient, pair: tuple[Scheme, Scheme], points: int, amount: int
) -> tuple[Session, dict[str, Any]]:
    """A member holding `points` of the pair's first scheme, signed in, and what they ask:
    `amount` of those points into the second."""
    a, b = pair
    me = member_holding(ledger, client, a.id, points)
    return me, {"from_scheme": a.code, "to_scheme": b.code, "amount": amount}


def test_a_member_quotes_then_exchanges_at_the_quoted_values_and_a_retry_exchanges_once(
    client: TestClient, ledger: Ledger, pair: tuple[Scheme, Scheme]
) -> None:
    a, b = pair
    me, ask = asking(ledger, client, pair, 100, 12)
    before_quote = exchange_state(ledger, pair, [me.address])
    quoted = quote(me, me.address, ask)
    assert quoted.status_code == 200, quoted.text
    q = quoted.json()
    assert (q["from"], q["to"], q["used"], q["out"], q["kept"], q["ok"]) == (
        a.code,
        b.code,
        10,
        4,
        2,
        True,
    )
    assert (q["from_value"], q["to_value"], q["problem"]) == (1000, 2500, None)
    assert exchange_state(ledger, pair, [me.address]) == before_quote  # a read

    body = {**ask, "from_value": q["from_value"], "to_value": q["to_value"]}
    url = f"/v1/members/{me.address}/exchanges"
    done = me.write("POST", url, body, key="exchange-1")
    assert done.status_code == 201, done.text
    result = done.json()
    assert (result["member"], result["used"], result["out"]) == (me.address, 10, 4)
    again = me.write("POST", url, body, key="exchange-1")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["exchange_id"] == result["exchange_id"]
    assert ledger.points.balance_of(me.address, a.id) == 90
    assert ledger.points.balance_of(me.address, b.id) == 4


def test_a_value_changed_since_the_quote_is_refused_as_stale_and_nothing_moves(
    client: TestClient, ledger: Ledger
) -> None:
    a, b = exchange_scheme(ledger, value=1000), exchange_scheme(ledger, value=1000)
    me, ask = asking(ledger, client, (a, b), 50, 10)
    q = quote(me, me.address, ask).json()
    change_value(ledger, b, 2000, lead=1)
    before = exchange_state(ledger, (a, b), [me.address])
    stale = run_unsigned(
        me, me.address, {**ask, "from_value": q["from_value"], "to_value": q["to_value"]}
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "stale_quote"
    assert stale.json()["error"]["message_zh"] == "兑换价值已变动，请重新报价。"
    assert exchange_state(ledger, (a, b), [me.address]) == before


def test_a_quote_says_why_it_would_be_refused_and_execute_refuses_before_signing(
    client: TestClient, ledger: Ledger, pair: tuple[Scheme, Scheme]
) -> None:
    me, ask = asking(ledger, client, pair, 5, 50)
    q = quote(me, me.address, ask).json()
    assert q["ok"] is False and q["problem"]["error"]
    before = exchange_state(ledger, pair, [me.address])
    refused = run_unsigned(me, me.address, {**ask, "from_value": 1000, "to_value": 2500})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_balance"
    assert exchange_state(ledger, pair, [me.address]) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_scheme": "A", "to_scheme": "B", "amount": 0}, "amount"),
        ({"from_scheme": "", "to_scheme": "B", "amount": 1}, "from_scheme"),
        ({"from_scheme": "A", "to_scheme": "B", "amount": 1, "from_value": -1}, "from_value"),
        ({"from_scheme": "A", "to_scheme": "B", "amount": "x"}, "amount"),
    ],
)
def test_bad_exchange_input_lists_the_field(
    client: TestClient, ledger: Ledger, pair: tuple[Scheme, Scheme], body: dict, field: str
) -> None:
    me = sign_in(client, holder(ledger, pair[0], 0).account)
    answer = run_unsigned(me, me.address, {"from_value": 1000, "to_value": 1000, **body})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert any(f["field"].endswith(field) for f in error["details"]["fields"])


def test_another_member_may_neither_quote_nor_exchange_for_a_member(
    client: TestClient, ledger: Ledger, pair: tuple[Scheme, Scheme]
) -> None:
    owner = holder(ledger, pair[0], 10)
    other, ask = asking(ledger, client, pair, 0, 10)
    asked = quote(other, owner.address, ask)
    assert asked.status_code == 403
    assert asked.json()["error"]["code"] == "access_denied"
    before = exchange_state(ledger, pair, [owner.address])
    run = run_unsigned(other, owner.address, {**ask, "from_value": 1000, "to_value": 2500})
    assert run.status_code == 403
    assert exchange_state(ledger, pair, [owner.address]) == before
    unknown = quote(other, other.address, {**ask, "from_scheme": "NOPE"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_scheme"


def test_a_schemes_exchange_limits_are_public(
    client: TestClient, ledger: Ledger, pair: tuple[Scheme, Scheme]
) -> None:
    answer = client.get(f"/v1/schemes/{pair[0].code}/exchange-limits")
    assert answer.status_code == 200, answer.text
    limits = answer.json()
    assert limits["scheme"] == pair[0].code
    assert {"min_value", "member_daily", "scheme_out_today", "scheme_in_today"} <= set(limits)
    assert client.get("/v1/schemes/NOPE/exchange-limits").status_code == 404
