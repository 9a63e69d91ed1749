"""``vpl db``: an operator upgrades the store and sees where it stands (no chain needed)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from ledger.store import make_engine, migrate
from scripts.cli import app
from tests.e2e.runner import ok

Db = Callable[..., Result]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Db:
    """``vpl --json db ...`` on a store of its own under `tmp_path`."""
    for name in list(os.environ):
        if name.startswith("VPL_"):
            monkeypatch.delenv(name)

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["--data-dir", str(tmp_path), "--json", "db", *args])

    return run


def test_an_operator_sees_an_upgrade_due_runs_it_and_then_nothing_is_due(db: Db) -> None:
    revisions = [r.id for r in migrate.history()]
    due = db("current")
    assert due.exit_code == 1, due.output  # an upgrade is due: a script can tell
    assert json.loads(due.stdout) == {"current": None, "head": migrate.head(), "pending": revisions}
    assert ok(db("upgrade")) == {"from": None, "to": migrate.head(), "ran": revisions}
    assert ok(db("current"))["pending"] == []
    assert ok(db("upgrade"))["ran"] == []
    history = ok(db("history"))
    assert [h["id"] for h in history] == revisions and history[0]["message"]


def test_a_store_of_a_newer_release_is_refused_with_what_to_do(db: Db, tmp_path: Path) -> None:
    ok(db("upgrade"))
    engine = make_engine(f"sqlite:///{tmp_path / 'vpl.db'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    refused = db("upgrade")
    assert refused.exit_code == 2, refused.output
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "config_error"
    assert "revision 9999, which this code does not know" in error["message"]
