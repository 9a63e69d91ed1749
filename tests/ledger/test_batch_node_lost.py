"""The node dying during `vpl issue batch` always ends the run promptly with exit 4 and what was
and was not paid (issue 18: once exit 4, once exit 1 "unexpected ConnectionError", once a hang
of over 60 s); and the pieces that failed so: a contract read and the wait for a receipt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.chain.node import LocalNode
from ledger.errors import RetryableChainError
from ledger.ledger import Ledger
from tests.batch_helpers import new_batch_setup
from tests.chain_helpers import make_settings, own_deployment, share_build

ROOT = Path(__file__).resolve().parents[2]
#: A generous bound on "promptly": the node gone, every request fails at once.
PROMPT_SECONDS = 45


@pytest.fixture
def own_chain(ledger: Ledger, tmp_path: Path) -> Iterator[tuple[Ledger, LocalNode]]:
    """A deployed chain of this test's own (it is stopped mid-test), with a registrar; `ledger`
    only makes sure the contracts are compiled once for the session."""
    settings = make_settings(tmp_path, "anvil")
    share_build(settings)
    with own_deployment(settings) as (own, node):
        registrar = own.role_call(
            role_name="registrar", account=own.operator("registrar").address, grant=True
        )
        own.govern([registrar], "test bootstrap")
        yield own, node


def test_the_node_dying_mid_batch_ends_the_run_with_exit_4_and_what_was_paid(
    own_chain: tuple[Ledger, LocalNode], tmp_path: Path
) -> None:
    own, node = own_chain
    s = new_batch_setup(own, members=30)
    scheme, members = s.scheme, s.members
    rows = [s.row(f"n{i}", m, s.yesterday + 9 * 3600) for i, m in enumerate(members)]
    path = s.write(tmp_path / "day.csv", rows)

    env = {k: v for k, v in os.environ.items() if not k.startswith("VPL_")}
    env["VPL_DEPLOYMENTS_DIR"] = str(own.settings.resolved_deployments_dir)
    run = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "--data-dir", str(own.settings.data_dir),
         "--rpc-url", own.network.rpc_url, "--json", "issue", "batch", str(path),
         "--scheme", scheme.code, "--chunk", "1", "--organiser", "issuer-bee"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while own.points.balance_of(members[1], scheme.id) == 0:  # two chunks paid: mid-batch
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        pid = node.status().pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        out, err = run.communicate(timeout=PROMPT_SECONDS + 30)
        took = time.monotonic() - killed_at
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 4, (run.returncode, out, err)
    assert took < PROMPT_SECONDS, took
    assert "Traceback" not in err, err
    error = json.loads(out)["error"]
    assert error["code"] == "chain_unavailable", error
    message, details = error["message"], error["details"]
    assert "did not answer" in message or "stopped answering" in message, message
    # two chunks were mined before the kill, but the run may not have read their receipts
    # before the node went: it says what it knows was paid, and that the rest may have been
    paid = details["batches"]
    assert paid == list(range(1, len(paid) + 1)), paid
    said = f"were paid, in batches {', '.join(map(str, paid))}" if paid else "no record was paid"
    assert said in message and "records were not paid" in message, message
    assert "Run the same file again" in message
    assert details["paid_records"] + details["unpaid_records"] == 30

    # what failed with a bare ConnectionError or waited 120 s before
    with pytest.raises(RetryableChainError, match="did not answer"):
        own.records.batch_count()
    started = time.monotonic()
    with pytest.raises(RetryableChainError, match="stopped answering"):
        own.sender.wait("0x" + "11" * 32)
    assert time.monotonic() - started < 20
