"""``vpl council propose policy|pause|resume``, ``vpl scheme pause`` and ``vpl points``, end to
end against the session's chain."""

from __future__ import annotations

from typer.testing import Result

from ledger.chain.contracts import Scheme
from ledger.chain.contracts.schemes import Policy
from ledger.ledger import Ledger
from tests.contracts.helpers import source
from tests.e2e.runner import Vpl, fails, ok
from tests.factories import new_holder, new_member, new_scheme
from tests.probes import issue_points


def policy(vpl: Vpl, scheme: Scheme, *options: str) -> Result:
    """The council proposes the policy `options` for `scheme` and passes it at once."""
    return vpl("--json", "council", "propose", "policy", scheme.code, *options, "--approve-all")


def test_a_policy_goes_through_the_council_and_shows_on_the_scheme(
    vpl: Vpl, ledger: Ledger
) -> None:
    s = new_scheme(ledger)
    ok(policy(vpl, s, "--expiry-months", "24", "--max-balance", "5000"))
    assert ledger.schemes.policy_of(s.id) == Policy(max_balance=5000, expiry_months=24)
    shown = ok(vpl("--json", "scheme", "show", s.code))
    assert (shown["expiry_months"], shown["max_balance"], shown["supply_limit"]) == (24, 5000, 0)
    assert shown["paused"] is False
    fails(
        vpl("council", "propose", "policy", s.code, "--expiry-months", "1201", "--approve-all"),
        2,
        "larger than the maximum 1200",
    )
    assert ledger.schemes.policy_of(s.id) == Policy(max_balance=5000, expiry_months=24)


def test_a_pauser_pauses_a_scheme_the_council_resumes_it(vpl: Vpl, ledger: Ledger) -> None:
    s = new_scheme(ledger)
    ok(vpl("--json", "role", "grant", "pauser", "council-2", "--approve-all"))
    paused = ok(vpl("--json", "--as", "council-2", "scheme", "pause", s.code))
    assert paused["paused"] == s.code
    assert ok(vpl("--json", "scheme", "show", s.code))["paused"] is True
    member = new_member(ledger)
    # Only the council resumes.
    ok(vpl("--json", "council", "propose", "resume", s.code, "--approve-all"))
    assert not ledger.schemes.is_paused(s.id)
    issue_points(ledger, member.address, s.id, 1, source())
    fails(vpl("--as", "issuer-vol", "scheme", "pause", s.code), 3, "lacks the role pauser")


def test_the_issuer_freezes_and_releases_points_and_the_balance_shows_them(
    vpl: Vpl, ledger: Ledger
) -> None:
    s = new_scheme(ledger)
    member = new_holder(ledger, s.id, 100)
    frozen = ok(vpl("--json", "points", "freeze", member.address, s.code, "40", "--case", "CASE-7"))
    assert (frozen["frozen"], frozen["available"]) == (40, 60)
    [row] = [b for b in ok(vpl("--json", "balance", member.address)) if b["scheme"] == s.code]
    assert (row["amount"], row["available"], row["frozen"], row["expiring"]) == (100, 60, 40, [])
    fails(
        vpl("points", "freeze", member.address, s.code, "61", "--case", "CASE-7"),
        3,
        "fewer than the 61 needed",
    )
    fails(vpl("points", "freeze", member.address, s.code, "0", "--case", "CASE-7"), 2, "positive")
    released = ok(
        vpl("--json", "points", "release", member.address, s.code, "40", "--case", "CASE-7")
    )
    assert (released["frozen"], released["available"]) == (0, 100)
    assert ledger.points.frozen_of(member.address, s.id) == 0


def test_the_expiry_sweep_reports_nothing_due_on_a_fresh_scheme(vpl: Vpl, ledger: Ledger) -> None:
    s = new_scheme(ledger)
    member = new_member(ledger)
    ok(policy(vpl, s, "--expiry-months", "12"))
    issue_points(ledger, member.address, s.id, 7, source())
    [row] = [b for b in ok(vpl("--json", "balance", member.address)) if b["scheme"] == s.code]
    [lot] = row["expiring"]
    assert (lot["amount"], lot["expired"]) == (7, False)
    swept = ok(vpl("--json", "points", "expire", s.code, "--member", member.address))
    assert (swept["accounts"], swept["expired"], swept["transactions"]) == (0, 0, [])


def test_a_negative_amount_is_a_usage_error_with_exit_code_2(vpl: Vpl, ledger: Ledger) -> None:
    """`-3` reads as an unknown option: click's usage error and exit 2 (bad input), not 1."""
    s = new_scheme(ledger)
    member = new_member(ledger)
    result = vpl("points", "freeze", member.address, s.code, "-3", "--case", "CASE-9")
    assert result.exit_code == 2, result.output
    assert "No such option: -3" in result.output
    assert "Traceback" not in result.output
    assert ledger.points.frozen_of(member.address, s.id) == 0
