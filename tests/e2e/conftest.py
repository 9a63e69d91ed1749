"""Fixtures of the end-to-end specifications: ``vpl``, the CLI in-process against the session
ledger's chain, vault and manifest, and a scheme set up through it."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner, Result

from ledger.chain.contracts import Scheme
from ledger.ledger import Ledger
from scripts.cli import app
from tests.e2e.runner import Vpl, ok
from tests.factories import new_scheme


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


@pytest.fixture
def cli_scheme(vpl: Vpl, ledger: Ledger) -> Scheme:
    """A fresh scheme of issuer-vol with a rule (10 points an hour), limits, an organiser
    (issuer-bee) and two reviewers, all set through the CLI."""
    s = new_scheme(ledger, issuer=ledger.operator("issuer-vol").address)
    ok(
        vpl(
            "--json", "rule", "duration", s.code, "--points-per-hour", "10", "--grades", "A=1.2,B=1"
        )
    )
    limits = ok(
        vpl(
            "--json",
            "limits",
            "set",
            s.code,
            "--records-per-day",
            "6",
            "--minutes-per-day",
            "720",
            "--points-per-day",
            "1000",
            "--points-per-week",
            "5000",
            "--approvals-per-hour",
            "60",
        )
    )
    assert limits["records_per_day"] == 6 and limits["late_working_days"] == 10
    ok(vpl("--json", "role", "grant", "organiser", "issuer-bee", "--scheme", s.code))
    ok(vpl("--json", "role", "grant", "reviewer", "reviewer-1", "--scheme", s.code))
    ok(vpl("--json", "role", "grant", "reviewer", "reviewer-2", "--scheme", s.code))
    return s
