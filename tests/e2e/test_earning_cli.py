"""``vpl limits``, ``vpl activity``, ``vpl record`` and ``vpl issue batch``, end to end against the
session's chain and store."""

from __future__ import annotations

import os
from pathlib import Path

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from tests.batch_helpers import batch_row, write_csv, yesterday
from tests.e2e.runner import Vpl, fails, issue_batch, ok
from tests.earning_helpers import as_typed
from tests.factories import new_member


def test_an_activity_a_record_and_its_review(vpl: Vpl, ledger: Ledger, cli_scheme: Scheme) -> None:
    member = new_member(ledger).address
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    activity = ok(
        vpl(
            "--json",
            "--as",
            "issuer-bee",
            "activity",
            "create",
            cli_scheme.code,
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
            as_typed(now - 60),
            "--end",
            as_typed(now + 7200),
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
            cli_scheme.code,
            "--volunteer",
            member,
            "--activity",
            str(activity["id"]),
            "--start",
            as_typed(now),
            "--end",
            as_typed(now + 2400),
            "--content",
            "送餐 12 份",
            "--evidence",
            "0x" + os.urandom(32).hex(),
        )
    )
    assert record["status"] == "pending" and record["details"]["place"] == "百瑞景社区"

    # the submitter may not review their own record, even holding the reviewer role
    ok(vpl("--json", "role", "grant", "reviewer", "issuer-bee", "--scheme", cli_scheme.code))
    fails(
        vpl("--as", "issuer-bee", "record", "approve", str(record["id"]), "--grade", "B"),
        3,
        "may not review it",
    )
    approved = ok(
        vpl("--json", "--as", "reviewer-2", "record", "approve", str(record["id"]), "--grade", "B")
    )
    assert approved["status"] == "approved" and approved["points"] == 6  # 40 min x 10/h x 1.0
    listed = ok(
        vpl("--json", "record", "list", "--scheme", cli_scheme.code, "--status", "approved")
    )
    assert [r["id"] for r in listed] == [record["id"]]
    again = vpl("--as", "reviewer-1", "record", "approve", str(record["id"]))
    fails(again, 3, "not awaiting review")
    refusals = ok(vpl("--json", "record", "refusals", "--last", "5"))
    assert any(r["error"] == "RecordsNotPending" for r in refusals)


def test_issue_batch_pays_a_file_once_and_reports_bad_rows(
    vpl: Vpl, ledger: Ledger, cli_scheme: Scheme, tmp_path: Path
) -> None:
    members = [new_member(ledger).address for _ in range(3)]
    day = yesterday(ledger) + 9 * 3600

    def row(key: str, member: str) -> list[str]:
        return batch_row(key, member, as_typed(day), as_typed(day + 3600), "A", content="送午餐")

    bad = write_csv(tmp_path / "bad.csv", [row("b1", members[0]), row("b1", members[1])])
    fails(
        vpl("issue", "batch", str(bad), "--scheme", cli_scheme.code, "--organiser", "issuer-bee"),
        2,
        "line 3 (b1): duplicate row",
    )
    assert all(ledger.points.balance_of(m, cli_scheme.id) == 0 for m in members)

    good = write_csv(tmp_path / "good.csv", [row(f"g{i}", m) for i, m in enumerate(members)])
    checked = issue_batch(vpl, good, cli_scheme, "--check")
    assert checked == {
        "file": str(good),
        "rows": 3,
        "good": 3,
        "skipped": 0,
        "normalised": [],
        "points": 36,
        "written": False,
    }
    paid = issue_batch(vpl, good, cli_scheme, "--chunk", "2")
    assert paid["paid"] == 3 and paid["points"] == 36 and len(paid["batches"]) == 2
    assert [ledger.points.balance_of(m, cli_scheme.id) for m in members] == [12, 12, 12]

    again = issue_batch(vpl, good, cli_scheme)
    assert again["paid"] == 0 and len(again["skipped"]) == 3
    assert [ledger.points.balance_of(m, cli_scheme.id) for m in members] == [12, 12, 12]
