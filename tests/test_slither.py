"""Slither over contracts/ (scripts/slither_check.py, in the virtual environment of its own that
``scripts/dev.sh test`` installs): every high and medium finding is fixed or explained in
hardhat-free-config/slither.json, and the explanations name findings that still exist."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from scripts.slither_check import TRIAGE, place, triage

ROOT = Path(__file__).resolve().parents[1]
SLITHER_PYTHON = ROOT / ".vpl" / "slither-venv" / "bin" / "python"


def test_every_high_and_medium_finding_over_the_contracts_is_fixed_or_explained(
    tmp_path: Path,
) -> None:
    assert SLITHER_PYTHON.exists(), "run `scripts/dev.sh test`: it installs Slither"
    out = tmp_path / "slither.json"
    done = subprocess.run(
        [str(SLITHER_PYTHON), "scripts/slither_check.py", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert out.exists(), done.stderr[-3000:]
    outcome = json.loads(out.read_text(encoding="utf-8"))
    assert (outcome["unexplained"], outcome["stale"]) == ([], []), done.stdout
    assert done.returncode == 0, done.stdout
    # the detectors ran over the contracts: the explained findings are there to be explained
    assert outcome["counts"]["Medium"] >= len(json.loads(TRIAGE.read_text())["accepted"]) - 2


def finding(check: str, impact: str, contract: str, signature: str) -> dict[str, Any]:
    """A finding as Slither reports it: its first element a function of a contract."""
    parent = {"type": "contract", "name": contract, "type_specific_fields": {}}
    function = {
        "type": "function",
        "name": signature.split("(")[0],
        "type_specific_fields": {"parent": parent, "signature": signature},
    }
    return {"check": check, "impact": impact, "elements": [function], "description": ""}


def test_a_new_finding_and_an_entry_that_no_longer_matches_are_both_reported() -> None:
    accepted = json.loads(TRIAGE.read_text(encoding="utf-8"))["accepted"]
    entry = accepted[0]
    contract, _, signature = entry["where"].partition(".")
    known = finding(entry["check"], "Medium", contract, signature)
    new = finding("reentrancy-no-eth", "Medium", "Catalogue", "redeem(address,uint256,uint256)")
    low = finding("timestamp", "Low", "Catalogue", "redeem(address,uint256,uint256)")
    assert place(new) == "Catalogue.redeem(address,uint256,uint256)"

    unexplained, stale = triage([known, new, low])

    assert unexplained == [new]  # a low finding needs no explanation
    assert entry not in stale and len(stale) == len(accepted) - 1
