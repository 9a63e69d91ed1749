"""``vpl chain``: start, stop and inspect the local chain node."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from ledger.chain.node import LocalNode, NodeStatus
from ledger.errors import NodeNotRunning
from scripts.output import fields, line
from scripts.state import APP_OPTIONS, State, state_of

chain_app = typer.Typer(help="Start, stop and inspect the local chain node.", **APP_OPTIONS)


class NodeChoice(StrEnum):
    ganache = "ganache"
    anvil = "anvil"


NodeOption = Annotated[
    NodeChoice | None, typer.Option("--node", help="Node kind (default: the network file's).")
]


_NODE_FIELDS = (
    "running", "managed", "already_running", "kind", "pid", "rpc_url", "chain_id", "block_number",
    "data_dir", "stale",
)  # fmt: skip


def _node_data(status: NodeStatus) -> dict[str, Any]:
    return {name: getattr(status, name) for name in _NODE_FIELDS}


def _show_node(state: State, status: NodeStatus, headline: str) -> None:
    data = _node_data(status)
    state.out.result(
        data,
        line(headline, "bold"),
        fields(
            None,
            [
                ("kind", status.kind),
                ("pid", status.pid),
                ("rpc url", status.rpc_url),
                ("chain id", status.chain_id),
                ("block", status.block_number),
                ("managed here", status.managed),
                ("node directory", status.data_dir),
                ("stale", status.stale),
            ],
        ),
    )


@chain_app.command("up")
def chain_up(ctx: typer.Context, node: NodeOption = None) -> None:
    """Start the local node (a running one started from this data directory is reused)."""
    state = state_of(ctx)
    state.override(node=node.value if node else None)
    status = LocalNode(state.settings).start()
    verb = "is already running" if status.already_running else "started"
    _show_node(state, status, f"{status.kind} node {verb} at {status.rpc_url}")


@chain_app.command("down")
def chain_down(ctx: typer.Context) -> None:
    """Stop the local node started from this data directory (its chain is kept)."""
    state = state_of(ctx)
    try:
        status = LocalNode(state.settings).stop()
    except NodeNotRunning as exc:
        state.out.result(
            {"running": False, "stopped": False, "note": exc.message},
            line(f"nothing to stop: {exc.message}"),
        )
        return
    data = {**_node_data(status), "stopped": True}
    state.out.result(
        data,
        line(
            f"{status.kind} node (pid {status.pid}) stopped; its chain is kept for `vpl chain up`"
        ),
    )


@chain_app.command("status")
def chain_status(ctx: typer.Context) -> None:
    """What runs at the network's RPC URL, and whether it is ours."""
    state = state_of(ctx)
    status = LocalNode(state.settings).status()
    headline = f"running at {status.rpc_url}" if status.running else "not running"
    _show_node(state, status, headline)
