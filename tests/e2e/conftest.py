"""The ``vpl`` fixture: the CLI in-process against the session ledger's chain, vault and
manifest."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner, Result

from ledger.ledger import Ledger
from scripts.cli import app
from tests.e2e.runner import Vpl


@pytest.fixture
def vpl(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Vpl:
    """Runs ``vpl`` against the session ledger's chain, vault and manifest."""
    for name in list(os.environ):
        if name.startswith("VPL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VPL_DEPLOYMENTS_DIR", str(ledger.settings.resolved_deployments_dir))
    runner = CliRunner()
    base = ["--data-dir", str(ledger.settings.data_dir), "--rpc-url", ledger.network.rpc_url]

    def run(*args: str, input: str | None = None) -> Result:
        try:
            return runner.invoke(app, [*base, *args], input=input)
        finally:
            # The CLI signed with the operators' keys from its own Ledger; the session Ledger's
            # cached nonces are stale now (ledger/tx.py does not recognise ganache's wording of
            # "nonce too low", so it would not resynchronise by itself).
            for name in ledger.network.operators:
                ledger.sender.reset_nonce(ledger.operator(name).address)

    return run
