"""`vpl issue batch` killed (SIGKILL, a real process) right after a chunk's approval is mined and
before the store records it: the next run links the chunk's rows to their batch, and so do the
readers that find it approved on chain (trace, verify, certificates); until then verify-store
reports the rows as paid but unlinked. A batch whose details are missing from the store is never
reported as verified."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from ledger.audit.anchors.verification import UNLINKED_DEPTH
from ledger.chain.contracts import Scheme
from ledger.chain.contracts.packed_records import pack_records, records_hash
from ledger.earning.batch.plan import plan_batch
from ledger.ledger import Ledger
from ledger.store.records import RecordDetails
from ledger.values import CST
from tests.batch_helpers import batch_row, write_csv, yesterday
from tests.e2e.runner import Vpl, issue_batch, ok
from tests.earning_helpers import as_typed
from tests.factories import new_member

ROOT = Path(__file__).resolve().parents[2]
#: `vpl`, killed by SIGKILL the moment a chunk's approval is mined and before the store records
#: that it was paid (the one step between the two). One transaction in flight at a time, so the
#: second chunk is not sent yet (tests/ledger/test_batch.py stops a run with chunks in flight).
KILLED_AFTER_APPROVAL = """
import os, signal, sys
import ledger.earning.batch.flight, ledger.earning.batch.pay
ledger.earning.batch.flight.IN_FLIGHT = 1
ledger.earning.batch.pay.mark_chunk_paid = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
from scripts.cli import app
app(args=sys.argv[1:], prog_name="vpl")
"""


@pytest.fixture
def day_file(ledger: Ledger, tmp_path: Path) -> tuple[Path, list[str], int]:
    """Four records: the first chunk of two pays members[0] and members[1] at 09:00; the second
    members[2] at 09:00 and members[0] again at 11:00. The file, the members, and 09:00."""
    members = [new_member(ledger).address for _ in range(3)]
    nine = yesterday(ledger) + 9 * 3600

    def row(key: str, member: str, start: int) -> list[str]:
        return batch_row(
            key, member, as_typed(start), as_typed(start + 3600), "A", content="送午餐"
        )

    rows = [row(f"k{i}", m, nine) for i, m in enumerate(members)]
    rows.append(row("k3", members[0], nine + 2 * 3600))
    return write_csv(tmp_path / "day.csv", rows), members, nine


def _killed_run(ledger: Ledger, scheme: Scheme, path: Path) -> int:
    """Run the file in a `vpl` process killed after the first approval; the batch it paid."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPL_")}
    env["VPL_DEPLOYMENTS_DIR"] = str(ledger.settings.resolved_deployments_dir)
    args = ["--data-dir", str(ledger.settings.data_dir), "--rpc-url", ledger.network.rpc_url,
            "--json", "issue", "batch", str(path), "--scheme", scheme.code, "--chunk", "2",
            "--organiser", "issuer-bee"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_APPROVAL, *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)
    for name in ledger.network.operators:  # the killed process signed with these keys
        ledger.sender.reset_nonce(ledger.operator(name).address)
    with Session(ledger.engine) as db:
        rows = list(db.exec(select(RecordDetails).where(col(RecordDetails.record_key) == "k0")
                            .where(col(RecordDetails.scheme_id) == scheme.id)))  # fmt: skip
    [row] = rows
    assert row.batch_id is None and row.chunk_hash, "killed before the store recorded the payment"
    batch_id = ledger.records.batch_of(bytes.fromhex(row.chunk_hash[2:]))
    assert ledger.records.batch(batch_id).status.label == "approved"
    return batch_id


def _stored(ledger: Ledger, scheme: Scheme) -> list[RecordDetails]:
    with Session(ledger.engine) as db:
        return list(db.exec(select(RecordDetails).where(col(RecordDetails.scheme_id) == scheme.id)))


def _links(ledger: Ledger, scheme: Scheme) -> dict[str, int | None]:
    return {r.record_key: r.batch_id for r in _stored(ledger, scheme)}


def test_the_next_run_links_a_chunk_paid_before_a_kill_and_every_reader_sees_it(
    vpl: Vpl,
    ledger: Ledger,
    cli_scheme: Scheme,
    day_file: tuple[Path, list[str], int],
    tmp_path: Path,
) -> None:
    scheme, (path, members, nine) = cli_scheme, day_file
    batch_id = _killed_run(ledger, scheme, path)
    assert [ledger.points.balance_of(m, scheme.id) for m in members] == [12, 12, 0]

    again = issue_batch(vpl, path, scheme, "--chunk", "2")
    assert again["paid"] == 2
    assert {(k["record_id"], k["reason"]) for k in again["skipped"]} == {
        ("k0", f"already paid (batch {batch_id})"),
        ("k1", f"already paid (batch {batch_id})"),
    }
    links = _links(ledger, scheme)
    assert links["k0"] == links["k1"] == batch_id and None not in links.values()
    assert [ledger.points.balance_of(m, scheme.id) for m in members] == [24, 12, 12]

    day = datetime.fromtimestamp(nine, CST).date().isoformat()
    certificate = ok(vpl("--json", "certificate", "create", members[0], "--from", day,
                         "--to", day, "--out", str(tmp_path)))  # fmt: skip
    assert certificate["totals"]["schemes"][scheme.code]["points"] == 24
    assert certificate["records"] == 2

    ok(vpl("--json", "index", "sync"))
    traced = ok(vpl("--json", "audit", "trace", f"batch:{batch_id}"))
    assert traced["problems"] == []
    assert all(r["store"]["found"] and r["store"]["matches"] for r in traced["records"])
    verified = ok(vpl("--json", "audit", "verify", f"batch:{batch_id}"))
    assert verified["valid"] and all(c["found"] for c in verified["checks"])


def test_verify_store_reports_the_unlinked_rows_until_a_reader_links_them(
    vpl: Vpl, ledger: Ledger, cli_scheme: Scheme, day_file: tuple[Path, list[str], int]
) -> None:
    scheme, (path, _, _) = cli_scheme, day_file
    batch_id = _killed_run(ledger, scheme, path)
    unlinked = sorted(r.id for r in _stored(ledger, scheme) if r.record_key in ("k0", "k1"))
    for _ in range(UNLINKED_DEPTH):
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    ok(vpl("--json", "audit", "anchor"))
    found = vpl("--json", "audit", "verify-store")
    assert found.exit_code == 1, found.output
    findings = json.loads(found.stdout)["findings"]
    mine = [f for f in findings if f["kind"] == "unlinked" and f["row_id"] in unlinked]
    assert [f["row_id"] for f in mine] == unlinked
    assert all(f"batch {batch_id}" in f["detail"] for f in mine)

    ok(vpl("--json", "index", "sync"))
    verified = ok(vpl("--json", "audit", "verify", f"batch:{batch_id}"))  # links them
    assert verified["valid"]
    assert _links(ledger, scheme)["k0"] == batch_id
    ok(vpl("--json", "audit", "anchor"))
    after = vpl("--json", "audit", "verify-store")
    assert not {f["row_id"] for f in json.loads(after.stdout)["findings"]} & set(unlinked)
    # the run finishes what was left
    issue_batch(vpl, path, scheme, "--chunk", "2")


def test_a_batch_whose_details_are_not_in_the_store_does_not_verify(
    vpl: Vpl, ledger: Ledger, cli_scheme: Scheme, day_file: tuple[Path, list[str], int]
) -> None:
    scheme, (path, _, _) = cli_scheme, day_file
    plan = plan_batch(ledger, path, scheme=scheme.id,
                      organiser=ledger.operator("issuer-bee").address,
                      reviewer=ledger.operator("reviewer-1").address)  # fmt: skip
    data = pack_records(r.packed() for r in plan.rows)  # sent straight to the contract
    batch_id = ledger.records.submitted_batch_id(ledger.records.submit_batch(
        ledger.operator("issuer-bee"), scheme.id, records_hash(data), len(plan.rows)))  # fmt: skip
    ledger.records.approve_batch(ledger.operator("reviewer-1"), batch_id, plan.rule_version, data)
    ok(vpl("--json", "index", "sync"))

    verified = vpl("--json", "audit", "verify", f"batch:{batch_id}")
    assert verified.exit_code == 1, verified.output
    traced = vpl("--json", "audit", "trace", f"batch:{batch_id}")
    assert traced.exit_code == 1, traced.output
    assert any("4 of the batch's 4 records are not in this store" in p
               for p in json.loads(traced.stdout)["problems"])  # fmt: skip
    shown = vpl("audit", "trace", f"batch:{batch_id}")
    assert shown.exit_code == 1 and "no problems found" not in shown.stdout
