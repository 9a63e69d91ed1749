"""The short version of scripts/fault_run.py on a validator network of its own (three clique signers,
1 s blocks): members, a registrar, an organiser and a reviewer write through the API (as in
tests/e2e/test_faults.py) and an organiser pays a batch file with the CLI, while validators are
killed (-9) and started again, any of the three (the one the API and the CLI talk to first as well:
they fail over), and the API process and the batch run are killed; every acknowledged write is then
on chain exactly once, nothing else ran, retries answer the same, balances, the batch, the index
and the store all agree. (The long run: `scripts/fault_run.py --chain network --seconds 120`.)
Here, beside the other validator-network tests: one worker runs them in turn, so two networks do
not seal at once on the suite's cores."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.runner import run_script
from tests.e2e.test_faults import assert_nothing_lost


def test_nothing_acknowledged_is_lost_or_doubled_while_validators_are_killed(
    tmp_path: Path,
) -> None:
    args = ["--seconds", "30", "--clients", "5", "--batch-members", "60", "--batch-chunk", "5",
            "--interval", "3", "--chain", "network",
            "--faults", "batch,validator,api,validator"]  # fmt: skip
    outcome, printed = run_script("fault_run.py", *args, out=tmp_path / "faults.json")
    # a write takes a few seconds here: the kinds that need no earlier write of another's
    kinds = ("register", "record", "post", "order", "gift", "exchange")
    assert_nothing_lost(outcome, printed, ("validator", "api", "batch"), kinds)
    assert outcome["chain"] == "network"
