"""The short version of scripts/soak.py: clients writing and reading through the API at once,
the API following the chain: no 5xx, every acknowledged write on chain once, balances, the index
and the store agree. (The long run: `scripts/soak.py --seconds 600 --clients 50`, which also
holds the API's memory to 30% growth; a short run's memory is still warming up.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_clients_at_once_get_no_5xx_and_everything_reconciles(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    args = ["--seconds", "20", "--clients", "10", "--rss-growth", "3", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "scripts/soak.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    outcome = json.loads(out.read_text(encoding="utf-8"))
    assert (outcome["errors_5xx"], outcome["problems"]) == (0, []), done.stdout
    assert (outcome["lost"], outcome["doubled"]) == (0, 0), done.stdout
    assert done.returncode == 0, done.stdout
    routes = outcome["routes"]
    assert len(routes) == 7 and all(r["requests"] > 0 for r in routes.values()), routes
