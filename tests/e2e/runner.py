"""The in-process ``vpl`` runner shared by the end-to-end tests (fixture in conftest.py): what a
run answered, and the commands several of them run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

from ledger.chain.contracts import Scheme

Vpl = Callable[..., Result]


def ok(result: Result) -> Any:
    """The JSON document of a successful ``--json`` run."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def fails(result: Result, code: int, message: str) -> None:
    """The run exited with ``code`` and said ``message`` on stderr, without a traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def issue_batch(vpl: Vpl, path: Path, scheme: Scheme, *options: str) -> Any:
    """``vpl --json issue batch`` of the file at `path` in `scheme`, organised by issuer-bee,
    with `options` (``--check``, ``--chunk N``); its JSON answer."""
    return ok(
        vpl("--json", "issue", "batch", str(path), "--scheme", scheme.code, *options,
            "--organiser", "issuer-bee")
    )  # fmt: skip


def run_script(script: str, *args: str, out: Path) -> tuple[dict[str, Any], str]:
    """Run one of scripts/ (a workload that writes its outcome to ``--json``) in a process of its
    own: the outcome, and what it printed."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, f"scripts/{script}", *args, "--json", str(out)],
        cwd=root, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    outcome = json.loads(out.read_text(encoding="utf-8"))
    outcome["exit_code"] = done.returncode
    return outcome, done.stdout
