"""The short version of scripts/fault_run.py: members redeem and give points through the API and
an organiser pays a batch file with the CLI, while the batch run, the API process and the chain
node are each killed or stopped at random moments; every acknowledged write is then on chain
exactly once, nothing else ran, retries answer the same, balances, the batch, the index and the
store all agree. (The long run: `scripts/fault_run.py --seconds 600`.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_acknowledged_is_lost_or_doubled_while_processes_are_killed(
    tmp_path: Path,
) -> None:
    out = tmp_path / "faults.json"
    args = ["--seconds", "24", "--clients", "5", "--batch-members", "300", "--batch-chunk", "5",
            "--interval", "3", "--faults", "batch,api,node", "--json", str(out)]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "scripts/fault_run.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    outcome = json.loads(out.read_text(encoding="utf-8"))
    assert (outcome["lost"], outcome["doubled"], outcome["problems"]) == (0, 0, []), done.stdout
    assert done.returncode == 0, done.stdout
    assert outcome["acknowledged"] > 20 and outcome["retried"] > 0, done.stdout
    assert {k: outcome["faults"].get(k, 0) >= 1 for k in ("api", "node", "batch")} == {
        "api": True,
        "node": True,
        "batch": True,
    }, done.stdout
    assert outcome["batch_runs"] >= 3  # killed once at least, finished, and run again for nothing
