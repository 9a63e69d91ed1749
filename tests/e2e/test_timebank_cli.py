"""``vpl proxy`` and ``vpl timebank``, end to end: a registrar records the street service centre's
community worker (``issuer-time``) as the proxy of two elderly members; the worker posts, accepts
and confirms for them; a reviewer settles a dispute; refusals exit 3 and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.ledger import Ledger
from tests.contracts.helpers import source
from tests.e2e.runner import Vpl, fails, ok
from tests.factories import new_member, new_scheme
from tests.probes import issue_points

WORKER = "issuer-time"


@pytest.fixture
def scheme(vpl: Vpl, ledger: Ledger) -> Scheme:
    s = new_scheme(
        ledger, issuer=ledger.operator("issuer-time").address, flags=SchemeFlag.TIME_BANK
    )
    ok(vpl("--json", "role", "grant", "reviewer", "reviewer-1", "--scheme", s.code))
    return s


def test_proxies_post_accept_confirm_and_dispute(
    vpl: Vpl, ledger: Ledger, scheme: Scheme, tmp_path: Path
) -> None:
    requester, helper = new_member(ledger).address, new_member(ledger).address
    issue_points(ledger, requester, scheme.id, 5, source())
    post = (
        "timebank", "post", requester, "--scheme", scheme.code, "--kind", "escort",
        "--hours", "2", "--needs", "周三上午陪同去医院复诊", "--address", "祖庙街道 3 号",
    )  # fmt: skip

    # without the grant the worker is refused: exit 3, nothing posted
    count = ledger.timebank_contract.request_count()
    fails(vpl("--as", WORKER, *post), 3, "is neither")
    assert ledger.timebank_contract.request_count() == count

    consent = tmp_path / "consent.txt"
    consent.write_text("本人同意社区工作者代为操作爱心银行", encoding="utf-8")
    granted = ok(vpl("--json", "proxy", "grant", requester, WORKER, "--consent", str(consent)))
    assert granted["active"] and granted["consent_on_file"]
    ok(vpl("--json", "proxy", "grant", helper, WORKER, "--consent", "口头同意，有社区见证人签字"))
    listed = ok(vpl("--json", "proxy", "list", requester))
    assert [g["proxy"] for g in listed] == [ledger.operator(WORKER).address]

    posted = ok(vpl("--json", "--as", WORKER, *post))
    request_id = str(posted["id"])
    assert (posted["status"], posted["kind"], posted["hours"], posted["address"]) == (
        "open",
        "escort",
        2,
        "祖庙街道 3 号",
    )
    hidden = ok(vpl("--json", "timebank", "show", request_id))
    assert hidden["address"] is None and hidden["address_hidden"]

    fails(
        vpl("--as", WORKER, "timebank", "accept", request_id, "--helper", requester),
        3,
        "cannot also accept",
    )
    accepted = ok(
        vpl("--json", "--as", WORKER, "timebank", "accept", request_id, "--helper", helper)
    )
    assert accepted["status"] == "accepted"
    assert ledger.points.balance_of(requester, scheme.id) == 3
    ok(vpl("--json", "--as", WORKER, "timebank", "confirm", request_id))
    fails(vpl("--as", WORKER, "timebank", "confirm", request_id), 3, "is completed")
    assert ledger.points.balance_of(helper, scheme.id) == 2

    records = ok(vpl("--json", "timebank", "records", helper))
    assert [(r["request_id"], r["hours"]) for r in records] == [(int(request_id), 2)]
    shown = ok(vpl("--json", "--as", WORKER, "timebank", "show", request_id))
    assert [h["event"] for h in shown["history"]] == [
        "RequestPosted", "RequestAccepted", "RequestConfirmed", "TimeBankServiceRecorded",
    ]  # fmt: skip
    assert shown["address"] == "祖庙街道 3 号"

    # a dispute, settled by a reviewer with a split; a party cannot settle it
    second = ok(vpl("--json", "--as", WORKER, *post[:-4], "--needs", "买菜"))["id"]
    ok(vpl("--json", "--as", WORKER, "timebank", "accept", str(second), "--helper", helper))
    ok(vpl("--json", "--as", WORKER, "timebank", "dispute", str(second), "--reason", "3"))
    fails(
        vpl("--as", WORKER, "timebank", "resolve", str(second), "--helper-hours", "1"),
        3,
        "not a reviewer",
    )
    fails(vpl("timebank", "resolve", str(second), "--helper-hours", "3"), 3, "holds 2 hours")
    resolved = ok(vpl("--json", "timebank", "resolve", str(second), "--helper-hours", "1"))
    assert resolved["status"] == "resolved"
    assert (
        ledger.points.balance_of(requester, scheme.id),
        ledger.points.balance_of(helper, scheme.id),
    ) == (2, 3)
    listed_requests = ok(vpl("--json", "timebank", "list", "--member", helper))
    assert [r["id"] for r in listed_requests] == [second, int(request_id)]

    # after revocation the worker is refused again
    ok(vpl("--json", "proxy", "revoke", requester, WORKER))
    fails(vpl("--as", WORKER, *post), 3, "is neither")
    assert ok(vpl("--json", "proxy", "list", requester)) == []


def test_bad_input_exits_2_before_anything_is_sent(
    vpl: Vpl, ledger: Ledger, scheme: Scheme
) -> None:
    member = new_member(ledger).address
    base = ("timebank", "post", member, "--scheme", scheme.code, "--needs", "陪伴")
    count = ledger.timebank_contract.request_count()
    fails(vpl("--as", WORKER, *base, "--kind", "cleaning", "--hours", "0"), 2, "must be 1 to 1000")
    fails(
        vpl(
            "--as",
            WORKER,
            *base,
            "--kind",
            "cleaning",
            "--hours",
            "99999999999999999999999999999999999999999999999999999999999999999999999999999999",
        ),
        2,
        "must be 1 to 1000",
    )
    fails(vpl("--as", WORKER, *base, "--kind", "clean", "--hours", "1"), 2, "Did you mean")
    fails(vpl(*base, "--kind", "cleaning", "--hours", "1"), 2, "--as")
    fails(
        vpl("--as", WORKER, "timebank", "dispute", "1", "--reason", "7"),
        2,
        "unknown dispute reason",
    )
    fails(vpl("proxy", "grant", member, WORKER, "--consent", " "), 2, "consent is empty")
    assert ledger.timebank_contract.request_count() == count
    kinds = ok(vpl("--json", "timebank", "kinds"))
    assert {k["name"] for k in kinds["kinds"]} >= {
        "companionship",
        "shopping",
        "cleaning",
        "escort",
        "repairs",
        "other",
    }
