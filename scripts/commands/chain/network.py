"""``vpl network``: a validator network on this machine (go-ethereum clique signers)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from ledger.chain.validators import ValidatorNetwork, ValidatorStatus
from scripts.output import line, table
from scripts.state import APP_OPTIONS, State, state_of

network_app = typer.Typer(
    help="A validator network on this machine: several nodes sealing blocks together.",
    **APP_OPTIONS,
)

NodeNumber = Annotated[int, typer.Argument(help="The validator's number (1, 2, ...).", min=1)]


def _network(state: State, validators: int | None = None) -> ValidatorNetwork:
    return ValidatorNetwork(state.settings, count=validators)


def _show(state: State, statuses: list[ValidatorStatus], headline: str) -> None:
    rows = [
        (
            s.number,
            f"{s.address[:6]}…{s.address[-4:]}",
            s.rpc_url.removeprefix("http://"),
            "running" if s.running else "stopped",
            s.head,
            s.peers,
            {True: "yes", False: "no", None: "?"}[s.signer],
            s.last_sealed,
        )
        for s in statuses
    ]
    state.out.result(
        {"validators": [asdict(s) for s in statuses]},
        line(headline, "bold"),
        table(
            None,
            ["#", "signer key", "rpc", "state", "head", "peers", "signer", "sealed"],
            rows,
        ),
    )


@network_app.command("up")
def network_up(
    ctx: typer.Context,
    validators: Annotated[
        int | None,
        typer.Option("--validators", min=1, max=16, help="How many (default: the network file's)."),
    ] = None,
) -> None:
    """Start every validator (building the node binary once), peered with each other."""
    state = state_of(ctx)
    network = _network(state, validators)
    statuses = network.up()
    running = sum(s.running for s in statuses)
    _show(state, statuses, f"{running} of {len(statuses)} validators running ({network.net.name})")


@network_app.command("status")
def network_status(ctx: typer.Context) -> None:
    """Each validator: running, head block, peers, whether it is a signer, what it last sealed."""
    state = state_of(ctx)
    network = _network(state)
    statuses = network.status()
    heads = {s.head for s in statuses if s.head is not None}
    in_step = "in step" if len(heads) <= 1 else f"heads differ: {sorted(heads)}"
    _show(state, statuses, f"{network.net.name}: {in_step}")


@network_app.command("stop-node")
def network_stop_node(
    ctx: typer.Context,
    number: NodeNumber,
    kill: Annotated[bool, typer.Option("--kill", help="SIGKILL instead of a clean stop.")] = False,
) -> None:
    """Stop one validator (its chain is kept; `start-node` brings it back)."""
    state = state_of(ctx)
    network = _network(state)
    network.stop_node(number, kill=kill)
    _show(state, network.status(), f"validator {number} stopped")


@network_app.command("start-node")
def network_start_node(ctx: typer.Context, number: NodeNumber) -> None:
    """Start one validator again; it reconnects and catches up with the others."""
    state = state_of(ctx)
    network = _network(state)
    network.start_node(number)
    _show(state, network.status(), f"validator {number} started")


@network_app.command("down")
def network_down(ctx: typer.Context) -> None:
    """Stop every validator (their chain is kept for `network up`)."""
    state = state_of(ctx)
    network = _network(state)
    _show(state, network.down(), "validators stopped; the chain is kept")
