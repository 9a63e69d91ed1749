"""The store's schema, versioned by Alembic: upgrade a store to the code's revision, say where a
store stands, list the revisions, and find where the models and a store's tables differ.

The revisions live in ``ledger/store/migrations/versions``; each changes the tables the way the
models in ``ledger.store`` changed (write one with ``vpl db revision -m "..."``, which asks
Alembic to compare the models with a store at head, then read and correct what it wrote). A store
made before the store was versioned (by ``create_all``) holds exactly the first revision's tables:
it is stamped with that revision, then upgraded like any other.

On PostgreSQL an upgrade holds a transaction-scoped advisory lock, so that several API processes
starting together upgrade once; the DDL runs in that one transaction, so a failed upgrade leaves
the store as it was."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from ledger.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
#: The first revision: the tables as they were when the store was first versioned.
BASELINE = "0001"
#: A table every store has had since the first release: its presence without Alembic's version
#: table marks a store made by ``create_all`` before migrations.
_ALWAYS = "member_identity"
#: The PostgreSQL advisory lock key upgrades take (any constant; "vpl-db" in ASCII).
_LOCK = 0x76706C2D6462


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | None
    message: str


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The revision the code's models are at."""
    found = _scripts().get_current_head()
    assert found is not None, "no migrations in ledger/store/migrations/versions"
    return found


def history() -> list[Revision]:
    """Every revision, oldest first."""
    revisions = list(_scripts().walk_revisions())
    revisions.reverse()
    return [
        Revision(
            id=r.revision,
            down=r.down_revision if isinstance(r.down_revision, str) else None,
            message=(r.doc or "").strip().splitlines()[0] if r.doc else "",
        )
        for r in revisions
    ]


def current(engine: Engine) -> str | None:
    """The store's revision: None for an empty store; the baseline for one made before
    migrations (not yet stamped)."""
    with engine.connect() as connection:
        return _current(connection)


def _current(connection: Connection) -> str | None:
    found = MigrationContext.configure(connection).get_current_revision()
    if found is None and inspect(connection).has_table(_ALWAYS):
        return BASELINE
    return found


def _stamped(engine: Engine) -> str | None:
    with engine.connect() as connection:
        found: str | None = MigrationContext.configure(connection).get_current_revision()
        return found


def pending(engine: Engine) -> list[str]:
    """The revisions an upgrade to head would run, oldest first."""
    at = current(engine)
    ids = [r.id for r in history()]
    if at is None:
        return ids
    if at not in ids:  # a newer release's revision: nothing this code could run
        return []
    return ids[ids.index(at) + 1 :]


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Bring the store to `revision` (head: the code's); returns the revisions it ran."""
    if revision == "head" and _stamped(engine) == head():
        return []  # every process opening the store asks: answered without taking the lock
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        before = MigrationContext.configure(connection).get_current_revision()
        if before is None and inspect(connection).has_table(_ALWAYS):
            command.stamp(_config(connection), BASELINE)
            before = BASELINE
        known = [r.id for r in history()]
        if before is not None and before not in known:
            raise ConfigError(
                f"the store is at revision {before}, which this code does not know (it was "
                "upgraded by a newer release): run that release, or restore a backup"
            )
        command.upgrade(_config(connection), revision)
        after = MigrationContext.configure(connection).get_current_revision()
    start = 0 if before is None else known.index(before) + 1
    return known[start : known.index(after) + 1] if after in known else []


def check(engine: Engine) -> None:
    """ConfigError unless the store is at the code's revision."""
    at = current(engine)
    if at is None:
        raise ConfigError("the store has no tables yet: run `vpl db upgrade` to create them")
    if at != head():
        raise ConfigError(
            f"the store is at revision {at} and this code needs {head()}: run `vpl db upgrade` "
            "(back the store up first)"
        )


def drift(engine: Engine) -> list[Any]:
    """How the store's tables differ from the models (Alembic's autogenerate comparison): empty
    when every change of the models has its migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def new_revision(engine: Engine, message: str) -> str:
    """Write a migration for how the models differ from `engine`'s store (at head); returns its
    file. A developer's step: read and correct it before committing it."""
    upgrade(engine)
    with engine.begin() as connection:
        ids = [r.id for r in history()]
        rev_id = f"{int(ids[-1]) + 1:04d}"
        script = command.revision(
            _config(connection), message=message, autogenerate=True, rev_id=rev_id
        )
    assert script is not None and not isinstance(script, list)
    return str(script.path)
