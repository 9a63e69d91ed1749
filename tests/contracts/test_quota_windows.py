"""A scheme's issuance quota per period, across changes of the period: whatever the council does
to the period length, and however often, the quota is never handed out twice in one window.

This module runs its own chain, since it moves the chain's clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.chain.contracts import Scheme
from ledger.errors import QuotaExceeded
from ledger.ledger import Ledger
from tests.conftest import _start
from tests.contracts.helpers import source
from tests.factories import Member, new_member, new_scheme
from tests.probes import issue_points

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    yield from _start(tmp_path_factory, "anvil")


def now(ledger: Ledger) -> int:
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


def mine_at(ledger: Ledger, timestamp: int) -> None:
    ledger.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]


def start_of_next(ledger: Ledger, length: int, plus: int = 600) -> None:
    """Move the clock to just after the start of the next window of `length` seconds."""
    mine_at(ledger, (now(ledger) // length + 1) * length + plus)


def set_period(ledger: Ledger, scheme: Scheme, quota: int, period: int) -> None:
    ledger.govern([ledger.quota_call(scheme=scheme.id, quota=quota, quota_period=period)])


def issue(ledger: Ledger, scheme: Scheme, member: Member, amount: int) -> None:
    issue_points(ledger, member.address, scheme.id, amount, source())


def test_lengthening_the_period_keeps_what_the_shorter_window_used(ledger: Ledger) -> None:
    start_of_next(ledger, WEEK)
    scheme, member = new_scheme(ledger, quota=100), new_member(ledger)
    set_period(ledger, scheme, 100, HOUR)
    issue(ledger, scheme, member, 100)

    set_period(ledger, scheme, 100, DAY)
    mine_at(ledger, now(ledger) + HOUR + 600)  # the hour window is over; the day is not

    assert ledger.points.remaining_quota(scheme.id) == 0
    with pytest.raises(QuotaExceeded):
        issue(ledger, scheme, member, 1)
    start_of_next(ledger, DAY)
    assert ledger.points.remaining_quota(scheme.id) == 100


def test_switching_the_period_away_and_back_never_hands_out_the_quota_twice(
    ledger: Ledger,
) -> None:
    start_of_next(ledger, WEEK)
    scheme, member = new_scheme(ledger, quota=100), new_member(ledger)
    set_period(ledger, scheme, 100, WEEK)
    issue(ledger, scheme, member, 99)

    set_period(ledger, scheme, 100, HOUR)
    issue(ledger, scheme, member, 1)
    mine_at(ledger, now(ledger) + 2 * HOUR)
    set_period(ledger, scheme, 100, WEEK)

    assert ledger.points.quota_used(scheme.id) == 100
    assert ledger.points.remaining_quota(scheme.id) == 0
    with pytest.raises(QuotaExceeded):
        issue(ledger, scheme, member, 1)
    assert ledger.points.issued(scheme.id) == 100


def test_an_unchanged_period_starts_afresh_in_the_next_window(ledger: Ledger) -> None:
    start_of_next(ledger, DAY)
    scheme, member = new_scheme(ledger, quota=100), new_member(ledger)
    set_period(ledger, scheme, 100, DAY)
    issue(ledger, scheme, member, 100)
    assert ledger.points.remaining_quota(scheme.id) == 0

    start_of_next(ledger, DAY)

    assert ledger.points.remaining_quota(scheme.id) == 100
    issue(ledger, scheme, member, 100)
    assert ledger.points.issued(scheme.id) == 200
