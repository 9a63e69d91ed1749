"""The short version of scripts/soak.py: clients writing and reading through the API at once,
the API following the chain: no 5xx, every acknowledged write on chain once, balances, the index
and the store agree. (The long run: `scripts/soak.py --seconds 600 --clients 50`, which also
holds the API's memory to 30% growth; a short run's memory is still warming up.)"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.runner import run_script


def test_clients_at_once_get_no_5xx_and_everything_reconciles(tmp_path: Path) -> None:
    args = ["--seconds", "20", "--clients", "10", "--rss-growth", "3"]
    outcome, printed = run_script("soak.py", *args, out=tmp_path / "soak.json")
    assert (outcome["errors_5xx"], outcome["problems"]) == (0, []), printed
    assert (outcome["lost"], outcome["doubled"]) == (0, 0), printed
    assert outcome["exit_code"] == 0, printed
    routes = outcome["routes"]
    assert len(routes) == 7 and all(r["requests"] > 0 for r in routes.values()), routes
