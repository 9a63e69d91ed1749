"""The short versions of scripts/fault_run.py: members redeem, give, exchange and cancel, and post,
accept and confirm time-bank requests through the API, a registrar registers people, an organiser
submits records a reviewer approves or rejects, and an organiser pays a batch file with the CLI,
while the batch run, the API process, the chain node and (on PostgreSQL) the database server are
each killed or stopped at random moments; every acknowledged write is then on chain exactly once,
nothing else ran, retries answer the same, balances, the batch, the index and the store all agree.
(The long runs: `scripts/fault_run.py --seconds 600`, with `--database postgres`. The same on the
validator network, a validator killed: tests/network/test_fault_run.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scripts import fault_run
from scripts.fault_workload import KINDS
from tests.e2e.runner import run_script


def assert_nothing_lost(
    outcome: dict[str, Any], printed: str, faults: tuple[str, ...], kinds: tuple[str, ...] = KINDS
) -> None:
    """Nothing lost or doubled, every check passed, writes acknowledged and retried, each of
    `faults` injected at least once (the run cannot pass without its faults) and a write of each
    of `kinds` acknowledged."""
    assert (outcome["lost"], outcome["doubled"], outcome["problems"]) == (0, 0, []), printed
    assert outcome["exit_code"] == 0, printed
    assert outcome["acknowledged"] > 10 and outcome["retried"] > 0, printed
    assert {k: outcome["faults"].get(k, 0) >= 1 for k in faults} == dict.fromkeys(faults, True), (
        printed
    )
    by_kind = outcome["by_kind"]
    acknowledged = {k: by_kind.get(k, {}).get("acknowledged", 0) >= 1 for k in kinds}
    assert acknowledged == dict.fromkeys(kinds, True), printed


def test_nothing_acknowledged_is_lost_or_doubled_while_processes_are_killed(
    tmp_path: Path,
) -> None:
    args = ["--seconds", "24", "--clients", "5", "--batch-members", "200", "--batch-chunk", "5",
            "--interval", "3", "--faults", "batch,node,api"]  # fmt: skip
    outcome, printed = run_script("fault_run.py", *args, out=tmp_path / "faults.json")
    assert_nothing_lost(outcome, printed, ("api", "node", "batch"))
    assert outcome["acknowledged"] > 20, printed
    assert outcome["batch_runs"] >= 3  # killed once at least, finished, and run again for nothing


@pytest.mark.postgres
def test_nothing_acknowledged_is_lost_or_doubled_while_postgres_crashes_under_the_api(
    tmp_path: Path,
) -> None:
    """The store on a PostgreSQL server that is crashed (stopped -m immediate, its postmaster
    killed) and started again: writes meanwhile are answered 503 or their connection breaks,
    the clients retry, and the API's and the CLI's connections recover."""
    args = ["--seconds", "24", "--clients", "5", "--batch-members", "100", "--interval", "2.5",
            "--database", "postgres", "--faults", "postgres,api,postgres"]  # fmt: skip
    outcome, printed = run_script("fault_run.py", *args, out=tmp_path / "faults.json")
    assert_nothing_lost(outcome, printed, ("postgres", "api"))
    assert outcome["database"] == "postgres"
    assert outcome["transient"].get("503", 0) > 0, printed  # a write saw the store gone


def test_a_fault_the_chain_or_the_store_cannot_take_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for args, needs in (
        (["--chain", "network", "--faults", "node,api"], "the fault 'node' needs --chain anvil"),
        (
            ["--database", "postgres", "--faults", "disk"],
            "the fault 'disk' needs --database sqlite",
        ),
        (["--faults", "api,validator"], "the fault 'validator' needs --chain network"),
        (["--faults", "postgres"], "the fault 'postgres' needs --database postgres"),
        (["--faults", "dsik"], "no fault 'dsik': the faults are batch, api, node, validator"),
    ):
        with pytest.raises(SystemExit) as exited:
            fault_run.main(args)

        assert exited.value.code == 2
        assert needs in capsys.readouterr().err
