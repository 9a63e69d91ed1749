"""Leases: one process at a time holds a named lease on a store, on SQLite and PostgreSQL; when
the holder is killed (or, on PostgreSQL, its connection cut) another takes it over."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ledger.store import make_engine
from ledger.store.lease import Lease, release_shared, shared_lease
from tests.conftest import fresh_database
from tests.lease_helpers import cut_leases, holder


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return fresh_database(str(request.param), tmp_path, request)


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = make_engine(url)
    yield made
    made.dispose()


def test_one_process_at_a_time_holds_a_lease_and_another_takes_it_when_the_holder_dies(
    url: str, engine: Engine
) -> None:
    other, answer = holder(url)
    try:
        assert answer == "held"
        mine = Lease(engine, "index-follower")
        assert not mine.acquire() and not mine.held()
        assert Lease(engine, "something else").acquire()  # leases are by name
        other.send_signal(signal.SIGKILL)
        other.wait(timeout=30)
        assert mine.acquire() and mine.held()
        third, answer = holder(url)
        third.kill()
        assert answer == "refused"
        mine.release()
        assert not mine.held()
        fourth, answer = holder(url)
        fourth.kill()
        assert answer == "held"
    finally:
        other.kill()


@pytest.mark.postgres
def test_a_lease_lost_with_its_connection_is_noticed_and_taken_again(
    postgres_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(fresh_database("postgresql", tmp_path, request))
    lease = Lease(engine, "index-follower")
    assert lease.acquire()
    assert cut_leases(postgres_url, engine) == 1  # the server drops the holder's connection
    assert not lease.held()
    assert lease.acquire() and lease.held()
    lease.release()
    engine.dispose()


def test_a_shared_lease_is_one_per_process_until_its_last_holder_gives_it_back(
    url: str, engine: Engine
) -> None:
    first = shared_lease(engine, "relayer 0xabc")
    second = shared_lease(engine, "relayer 0xabc")
    assert first is not None and first is second
    release_shared(first)
    other, answer = holder(url, "relayer 0xabc")
    other.kill()
    assert answer == "refused"  # still held for the second holder
    release_shared(first)
    other, answer = holder(url, "relayer 0xabc")
    other.kill()
    assert answer == "held"
