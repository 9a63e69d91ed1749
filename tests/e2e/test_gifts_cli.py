"""``vpl gift`` and ``vpl fund``, end to end against the session's chain and store. A community
worker's operator key (reviewer-2 here) is the members' recorded proxy; reviewer-1 manages funds."""

from __future__ import annotations

import pytest

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.ledger import Ledger
from tests.contracts.helpers import source
from tests.e2e.runner import Vpl, fails, ok
from tests.factories import new_member, new_scheme
from tests.probes import issue_points

WORKER = "reviewer-2"
MANAGER = "reviewer-1"


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger, issuer=ledger.operator("issuer-vol").address)


def resident(ledger: Ledger, scheme_id: int, points: int = 0) -> str:
    """A member with points whose recorded proxy is the community worker."""
    address = new_member(ledger).address
    if points:
        issue_points(ledger, address, scheme_id, points, source())
    ledger.members.grant_proxy(
        ledger.operator("registrar"), address, ledger.operator(WORKER).address, b"\x02" * 32
    )
    return address


def test_a_gift_signed_by_the_members_proxy(vpl: Vpl, ledger: Ledger, scheme: Scheme) -> None:
    giver, recipient = resident(ledger, scheme.id, 50), resident(ledger, scheme.id)
    args = ("gift", giver, recipient, "20", "--scheme", scheme.code, "--memo", "买菜的谢礼")
    gift = ok(vpl("--json", "--as", WORKER, *args, "--request-id", "cli-gift-1"))
    assert (gift["kind"], gift["amount"], gift["text"], gift["repeated"]) == (
        "gift",
        20,
        "买菜的谢礼",
        False,
    )
    assert ledger.points.balance_of(recipient, scheme.id) == 20
    again = ok(vpl("--json", "--as", WORKER, *args, "--request-id", "cli-gift-1"))
    assert again["repeated"] and again["tx_hash"] == gift["tx_hash"]
    assert ledger.points.balance_of(recipient, scheme.id) == 20
    shown = vpl("--as", WORKER, "gift", giver, recipient, "1", "--scheme", scheme.code)
    assert shown.exit_code == 0 and "gift of 1 points" in shown.stdout


def test_gift_refusals_exit_clearly_and_change_nothing(
    vpl: Vpl, ledger: Ledger, scheme: Scheme
) -> None:
    giver, recipient = resident(ledger, scheme.id, 10), resident(ledger, scheme.id)
    closed = new_scheme(ledger, flags=SchemeFlag.REDEMPTION)
    issue_points(ledger, giver, closed.id, 10, source())

    def balances() -> tuple[int, ...]:
        p = ledger.points
        return (
            p.balance_of(giver, scheme.id),
            p.balance_of(recipient, scheme.id),
            p.balance_of(giver, closed.id),
        )

    before = balances()
    gift = ("gift", giver, recipient)
    fails(vpl(*gift, "5", "--scheme", scheme.code), 2, "name the operator with --as")
    fails(vpl("--as", WORKER, *gift, "0", "--scheme", scheme.code), 2, "must be positive")
    negative = ("gift", "--scheme", scheme.code, "--", giver, recipient, "-3")
    fails(vpl("--as", WORKER, *negative), 2, "must be positive")
    fails(vpl("--as", WORKER, *gift, "abc", "--scheme", scheme.code), 2, "not a whole number")
    fails(vpl("--as", WORKER, *gift, str(2**88), "--scheme", scheme.code), 2, "larger than")
    fails(
        vpl("--as", WORKER, *gift, "11", "--scheme", scheme.code),
        3,
        "holds 10 points of scheme",
    )
    fails(
        vpl("--as", MANAGER, *gift, "5", "--scheme", scheme.code),
        3,
        "nor a recorded proxy",
    )
    fails(vpl("--as", WORKER, *gift, "5", "--scheme", closed.code), 3, "does not allow gifts")
    fails(
        vpl("--as", WORKER, "gift", giver, giver, "5", "--scheme", scheme.code),
        3,
        "cannot receive these points",
    )
    stranger = "0x" + "ab" * 20
    fails(
        vpl("--as", WORKER, "gift", giver, stranger, "5", "--scheme", scheme.code),
        3,
        "not an active member",
    )
    assert balances() == before


def test_a_community_fund_from_donation_to_grant_with_its_history(
    vpl: Vpl, ledger: Ledger, scheme: Scheme
) -> None:
    fund = ok(
        vpl(
            "--json",
            "fund",
            "create",
            scheme.code,
            "--name",
            "百瑞景共同缔造基金 CLI",
            "--manager",
            MANAGER,
            "--description",
            "楼道改造",
        )
    )
    fund_id = str(fund["id"])
    assert (fund["name"], fund["balance"], fund["manager"]) == (
        "百瑞景共同缔造基金 CLI",
        0,
        ledger.operator(MANAGER).address,
    )
    donor, elder = resident(ledger, scheme.id, 100), resident(ledger, scheme.id)
    donation = ok(
        vpl("--json", "--as", WORKER, "fund", "donate", fund_id, donor, "60", "--note", "一点心意")
    )
    assert (donation["kind"], donation["amount"], donation["fund_id"]) == (
        "donation",
        60,
        int(fund_id),
    )
    grant = ok(
        vpl("--json", "fund", "grant", fund_id, elder, "25", "--purpose", "为独居老人安装扶手")
    )
    assert (grant["kind"], grant["to"], grant["amount"]) == ("grant", elder, 25)
    shown = ok(vpl("--json", "fund", "show", fund_id))
    assert (shown["balance"], shown["donated"], shown["granted"]) == (35, 60, 25)
    listed = ok(vpl("--json", "fund", "list", "--scheme", scheme.code))
    assert int(fund_id) in [f["id"] for f in listed]
    history = ok(vpl("--json", "fund", "history", fund_id))["history"]
    assert [(h["kind"], h["amount"], h["text"]) for h in history] == [
        ("created", 0, "百瑞景共同缔造基金 CLI"),
        ("donation", 60, "一点心意"),
        ("grant", 25, "为独居老人安装扶手"),
    ]
    table = vpl("fund", "history", fund_id)
    assert table.exit_code == 0 and "3 events" in table.stdout

    # refusals: more than the fund holds, not the manager, no purpose, no --as for a donation
    fails(
        vpl("fund", "grant", fund_id, elder, "36", "--purpose", "买菜"),
        3,
        "holds 35 points, fewer than the 36",
    )
    fails(
        vpl("--as", WORKER, "fund", "grant", fund_id, elder, "5", "--purpose", "买菜"),
        3,
        "not the manager",
    )
    fails(vpl("fund", "grant", fund_id, elder, "5", "--purpose", " "), 2, "purpose")
    fails(vpl("fund", "donate", fund_id, donor, "5"), 2, "name the operator with --as")
    fails(vpl("fund", "show", "999999"), 3, "there is no fund 999999")
    after = ok(vpl("--json", "fund", "show", fund_id))
    assert (after["balance"], after["donated"], after["granted"]) == (35, 60, 25)
    new = ok(vpl("--json", "fund", "manager", fund_id, WORKER))
    assert new["manager"] == ledger.operator(WORKER).address
