"""Slither over contracts/: every high and medium finding is fixed or explained.

Runs in a virtual environment of its own (``.vpl/slither-venv``, made by ``scripts/dev.sh test``):
slither-analyzer pins web3 7, the project runs web3 8. It compiles contracts/ the way the project
does (the npm solc behind ``ledger/chain/solc_wrapper.js``, the settings of
``hardhat-free-config/compiler.json``), runs every detector, and sets each high and medium finding
against ``hardhat-free-config/slither.json``: a list of accepted findings, each naming the check,
the function or variable it is in, and why it is not a defect. It prints a table of findings by
impact, and exits 1 when a high or medium finding is not on the list, or an entry of the list no
longer matches a finding (so the list cannot go stale).

    .vpl/slither-venv/bin/python scripts/slither_check.py [--json FILE]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "hardhat-free-config"
TRIAGE = CONFIG / "slither.json"
#: Impacts that must be fixed or explained.
CHECKED = ("High", "Medium")
IMPACTS = ("High", "Medium", "Low", "Informational", "Optimization")


def standard_input() -> dict[str, Any]:
    """The compiler's standard JSON input for every contract under contracts/."""
    settings = json.loads((CONFIG / "compiler.json").read_text(encoding="utf-8"))
    sources = {
        str(path.relative_to(ROOT)): {"content": path.read_text(encoding="utf-8")}
        for path in sorted((ROOT / "contracts").rglob("*.sol"))
    }
    outputs = ["abi", "evm.bytecode.object", "evm.bytecode.sourceMap"]
    outputs += ["evm.deployedBytecode.object", "evm.deployedBytecode.sourceMap"]
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": settings["evm_version"],
            "viaIR": settings["via_ir"],
            "optimizer": {
                "enabled": settings["optimizer_enabled"],
                "runs": settings["optimizer_runs"],
            },
            "outputSelection": {"*": {"": ["ast"], "*": outputs}},
        },
    }


def run_detectors() -> list[dict[str, Any]]:
    """Every detector's findings over contracts/ (OpenZeppelin's code included)."""
    from crytic_compile import CryticCompile
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector
    from slither.slither import Slither

    os.chdir(ROOT)  # the wrapper resolves imports from the working directory
    solc = str(ROOT / "ledger" / "chain" / "solc_wrapper.js")
    compiled = CryticCompile(SolcStandardJson(standard_input()), solc=solc)
    slither = Slither(compiled)
    for _, detector in inspect.getmembers(all_detectors, inspect.isclass):
        if issubclass(detector, AbstractDetector):
            slither.register_detector(detector)
    return [finding for found in slither.run_detectors() for finding in found]


def place(finding: dict[str, Any]) -> str:
    """Where a finding is: its first element's name, qualified by the function and contract it is
    in, e.g. ``ServiceTime.monthOf(uint256)``, ``ERC2771Forwarder.executeBatch(...).refundValue``."""
    names = []
    element: dict[str, Any] | None = finding["elements"][0]
    while element:
        fields = element.get("type_specific_fields", {})
        names.append(fields.get("signature", element["name"]))
        element = fields.get("parent")
    return ".".join(reversed(names))


def triage(findings: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The high and medium findings no accepted entry explains, and the entries that match none."""
    accepted = json.loads(TRIAGE.read_text(encoding="utf-8"))["accepted"]
    keys = {(entry["check"], entry["where"]) for entry in accepted}
    unexplained = [
        f for f in findings if f["impact"] in CHECKED and (f["check"], place(f)) not in keys
    ]
    found = {(f["check"], place(f)) for f in findings}
    stale = [entry for entry in accepted if (entry["check"], entry["where"]) not in found]
    return unexplained, stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the outcome here as JSON")
    args = parser.parse_args()

    findings = run_detectors()
    unexplained, stale = triage(findings)
    counts = Counter(f["impact"] for f in findings)
    ours = Counter(
        f["impact"] for f in findings if "node_modules/" not in json.dumps(f["elements"])
    )
    print(f"{'impact':<14}{'findings':>10}{'in contracts/':>15}")
    for impact in IMPACTS:
        print(f"{impact:<14}{counts[impact]:>10}{ours[impact]:>15}")
    accepted = sum(counts[i] for i in CHECKED) - len(unexplained)
    print(
        f"high and medium: {accepted} explained in {TRIAGE.relative_to(ROOT)}, "
        f"{len(unexplained)} not"
    )
    for f in unexplained:
        print(f"NOT EXPLAINED {f['impact']} {f['check']} in {place(f)}:")
        print("    " + f["description"].strip().replace("\n", "\n    "))
    for entry in stale:
        print(f"STALE ENTRY {entry['check']} in {entry['where']}: no such finding any more")
    if args.json:
        outcome = {
            "counts": dict(counts),
            "unexplained": [{"check": f["check"], "where": place(f)} for f in unexplained],
            "stale": stale,
        }
        args.json.write_text(json.dumps(outcome, indent=2), encoding="utf-8")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
