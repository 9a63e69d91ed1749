"""The short version of scripts/fault_run.py: members redeem and give points through the API and
an organiser pays a batch file with the CLI, while the batch run, the API process and the chain
node are each killed or stopped at random moments; every acknowledged write is then on chain
exactly once, nothing else ran, retries answer the same, balances, the batch, the index and the
store all agree. (The long run: `scripts/fault_run.py --seconds 600`.)"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.runner import run_script


def test_nothing_acknowledged_is_lost_or_doubled_while_processes_are_killed(
    tmp_path: Path,
) -> None:
    args = ["--seconds", "24", "--clients", "5", "--batch-members", "300", "--batch-chunk", "5",
            "--interval", "3", "--faults", "batch,api,node"]  # fmt: skip
    outcome, printed = run_script("fault_run.py", *args, out=tmp_path / "faults.json")
    assert (outcome["lost"], outcome["doubled"], outcome["problems"]) == (0, 0, []), printed
    assert outcome["exit_code"] == 0, printed
    assert outcome["acknowledged"] > 20 and outcome["retried"] > 0, printed
    assert {k: outcome["faults"].get(k, 0) >= 1 for k in ("api", "node", "batch")} == {
        "api": True,
        "node": True,
        "batch": True,
    }, printed
    assert outcome["batch_runs"] >= 3  # killed once at least, finished, and run again for nothing
