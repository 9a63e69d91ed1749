"""The store's schema under Alembic, on SQLite and PostgreSQL: built from the first revision,
holding real rows, upgraded to head with the rows kept; the models never change without a
migration; a store made before migrations is taken over; a store of another revision is refused
with what to do."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

import ledger.store.schema  # noqa: F401  (every table on SQLModel.metadata)
from ledger.errors import ConfigError
from ledger.store import PersonalData, Vault, init_db, make_engine, migrate, session, utcnow
from ledger.store.sessions import AdminAction
from tests.conftest import fresh_database
from tests.factories import person

KEY = secrets.token_bytes(32)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An empty store of its own, on each backend."""
    made = make_engine(fresh_database(str(request.param), tmp_path, request))
    yield made
    made.dispose()


def write_rows(engine: Engine) -> tuple[str, PersonalData]:
    """A sealed member in the vault and a line of the admin log, written by the ledger's own code."""
    address = "0x" + secrets.token_hex(20)
    data = person()
    Vault(engine, KEY).put(address=address, commitment=secrets.token_bytes(32), data=data)
    with session(engine) as db:
        db.add(
            AdminAction(
                at=utcnow(),
                actor=address,
                action="member.freeze",
                subject=address,
                outcome="done",
                request_id="r-1",
            )
        )
    return address, data


def rows_kept(engine: Engine, address: str, data: PersonalData) -> None:
    assert Vault(engine, KEY).get(address).data == data
    with session(engine) as db:
        logged = db.exec(select(AdminAction).where(AdminAction.actor == address)).one()
    assert (logged.action, logged.outcome) == ("member.freeze", "done")


def test_a_store_built_at_the_first_revision_keeps_its_rows_when_upgraded_to_head(
    engine: Engine,
) -> None:
    first = migrate.history()[0].id
    assert first == migrate.BASELINE
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine, first) == [first]
    address, data = write_rows(engine)

    ran = migrate.upgrade(engine)

    assert ran == [r.id for r in migrate.history()][1:]
    assert migrate.current(engine) == migrate.head()
    rows_kept(engine, address, data)
    assert migrate.upgrade(engine) == []  # nothing more to do


def test_every_change_of_the_models_has_its_migration(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    # the comparison does see a difference: one index gone from the store
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_admin_action_actor"))
    assert [d[0] for d in migrate.drift(engine)] == ["add_index"]


def test_a_store_made_before_migrations_is_taken_over_with_its_rows(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)  # as every store was made before
    address, data = write_rows(engine)
    assert migrate.current(engine) == migrate.BASELINE

    init_db(engine)

    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == migrate.head()
    rows_kept(engine, address, data)
    assert migrate.drift(engine) == []


def test_a_store_of_a_newer_release_is_refused_and_left_as_it_was(engine: Engine) -> None:
    migrate.upgrade(engine)
    address, data = write_rows(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(ConfigError, match="revision 9999, which this code does not know"):
        migrate.upgrade(engine)
    with pytest.raises(ConfigError, match="at revision 9999 and this code needs"):
        init_db(engine, upgrade=False)
    rows_kept(engine, address, data)


def test_without_auto_upgrade_a_process_refuses_a_store_not_at_head(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="vpl db upgrade"):
        init_db(engine, upgrade=False)
    assert migrate.current(engine) is None  # nothing was created
    migrate.upgrade(engine)
    init_db(engine, upgrade=False)  # at head: opens
