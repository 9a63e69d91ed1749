"""``vpl db``: the store's schema revision (``ledger.store.migrate``): upgrade, where it stands,
the revisions, and a new revision for a change of the models."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from ledger.store import make_engine, migrate
from scripts.output import fields, table
from scripts.state import APP_OPTIONS, State, state_of

db_app = typer.Typer(
    help="The off-chain store's schema: upgrade it, see its revision and the revisions.",
    **APP_OPTIONS,
)


def _engine(state: State) -> Engine:
    return make_engine(state.settings.resolved_database_url)


@db_app.command("upgrade")
def upgrade_command(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="The revision to reach.")] = "head",
) -> None:
    """Bring the store to the code's revision (or REVISION): back it up first in production."""
    state = state_of(ctx)
    engine = _engine(state)
    before = migrate.current(engine)
    ran = migrate.upgrade(engine, revision)
    after = migrate.current(engine)
    data = {"from": before, "to": after, "ran": ran}
    state.out.result(
        data,
        fields(
            "db upgrade",
            [
                ("from", before or "(empty store)"),
                ("to", after),
                ("ran", ", ".join(ran) if ran else "nothing: the store was there already"),
            ],
        ),
    )


@db_app.command("current")
def current_command(ctx: typer.Context) -> None:
    """The store's revision, the code's, and whether an upgrade is due (exit code 1 if so)."""
    state = state_of(ctx)
    engine = _engine(state)
    at, head = migrate.current(engine), migrate.head()
    due = migrate.pending(engine)
    data = {"current": at, "head": head, "pending": due}
    state.out.result(
        data,
        fields(
            "db current",
            [
                ("store", at or "(empty store)"),
                ("code", head),
                ("pending", ", ".join(due) if due else "none"),
            ],
        ),
    )
    if due:
        raise typer.Exit(1)


@db_app.command("history")
def history_command(ctx: typer.Context) -> None:
    """Every revision, oldest first."""
    state = state_of(ctx)
    revisions = migrate.history()
    state.out.result(
        [{"id": r.id, "down": r.down, "message": r.message} for r in revisions],
        table(
            "db history",
            ["revision", "after", "what"],
            [(r.id, r.down, r.message) for r in revisions],
        ),
    )


@db_app.command("revision")
def revision_command(
    ctx: typer.Context,
    message: Annotated[str, typer.Option("-m", "--message", help="What the change is.")],
) -> None:
    """For developers: write the migration of a change of the models (Alembic compares them with
    the store, brought to head first); read and correct the file before committing it."""
    state = state_of(ctx)
    path = migrate.new_revision(_engine(state), message)
    state.out.result({"file": path}, fields("db revision", [("written", path)]))
