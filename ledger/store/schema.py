"""The whole store's tables: every table module, so that creating the schema creates them all.

The top of the store package: the table modules build on ``ledger.store.db`` (engine, sessions,
column types) and ``ledger.store.pending`` (rows written before their transaction), and this
module on all of them."""

from __future__ import annotations

from sqlalchemy.engine import Engine

import ledger.store.anchors
import ledger.store.catalogue
import ledger.store.clearing
import ledger.store.gifts
import ledger.store.index
import ledger.store.proxies
import ledger.store.records
import ledger.store.refusals
import ledger.store.sessions
import ledger.store.timebank
import ledger.store.uploads
import ledger.store.vault  # noqa: F401  (each registers its tables)


def init_db(engine: Engine, *, upgrade: bool = True) -> None:
    """Bring the store to the code's schema revision (creating every table of an empty store, the
    vault's included) with the migrations of ``ledger.store.migrate``; with ``upgrade=False``,
    only check that it is there already (ConfigError saying to run ``vpl db upgrade``)."""
    from ledger.store import migrate

    if upgrade:
        migrate.upgrade(engine)
    else:
        migrate.check(engine)
