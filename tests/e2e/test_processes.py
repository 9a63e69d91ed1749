"""The short version of scripts/processes_run.py: two API processes on one PostgreSQL store
behave as one service. One follows the chain into the event index at a time and the other takes
over when it is killed; a process given a relayer another holds refuses to start; every gift
acknowledged by either is on chain once and in the index. (The figures: the script's long run.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.runner import run_script


@pytest.mark.postgres
def test_two_processes_on_one_store_are_one_service(tmp_path: Path) -> None:
    args = ["--seconds", "4", "--clients", "4"]
    outcome, printed = run_script("processes_run.py", *args, out=tmp_path / "processes.json")
    assert outcome["problems"] == [], printed
    assert outcome["exit_code"] == 0, printed
    phases = {row["phase"]: row for row in outcome["phases"]}
    assert list(phases) == ["one process", "two processes", "after the kill"]
    assert all(row["gifts_per_second"] > 0 and row["failures"] == 0 for row in phases.values())
    assert outcome["takeover_seconds"] is not None
    assert outcome["acknowledged"] > 0
