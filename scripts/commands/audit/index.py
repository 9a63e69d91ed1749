"""``vpl index``: the event index (``ledger.audit.index``): catch up, how far behind, follow, reset,
and a member's history from it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.audit.index.follow import FOLLOWER_LEASE, Indexer, SyncReport
from ledger.audit.index.pages import HistoryPage
from ledger.store.lease import Lease
from scripts.export import ExportOption, check_export, maybe_export
from scripts.jobs import run_until_stopped
from scripts.output import fields, table
from scripts.state import APP_OPTIONS, State, state_of

index_app = typer.Typer(
    help="The event index: every event of our contracts in the store, members' history.",
    **APP_OPTIONS,
)


def _indexer(state: State) -> Indexer:
    return Indexer(state.ledger)


def report_data(r: SyncReport) -> dict[str, Any]:
    return {
        "from_block": r.from_block,
        "to_block": r.to_block,
        "chain_head": r.chain_head,
        "behind": r.behind,
        "blocks": r.blocks,
        "events": r.events,
        "movements": r.movements,
        "seconds": round(r.seconds, 3),
        "events_per_second": round(r.events_per_second, 1),
        "rpc_requests": r.rpc_requests,
        "reorg": (
            {
                "fork_block": r.reorg.fork_block,
                "dropped_blocks": r.reorg.dropped_blocks,
                "dropped_events": r.reorg.dropped_events,
            }
            if r.reorg
            else None
        ),
    }


def _report_lines(r: SyncReport) -> list[tuple[str, Any]]:
    return [
        ("blocks", f"{r.from_block}-{r.to_block} ({r.blocks})" if r.blocks else "none new"),
        ("events", r.events),
        ("point movements", r.movements),
        ("time", f"{r.seconds:.2f} s, {r.events_per_second:,.0f} events/s, {r.rpc_requests} RPC"),
        ("chain head", f"{r.chain_head} ({r.behind} blocks behind)"),
        (
            "reorg",
            f"rolled back to block {r.reorg.fork_block} ({r.reorg.dropped_blocks} blocks, "
            f"{r.reorg.dropped_events} events) and indexed the new branch"
            if r.reorg
            else None,
        ),
    ]


@index_app.command("sync")
def sync_command(
    ctx: typer.Context,
    max_blocks: Annotated[
        int | None,
        typer.Option("--max-blocks", min=1, help="Index at most this many blocks, then stop."),
    ] = None,
) -> None:
    """Catch up with the chain (undoing a reorg first) and print what was indexed."""
    state = state_of(ctx)
    report = _indexer(state).sync(max_blocks=max_blocks)
    state.out.result(report_data(report), fields("index sync", _report_lines(report)))


@index_app.command("status")
def status_command(ctx: typer.Context) -> None:
    """The indexed block, the chain's newest block and how far behind the index is."""
    state = state_of(ctx)
    s = _indexer(state).status()
    data = {
        "indexed_block": s.indexed_block,
        "chain_head": s.chain_head,
        "blocks_behind": s.blocks_behind,
        "finalized_block": s.finalized_block,
        "events": s.events,
        "movements": s.movements,
        "synced_at": s.synced_at,
    }
    state.out.result(
        data,
        fields(
            "index status",
            [
                ("indexed block", s.indexed_block),
                ("chain head", s.chain_head),
                (
                    "behind",
                    f"{s.blocks_behind} blocks" + (" (up to date)" if not s.blocks_behind else ""),
                ),
                ("final up to", s.finalized_block),
                ("events", s.events),
                ("point movements", s.movements),
            ],
        ),
    )


@index_app.command("run")
def run_command(
    ctx: typer.Context,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between syncs once caught up.")
    ] = 2.0,
) -> None:
    """Follow the chain until Ctrl-C (or SIGTERM), printing each sync that found something; in
    one process at a time per store (an API process following the chain counts): while another
    follows, this one waits to take over."""
    state = state_of(ctx)
    indexer = _indexer(state)
    lease = Lease(state.ledger.engine, FOLLOWER_LEASE)

    def show(r: SyncReport) -> None:
        if r.blocks or r.reorg:
            state.out.result(report_data(r), fields(None, _report_lines(r)))

    def led(leading: bool) -> None:
        state.out.note(
            "following the chain into the index"
            if leading
            else "another process follows the chain into this store; waiting to take over"
        )

    try:
        run_until_stopped(
            state.out,
            f"following the chain every {poll:g} s; Ctrl-C stops",
            lambda: indexer.run(poll, on_sync=show, lease=lease, on_lead=led),
            indexer.stop,
        )
    finally:
        lease.release()


@index_app.command("reset")
def reset_command(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the whole index; the next sync starts again from the deployment's block."""
    state = state_of(ctx)
    if not yes:
        typer.confirm("delete the whole event index?", abort=True)
    _indexer(state).reset()
    state.out.result({"reset": True}, fields(None, [("index", "deleted; run `vpl index sync`")]))


@index_app.command("history")
def history_command(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(metavar="MEMBER", help="Address or operator name.")],
    scheme: Annotated[str | None, typer.Option("--scheme", help="A scheme code or id.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="issued, exchanged, ...")] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="next_cursor of a page.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows per page (at most 500).")] = 50,
    export: ExportOption = None,
) -> None:
    """A member's movements of points from the index, newest first."""
    check_export(export)
    state = state_of(ctx)
    page = _indexer(state).history(
        state.account(member, what="member"), scheme=scheme, kind=kind, cursor=cursor, limit=limit
    )
    data = _history_data(page)
    state.out.result(data, *_history_view(state, page))
    maybe_export(ctx, export, data, data["entries"])


def _history_data(page: HistoryPage) -> dict[str, Any]:
    return {
        "member": page.member,
        "indexed_block": page.indexed_block,
        "chain_head": page.chain_head,
        "blocks_behind": page.blocks_behind,
        "final_block": page.final_block,
        "next_cursor": page.next_cursor,
        "entries": [e.__dict__ for e in page.entries],
    }


def _history_view(state: State, page: HistoryPage) -> list[Any]:
    rows = [
        (
            e.timestamp.isoformat(timespec="seconds"),
            e.block if e.final else f"{e.block} (not final)",
            e.scheme or e.scheme_id,
            e.kind,
            f"{e.delta:+}",
            state.label(e.counterparty),
            e.reference or "",
        )
        for e in page.entries
    ]
    out: list[Any] = [
        table(
            f"history of {page.member} (indexed to block {page.indexed_block}, "
            f"{page.blocks_behind} behind)",
            ["time (UTC)", "block", "scheme", "kind", "points", "other side", "reference"],
            rows,
        )
    ]
    if page.next_cursor:
        out.append(fields(None, [("more", f"--cursor {page.next_cursor}")]))
    return out
