"""``vpl`` end to end, the chain commands: ``chain up``, ``up --no-serve`` and ``chain down``
run as real subprocesses on a throwaway data directory and port, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlmodel import Session

from ledger.chain.node import LocalNode
from ledger.chain.node.host import free_port
from ledger.config import REPO_ROOT, Settings
from ledger.errors import NodeNotRunning
from ledger.ledger import Ledger
from ledger.store.db import make_engine
from ledger.store.index import IndexSchema

# --- the local node, as a user runs it ---------------------------------------------------------


def test_chain_up_then_up_then_chain_down_in_a_subprocess(tmp_path: Path, ledger: Ledger) -> None:
    """A second ``chain up`` reuses the node; ``up --no-serve`` deploys and seeds once."""
    port = free_port()
    data_dir = tmp_path / "data"
    # The compiled contracts of the session (a cache keyed by the sources): saves a compile.
    shutil.copytree(ledger.settings.build_dir, data_dir / "build")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPL_")}
    env["VPL_NODE_PORT"] = str(port)
    env["VPL_DEPLOYMENTS_DIR"] = str(tmp_path / "deployments")

    def vpl(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "scripts.cli", "--json", "--data-dir", str(data_dir), *args],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout)

    try:
        started = vpl("chain", "up", "--node", "anvil")
        assert (started["running"], started["managed"], started["already_running"]) == (
            True,
            True,
            False,
        )
        assert (started["kind"], started["chain_id"]) == ("anvil", 1337)
        assert started["rpc_url"] == f"http://127.0.0.1:{port}"

        again = vpl("chain", "up", "--node", "anvil")
        assert again["already_running"] is True
        assert again["pid"] == started["pid"]

        setup = vpl("up", "--no-serve", "--node", "anvil")
        assert setup["deploy"]["created"] is True
        assert setup["demo"]["schemes_added"] == [
            "VOL",
            "BEE",
            "TRAFFIC",
            "GREEN",
            "CULTURE",
            "TIME",
        ]
        assert setup["api"] is None
        assert setup["demo"]["items_listed"] == [
            "黄鹤楼门票 (BEE)",
            "长者午餐一份 (VOL)",
            "文创礼品 (CULTURE)",
        ]
        indexed = vpl("index", "status")
        assert indexed["events"] > 0 and indexed["indexed_block"] > 0
        # an index of an older version is rebuilt from the chain by the next `vpl up`
        url = Settings(_env_file=None, data_dir=data_dir).resolved_database_url  # type: ignore[call-arg]
        with Session(make_engine(url)) as db:
            db.delete(db.get(IndexSchema, 1))
            db.commit()
        rerun = vpl("up", "--no-serve", "--node", "anvil")
        assert vpl("index", "status")["events"] >= indexed["events"]
        with Session(make_engine(url)) as db:  # rebuilt: the tables' version is written again
            assert db.get(IndexSchema, 1) is not None
        assert rerun["deploy"]["created"] is False
        assert (rerun["demo"]["schemes_added"], rerun["demo"]["roles_granted"]) == ([], [])
        assert rerun["demo"]["items_listed"] == []
        assert [i["details"]["name"] for i in vpl("catalogue", "list")] == [
            "文创礼品",
            "长者午餐一份",
            "黄鹤楼门票",
        ]
        assert [s["code"] for s in vpl("scheme", "list")][:2] == ["VOL", "BEE"]

        status = vpl("chain", "status")
        assert (status["running"], status["pid"], status["chain_id"]) == (
            True,
            started["pid"],
            1337,
        )

        stopped = vpl("chain", "down")
        assert stopped["stopped"] is True
        assert vpl("chain", "status")["running"] is False
        assert vpl("chain", "down")["stopped"] is False
    finally:
        settings = Settings(_env_file=None, data_dir=data_dir, node="anvil", node_port=port)  # type: ignore[call-arg]
        with suppress(NodeNotRunning):
            LocalNode(settings).stop()
