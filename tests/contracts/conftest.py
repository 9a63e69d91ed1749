"""Fixtures of the contract specifications, beside the session's own (``tests/conftest.py``: the
chain, fresh members, the shared earning schemes): per test, an open activity of the duration
scheme and a fresh member who signs their own transactions."""

from __future__ import annotations

import pytest

from ledger.chain.contracts.activities import Activity
from ledger.ledger import Ledger
from tests.earning_helpers import Earning, funded_member, open_activity
from tests.factories import Member


@pytest.fixture
def activity(ledger: Ledger, vol: Earning) -> Activity:
    """An activity of `vol` that began a week ago and ends tomorrow, with ten places."""
    return open_activity(ledger, vol).activity


@pytest.fixture
def volunteer(ledger: Ledger) -> Member:
    """A freshly registered member who can sign their own transactions (funded)."""
    return funded_member(ledger)
