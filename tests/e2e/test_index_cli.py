"""``vpl index sync|status|history``, end to end against the session's chain (into the session
ledger's store)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import Result

from ledger.ledger import Ledger
from ledger.store.records import RecordDetails
from tests.contracts.helpers import source
from tests.e2e.runner import Vpl, fails, ok
from tests.earning_helpers import earn, earning_scheme, two_hours_ago
from tests.factories import new_member, new_scheme
from tests.probes import issue_points


def test_sync_then_status_and_a_members_history(vpl: Vpl, ledger: Ledger) -> None:
    scheme = new_scheme(ledger)
    member = new_member(ledger)
    issue_points(ledger, member.address, scheme.id, 12, source())

    synced = ok(vpl("--json", "index", "sync"))
    status = ok(vpl("--json", "index", "status"))
    history = ok(vpl("--json", "index", "history", member.address, "--limit", "5"))

    head = ledger.w3.eth.block_number
    assert synced["to_block"] == head and synced["events"] >= 2 and synced["behind"] == 0
    assert synced["events_per_second"] >= 0 and synced["rpc_requests"] >= 1
    assert status["indexed_block"] == head and status["blocks_behind"] == 0
    assert history["indexed_block"] == head and history["next_cursor"] is None
    [entry] = history["entries"]
    assert (entry["kind"], entry["delta"], entry["scheme"]) == ("issued", 12, scheme.code)
    shown = vpl("index", "history", member.address)
    assert shown.exit_code == 0 and "issued" in shown.stdout and "+12" in shown.stdout


def test_bad_history_requests_exit_2_with_a_clear_message(vpl: Vpl, ledger: Ledger) -> None:
    member = new_member(ledger)
    fails(vpl("index", "history", "0x12"), 2, "is not an address")
    fails(vpl("index", "history", member.address, "--limit", "501"), 2, "from 1 to 500")
    fails(vpl("index", "history", member.address, "--cursor", "zz"), 2, "not given by this index")
    fails(vpl("index", "history", member.address, "--kind", "gifts"), 2, "did you mean 'gift'")


def test_audit_reconcile_a_scheme_after_sync_and_refuse_a_block_not_indexed(
    vpl: Vpl, ledger: Ledger
) -> None:
    scheme = new_scheme(ledger)
    issue_points(ledger, new_member(ledger).address, scheme.id, 33, source())
    ok(vpl("--json", "index", "sync"))
    result = ok(vpl("--json", "audit", "reconcile", scheme.code))
    assert result["balanced"] and result["chain"]["total_supply"] == 33
    assert result["index"]["in_accounts"] == 33 and result["findings"] == []
    shown = vpl("audit", "reconcile", str(scheme.id))
    assert shown.exit_code == 0 and "balanced" in shown.stdout
    head = ledger.w3.eth.block_number
    refused = vpl("audit", "reconcile", scheme.code, "--block", str(head + 10_000))
    assert refused.exit_code != 0 and "index holds the chain up to block" in refused.output
    fails(vpl("audit", "reconcile", "NOSUCH"), 3, "no scheme with code NOSUCH")
    first = ledger.manifest.contracts["PointsLedger"].block
    fails(
        vpl("audit", "reconcile", scheme.code, "--block", "1"), 2,
        f"block 1 is before the deployment: the points ledger was deployed at block {first}",
    )  # fmt: skip


def test_audit_answers_export_to_csv_and_json(vpl: Vpl, ledger: Ledger, tmp_path: Path) -> None:
    scheme = new_scheme(ledger)
    issue_points(ledger, new_member(ledger).address, scheme.id, 9, source())
    ok(vpl("--json", "index", "sync"))
    as_csv, as_json = tmp_path / "r.csv", tmp_path / "r.json"
    shown = vpl("audit", "reconcile", scheme.code, "--export", str(as_csv))
    assert shown.exit_code == 0 and "exported 1 rows" in shown.output
    [row] = list(csv.DictReader(io.StringIO(as_csv.read_text(encoding="utf-8-sig"))))
    assert (row["scheme"], row["balanced"], row["chain.total_supply"]) == (scheme.code, "true", "9")
    assert vpl("audit", "reconcile", scheme.code, "--export", str(as_json)).exit_code == 0
    assert json.loads(as_json.read_text())["index"]["in_accounts"] == 9
    fails(vpl("audit", "reconcile", scheme.code, "--export", str(tmp_path / "r.xls")), 2, ".csv or")
    assert not (tmp_path / "r.xls").exists()


def test_audit_trace_quota_member_and_verify(vpl: Vpl, ledger: Ledger, tmp_path: Path) -> None:
    e = earning_scheme(ledger, quota=500)
    member = new_member(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, member.address, start, end)
    ok(vpl("--json", "index", "sync"))

    traced = ok(vpl("--json", "audit", "trace", f"record:{record_id}"))
    assert (traced["status"], traced["reviewer"], traced["points"]) == (
        "approved", e.reviewer.address, 24,
    )  # fmt: skip
    assert traced["store"]["matches"] and traced["problems"] == []
    tx = traced["issued"][0]["tx_hash"]
    shown = vpl("audit", "trace", tx, "--export", str(tmp_path / "tx.csv"))
    assert shown.exit_code == 0, shown.output
    assert "issued" in shown.stdout and f"record:{record_id}" in shown.stdout
    [row] = list(csv.DictReader(io.StringIO((tmp_path / "tx.csv").read_text("utf-8-sig"))))
    assert (row["kind"], row["amount"], row["reviewer"]) == ("issued", "24", e.reviewer.address)

    quota = ok(vpl("--json", "audit", "quota", e.scheme.code))
    assert quota["periods"][-1]["issued"] == 24 and quota["chain"]["remaining"] == 476
    assert quota["findings"] == []
    # A range ending before the current window is no false chain/index disagreement (exit 0).
    ranged = vpl("audit", "quota", e.scheme.code, "--since", "2026-01-01", "--until", "2026-11-30")
    assert ranged.exit_code == 0, ranged.output
    assert "the index agrees with the chain" in ranged.stdout
    file = ok(vpl("--json", "audit", "member", member.address, "--limit", "500"))
    assert file["balances"] == {e.scheme.code: 24}
    assert {"MemberRegistered", "RecordApproved"} <= {x["event"] for x in file["events"]["entries"]}
    verified = ok(vpl("--json", "audit", "verify", f"record:{record_id}"))
    assert verified["valid"] and verified["checks"][0]["matches"]

    fails(vpl("audit", "trace", "order:3"), 2, "trace what?")
    fails(vpl("audit", "trace", "record:999999999"), 1, "no service record")
    fails(vpl("audit", "quota", e.scheme.code, "--since", "yesterday"), 2, "not a date and time")
    fails(vpl("audit", "member", "0x12"), 2, "not an address")


def test_the_lists_auditors_read_export_too(vpl: Vpl, ledger: Ledger, tmp_path: Path) -> None:
    scheme = new_scheme(ledger)
    member = new_member(ledger)
    issue_points(ledger, member.address, scheme.id, 7, source())
    ok(vpl("--json", "index", "sync"))
    history = tmp_path / "history.csv"
    assert vpl("index", "history", member.address, "--export", str(history)).exit_code == 0
    [row] = list(csv.DictReader(io.StringIO(history.read_text("utf-8-sig"))))
    assert (row["kind"], row["delta"], row["scheme"]) == ("issued", "7", scheme.code)
    for args, name in (
        (("clearing", "statement"), "statement.json"),
        (("clearing", "list"), "settlements.csv"),
        (("record", "refusals"), "refusals.csv"),
    ):
        shown = vpl(*args, "--export", str(tmp_path / name))
        assert shown.exit_code == 0, (args, shown.output)
        assert (tmp_path / name).stat().st_size > 0
    assert "lines" in json.loads((tmp_path / "statement.json").read_text())
    fails(vpl("record", "refusals", "--export", str(tmp_path / "r.txt")), 2, ".csv or")


def test_audit_anomalies_exit_1_with_findings(vpl: Vpl, ledger: Ledger, tmp_path: Path) -> None:
    e = earning_scheme(ledger)
    since = ledger.w3.eth.block_number + 1
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, new_member(ledger).address, start, end)
    ok(vpl("--json", "index", "sync"))
    args = ("audit", "anomalies", "--rule", "fast_review", "--scheme", e.scheme.code,
            "--from-block", str(since))  # fmt: skip
    shown = vpl(*args, "--export", str(tmp_path / "a.json"))
    assert shown.exit_code == 1 and f"record:{record_id}" in shown.stdout
    report = json.loads((tmp_path / "a.json").read_text())
    assert [f["records"] for f in report["findings"]] == [[f"record:{record_id}"]]
    clean = vpl("audit", "anomalies", "--rule", "collusion", "--scheme", e.scheme.code,
                "--from-block", str(since))  # fmt: skip
    assert clean.exit_code == 0 and "no findings" in clean.stdout
    fails(vpl("audit", "anomalies", "--rule", "nope"), 2, "no anomaly rule")


def findings_of(result: Result) -> dict[tuple[str, int], str]:
    """verify-store's findings by table and row (the store is the session's: other tests' rows
    are in it too)."""
    assert result.exit_code in (0, 1), result.output
    return {(f["table"], f["row_id"]): f["kind"] for f in json.loads(result.stdout)["findings"]}


def test_anchor_then_verify_store_finds_a_changed_row(vpl: Vpl, ledger: Ledger) -> None:
    e = earning_scheme(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, new_member(ledger).address, start, end)
    anchored = ok(vpl("--json", "audit", "anchor", "--force"))
    assert anchored["created"] and anchored["rows"] > 0
    with Session(ledger.engine) as db:
        [row_id] = db.exec(select(RecordDetails.id).where(RecordDetails.record_id == record_id))
    assert ("record_details", row_id) not in findings_of(vpl("--json", "audit", "verify-store"))
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE record_details SET volunteer = 'x' WHERE record_id = :r"), {"r": record_id}
        )
    shown = vpl("--json", "audit", "verify-store")
    assert shown.exit_code == 1 and findings_of(shown)[("record_details", row_id)] == "altered"
    ok(vpl("--json", "audit", "anchor"))  # the next anchor takes the store as it now is
    assert ok(vpl("--json", "audit", "anchors", "--last", "2"))[0]["rows"] > 0
