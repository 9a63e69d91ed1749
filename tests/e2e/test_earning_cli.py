"""``vpl limits``, ``vpl activity``, ``vpl record`` and ``vpl issue batch``, end to end against the
session's chain and store."""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path

import pytest

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from ledger.values import CST
from tests.e2e.runner import Vpl, fails, ok
from tests.factories import new_member, new_scheme


def iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, CST).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def scheme(vpl: Vpl, ledger: Ledger) -> Scheme:
    """A scheme with a rule, limits, an organiser and a reviewer, all set through the CLI."""
    s = new_scheme(ledger, issuer=ledger.operator("issuer-vol").address)
    ok(
        vpl(
            "--json", "rule", "duration", s.code, "--points-per-hour", "10", "--grades", "A=1.2,B=1"
        )
    )
    limits = ok(
        vpl(
            "--json",
            "limits",
            "set",
            s.code,
            "--records-per-day",
            "6",
            "--minutes-per-day",
            "720",
            "--points-per-day",
            "1000",
            "--points-per-week",
            "5000",
            "--approvals-per-hour",
            "60",
        )
    )
    assert limits["records_per_day"] == 6 and limits["late_working_days"] == 10
    ok(vpl("--json", "role", "grant", "organiser", "issuer-bee", "--scheme", s.code))
    ok(vpl("--json", "role", "grant", "reviewer", "reviewer-1", "--scheme", s.code))
    ok(vpl("--json", "role", "grant", "reviewer", "reviewer-2", "--scheme", s.code))
    return s


def test_an_activity_a_record_and_its_review(vpl: Vpl, ledger: Ledger, scheme: Scheme) -> None:
    member = new_member(ledger).address
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    activity = ok(
        vpl(
            "--json",
            "--as",
            "issuer-bee",
            "activity",
            "create",
            scheme.code,
            "--name",
            "助老送餐",
            "--place",
            "百瑞景社区",
            "--content",
            "送午餐",
            "--unit",
            "百瑞景社区居委会",
            "--person",
            "王主任",
            "--start",
            iso(now - 60),
            "--end",
            iso(now + 7200),
            "--capacity",
            "2",
        )
    )
    assert activity["places_left"] == 2 and activity["details"]["name"] == "助老送餐"
    ok(vpl("--json", "--as", "issuer-bee", "activity", "assign", str(activity["id"]), member))
    ledger.w3.provider.make_request("evm_increaseTime", [3600])  # type: ignore[arg-type]
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    record = ok(
        vpl(
            "--json",
            "--as",
            "issuer-bee",
            "record",
            "submit",
            scheme.code,
            "--volunteer",
            member,
            "--activity",
            str(activity["id"]),
            "--start",
            iso(now),
            "--end",
            iso(now + 2400),
            "--content",
            "送餐 12 份",
            "--evidence",
            "0x" + os.urandom(32).hex(),
        )
    )
    assert record["status"] == "pending" and record["details"]["place"] == "百瑞景社区"

    # the submitter may not review their own record, even holding the reviewer role
    ok(vpl("--json", "role", "grant", "reviewer", "issuer-bee", "--scheme", scheme.code))
    fails(
        vpl("--as", "issuer-bee", "record", "approve", str(record["id"]), "--grade", "B"),
        3,
        "may not review it",
    )
    approved = ok(
        vpl("--json", "--as", "reviewer-2", "record", "approve", str(record["id"]), "--grade", "B")
    )
    assert approved["status"] == "approved" and approved["points"] == 6  # 40 min x 10/h x 1.0
    listed = ok(vpl("--json", "record", "list", "--scheme", scheme.code, "--status", "approved"))
    assert [r["id"] for r in listed] == [record["id"]]
    again = vpl("--as", "reviewer-1", "record", "approve", str(record["id"]))
    fails(again, 3, "not awaiting review")
    refusals = ok(vpl("--json", "record", "refusals", "--last", "5"))
    assert any(r["error"] == "RecordsNotPending" for r in refusals)


def _write(path: Path, rows: list[list[str]]) -> Path:
    header = [
        "record_id",
        "volunteer",
        "start",
        "end",
        "grade",
        "activity",
        "place",
        "content",
        "organising_unit",
        "person_in_charge",
        "evidence_hash",
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_issue_batch_pays_a_file_once_and_reports_bad_rows(
    vpl: Vpl, ledger: Ledger, scheme: Scheme, tmp_path: Path
) -> None:
    members = [new_member(ledger).address for _ in range(3)]
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    day = (now + 8 * 3600) // 86400 * 86400 - 8 * 3600 - 86400 + 9 * 3600  # yesterday 09:00 CST

    def row(key: str, member: str) -> list[str]:
        return [
            key,
            member,
            iso(day),
            iso(day + 3600),
            "A",
            "助老送餐",
            "百瑞景社区",
            "送午餐",
            "百瑞景社区居委会",
            "王主任",
            "0x" + os.urandom(32).hex(),
        ]

    bad = _write(tmp_path / "bad.csv", [row("b1", members[0]), row("b1", members[1])])
    fails(
        vpl("issue", "batch", str(bad), "--scheme", scheme.code, "--organiser", "issuer-bee"),
        2,
        "line 3 (b1): duplicate row",
    )
    assert all(ledger.points.balance_of(m, scheme.id) == 0 for m in members)

    good = _write(tmp_path / "good.csv", [row(f"g{i}", m) for i, m in enumerate(members)])
    checked = ok(
        vpl(
            "--json",
            "issue",
            "batch",
            str(good),
            "--scheme",
            scheme.code,
            "--check",
            "--organiser",
            "issuer-bee",
        )
    )
    assert checked == {
        "file": str(good),
        "rows": 3,
        "good": 3,
        "skipped": 0,
        "normalised": [],
        "points": 36,
        "written": False,
    }
    paid = ok(
        vpl(
            "--json",
            "issue",
            "batch",
            str(good),
            "--scheme",
            scheme.code,
            "--chunk",
            "2",
            "--organiser",
            "issuer-bee",
        )
    )
    assert paid["paid"] == 3 and paid["points"] == 36 and len(paid["batches"]) == 2
    assert [ledger.points.balance_of(m, scheme.id) for m in members] == [12, 12, 12]

    again = ok(
        vpl(
            "--json",
            "issue",
            "batch",
            str(good),
            "--scheme",
            scheme.code,
            "--organiser",
            "issuer-bee",
        )
    )
    assert again["paid"] == 0 and len(again["skipped"]) == 3
    assert [ledger.points.balance_of(m, scheme.id) for m in members] == [12, 12, 12]
