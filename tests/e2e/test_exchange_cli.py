"""``vpl exchange`` and ``vpl clearing`` end to end: quote, run at the quoted values, limits as a
council proposal, settlements recorded and confirmed, the statement; every bad input a clear error
with its exit code and nothing changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from tests.e2e.runner import Vpl, fails, ok
from tests.earning_helpers import assert_unchanged
from tests.exchange_helpers import (
    change_value,
    exchange_scheme,
    exchange_state,
    grant_proxy,
    holder,
)


@dataclass(frozen=True)
class Pair:
    """Scheme a of issuer-green (worth one standard unit) and b of issuer-culture (two), and a
    member holding 100 points of a with issuer-vol as their proxy."""

    ledger: Ledger
    a: Scheme
    b: Scheme
    member: str

    def codes(self) -> tuple[str, str, str]:
        """a's code, b's code and the member, as the commands take them."""
        return self.a.code, self.b.code, self.member

    def state(self) -> dict[str, Any]:
        return exchange_state(self.ledger, [self.a, self.b], [self.member])


@pytest.fixture
def pair(ledger: Ledger) -> Pair:
    a = exchange_scheme(ledger, value=1000, issuer="issuer-green")
    b = exchange_scheme(ledger, value=2000, issuer="issuer-culture")
    member = holder(ledger, a, 100)
    grant_proxy(ledger, member.address)
    return Pair(ledger, a, b, member.address)


def test_quote_then_run_with_the_printed_values(vpl: Vpl, ledger: Ledger, pair: Pair) -> None:
    a, b, m = pair.codes()
    text = vpl("exchange", "quote", m, a, b, "9")
    assert text.exit_code == 0, text.output
    assert f"gives 8 {a} points and receives 4 {b} points" in text.stdout
    assert f"1 of the 9 {a} points asked stay with the member" in text.stdout
    q = ok(vpl("--json", "exchange", "quote", m, a, b, "9"))
    assert (q["used"], q["out"], q["values"], q["ok"]) == (8, 4, "1000:2000", True)
    done = ok(
        vpl(
            "--json", "--as", "issuer-vol", "exchange", "run", m, a, b, "9", "--values", q["values"]
        )
    )
    assert (done["used"], done["out"], done["value"]) == (8, 4, 8000)
    assert ledger.points.balances(m, [pair.a.id, pair.b.id]) == {pair.a.id: 92, pair.b.id: 4}


def test_a_stale_quote_is_refused(vpl: Vpl, ledger: Ledger, pair: Pair) -> None:
    a, b, m = pair.codes()
    q = ok(vpl("--json", "exchange", "quote", m, a, b, "10"))
    change_value(ledger, pair.b, 2500)
    before = pair.state()
    fails(vpl("exchange", "run", m, a, b, "10", "--values", q["values"]), 3, "the quote is stale")
    assert_unchanged(before, pair.state())


def test_bad_amounts_and_values_are_refused(vpl: Vpl, pair: Pair) -> None:
    a, b, m = pair.codes()
    before = pair.state()
    fails(vpl("exchange", "run", m, a, b, "-5", "--values", "1000:2000"), 2, "must be positive")
    fails(vpl("exchange", "run", m, a, b, "0", "--values", "1000:2000"), 2, "must be positive")
    fails(vpl("exchange", "quote", m, a, b, str(2**88)), 2, "larger than the maximum")
    fails(vpl("exchange", "run", m, a, b, "5", "--values", "1000"), 2, "FROM_VALUE:TO_VALUE")
    fails(vpl("exchange", "run", m, a, b, "202", "--values", "1000:2000"), 3, "fewer than")
    same = vpl("exchange", "run", m, a, a, "5", "--values", "1000:1000")
    fails(same, 3, "from one scheme into another")
    assert_unchanged(before, pair.state())


def test_a_proxy_without_the_grant_and_a_declining_scheme(vpl: Vpl, pair: Pair) -> None:
    a, b, m = pair.codes()
    before = pair.state()
    q = ok(vpl("--json", "--as", "issuer-bee", "exchange", "quote", m, a, b, "4"))
    assert q["ok"] is False and q["problem"]["error"] == "ExchangeUnauthorized"
    fails(
        vpl("--as", "issuer-bee", "exchange", "run", m, a, b, "4", "--values", "1000:2000"),
        3,
        "may not exchange for",
    )
    ok(vpl("--json", "council", "propose", "flags", b, "redemption", "--approve-all"))
    declined = vpl("exchange", "run", m, a, b, "4", "--values", "1000:2000")
    fails(declined, 3, "does not accept exchanges")
    assert_unchanged(before, pair.state())


def test_limits_are_a_council_proposal_and_are_enforced(vpl: Vpl, pair: Pair) -> None:
    a, b, m = pair.codes()
    proposal = ok(
        vpl(
            "--json",
            "exchange",
            "limits",
            "set",
            a,
            "--min",
            "2",
            "--member-daily",
            "10",
            "--approve-all",
        )
    )
    assert proposal["state"] == "executed"
    shown = ok(vpl("--json", "exchange", "limits", "show", a))
    assert (shown["min_value"], shown["member_daily"], shown["member_monthly"]) == (2000, 10_000, 0)
    before = pair.state()
    fails(vpl("exchange", "run", m, a, b, "1", "--values", "1000:2000"), 3, "below the minimum")
    fails(vpl("exchange", "run", m, a, b, "12", "--values", "1000:2000"), 3, "member's daily")
    assert_unchanged(before, pair.state())
    fails(
        vpl("exchange", "limits", "set", a, "--member-daily", "-1", "--approve-all"),
        2,
        "standard units",
    )


def test_settle_confirm_list_and_statement(vpl: Vpl, pair: Pair) -> None:
    a, b, m = pair.codes()
    ok(
        vpl("--json", "exchange", "run", m, a, b, "20", "--values", "1000:2000")
    )  # green owes 20.000
    before = pair.state()
    fails(vpl("clearing", "settle", a, b, "20.001", "--reference", "T1"), 3, "is more")
    fails(vpl("clearing", "settle", a, b, "-1", "--reference", "T1"), 2, "not an amount")
    fails(
        vpl("--as", "issuer-culture", "clearing", "settle", a, b, "5", "--reference", "T1"),
        3,
        "is not the issuer",
    )
    assert_unchanged(before, pair.state())
    settled = ok(vpl("--json", "clearing", "settle", a, b, "12.5", "--reference", "银行转账 T1"))
    assert (settled["status"], settled["amount"]) == ("pending", 12_500)
    sid = str(settled["id"])
    before = pair.state()
    fails(vpl("--as", "issuer-green", "clearing", "confirm", sid), 3, "is not the issuer of scheme")
    assert_unchanged(before, pair.state())
    confirmed = ok(vpl("--json", "clearing", "confirm", sid))
    assert confirmed["status"] == "confirmed"
    fails(vpl("clearing", "cancel", sid), 3, "no longer pending")
    listed = ok(vpl("--json", "clearing", "list", "--status", "confirmed"))
    assert any(x["id"] == settled["id"] for x in listed)
    st = ok(vpl("--json", "clearing", "statement", "--period", "month"))
    assert st["positions"][a] == -7500 and st["positions"][b] == 7500
    assert sum(st["positions"].values()) == 0
    assert {"payer": a, "payee": b, "owed": 7500, "pending": 0} in st["owed"]
    text = vpl("clearing", "statement")
    assert text.exit_code == 0 and "net positions now" in text.stdout
    fails(vpl("clearing", "statement", "--period", "week"), 2, "day or month")
