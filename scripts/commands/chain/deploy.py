"""``vpl deploy`` and ``vpl up``: the contracts, and a development network in one step (chain,
contracts, demo city, event index, API)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.chain.node import LocalNode
from ledger.config import REPO_ROOT
from ledger.errors import ConfigError
from scripts.commands.chain.node import NodeOption
from scripts.output import fields, line, table
from scripts.state import State, state_of

#: A copy of shared/data/demo-city.json, kept in the repository so a clone alone can run the demo.
DEFAULT_DEMO_CITY = REPO_ROOT / "hardhat-free-config" / "demo" / "demo-city.json"


def _deploy(state: State, *, fresh: bool) -> dict[str, Any]:
    outcome = state.ledger.deploy(fresh=fresh)
    manifest = outcome.manifest
    return {
        "created": outcome.created,
        "network": manifest.network,
        "chain_id": manifest.chain_id,
        "manifest": outcome.path,
        "deploy_block": manifest.deploy_block,
        "contracts": {name: c.address for name, c in manifest.contracts.items()},
    }


def _deploy_headline(data: dict[str, Any]) -> str:
    if data["created"]:
        return f"deployed {len(data['contracts'])} contracts on {data['network']}"
    return "already deployed, manifest matches the chain"


def deploy_command(
    ctx: typer.Context,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Development only: deploy anew, keep the old manifest.")
    ] = False,
) -> None:
    """Deploy the contracts once (a no-op when the manifest matches the chain)."""
    state = state_of(ctx)
    data = _deploy(state, fresh=fresh)
    state.out.result(
        data,
        line(_deploy_headline(data), "bold"),
        table(None, ["contract", "address"], data["contracts"].items()),
        line(f"manifest: {data['manifest']} (block {data['deploy_block']})"),
    )


def up_command(
    ctx: typer.Context,
    node: NodeOption = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after setting up.")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="API host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="API port.", min=1, max=65535)] = 8000,
    demo: Annotated[
        Path | None,
        typer.Option("--demo", help="Demo city file (default: hardhat-free-config/demo)."),
    ] = None,
) -> None:
    """Development in one step: chain up, deploy, seed the demo city, serve the API."""
    state = state_of(ctx)
    out = state.out
    state.override(node=node.value if node else None)
    settings = state.settings
    net = settings.network_config
    if not net.development:
        raise ConfigError(
            f"`vpl up` sets up a development network, and {net.name!r} is not one; use "
            "`vpl deploy` and run the API under your process manager"
        )
    if settings.rpc_url is None and net.validators is not None:
        from ledger.chain.validators import ValidatorNetwork

        running = sum(s.running for s in ValidatorNetwork(settings).up())
        out.note(f"chain: {running} of {net.validators.count} validators running ({net.name})")
    elif settings.rpc_url is None:
        status = LocalNode(settings).start()
        verb = "is already running" if status.already_running else "started"
        out.note(f"chain: {status.kind} node {verb} at {status.rpc_url}")
    else:
        out.note(f"chain: attaching to {settings.rpc_url}")
    deployed = _deploy(state, fresh=False)
    out.note(f"contracts: {_deploy_headline(deployed)}")

    demo_path = demo or DEFAULT_DEMO_CITY
    seeded: Any = None
    if demo_path.exists():
        from ledger.demo import bootstrap_demo

        summary = bootstrap_demo(state.ledger, demo_path)
        seeded = asdict(summary) if is_dataclass(summary) else summary  # type: ignore[arg-type]
        out.note(f"demo city ({demo_path}): {_demo_text(seeded)}")
    else:
        out.note(f"demo city: {demo_path} does not exist; skipped")
    _index_for_development(state)

    url = f"http://{host}:{port}"
    data = {
        "network": net.name,
        "rpc_url": net.rpc_url,
        "deploy": deployed,
        "demo": seeded,
        "api": url if serve else None,
    }
    out.result(
        data,
        line(f"ready: network {net.name} at {net.rpc_url}", "bold"),
        fields(
            None,
            [
                ("contracts", _deploy_headline(deployed)),
                ("demo city", _demo_text(seeded)),
                ("API", f"{url} (docs at {url}/docs)" if serve else "not served (--no-serve)"),
            ],
        ),
    )
    if serve:
        import uvicorn

        from api.app import create_app

        state.close()  # the app builds its own Ledger from the same settings
        out.note(f"serving the API at {url}; Ctrl-C stops the server")
        if "public_url" not in settings.model_fields_set:  # sign-in messages name this server
            settings = settings.model_copy(update={"public_url": url})
        uvicorn.run(create_app(settings), host=host, port=port)
    if settings.rpc_url is None:
        down = "vpl network down" if net.validators is not None else "vpl chain down"
        out.note(f"the chain keeps running; stop it with `{down}`")


def _index_for_development(state: State) -> None:
    """Bring the event index up to the chain. On a development network an index the indexer
    cannot continue (built by an older version, or of an earlier chain) is rebuilt from the
    chain, which holds everything it had; production networks are never reset unasked."""
    from ledger.audit.index.follow import Indexer
    from ledger.errors import IndexMismatch

    indexer = Indexer(state.ledger)
    try:
        report = indexer.sync()
    except IndexMismatch as exc:
        state.out.note(f"index: {exc.message.split(';')[0]}; rebuilding it from the chain")
        indexer.reset()
        report = indexer.sync()
    state.out.note(f"index: {report.events} new events, up to block {report.to_block}")


def _demo_text(seeded: Any) -> str:
    if seeded is None:
        return "skipped"
    if not isinstance(seeded, dict):
        return str(seeded)
    schemes = seeded.get("schemes_added") or []
    roles = seeded.get("roles_granted") or []
    rules = seeded.get("rules_published") or []
    limits = seeded.get("limits_set") or []
    activities = seeded.get("activities_published") or []
    items = seeded.get("items_listed") or []
    if not schemes and not roles and not rules and not limits and not activities and not items:
        return "already seeded"
    return (
        f"added schemes {', '.join(schemes) or '-'}; granted {len(roles)} roles; "
        f"published rules {', '.join(rules) or '-'}; set limits {', '.join(limits) or '-'}; "
        f"published {len(activities)} activities; listed {len(items)} catalogue items"
    )
