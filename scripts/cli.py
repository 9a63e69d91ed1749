"""``vpl``: the administration CLI. It parses arguments, calls ``ledger``, and formats the answer.

No rule lives here: what is allowed, and every check of a value, is in ``ledger``. Every
``LedgerError`` becomes a message and an exit code in one place, ``_Group.invoke`` (under
``main``): 2 bad input, 3 refused by a contract, 4 node unavailable, 5 deployment, 6 an invalid
certificate, 1 otherwise.
The command groups live in ``scripts.commands``, one package per domain of ``ledger``, each
module a thin shell: ``chain`` (``node``: chain; ``network``; ``deploy``: deploy, up),
``governance`` (``council``, ``schemes``, ``roles``, ``rules``; ``proposals`` is what every
proposal-creating command shares), ``identity`` (``members``, ``proxies``), ``earning``
(``records``: limits, record; ``activities``; ``batch``: issue batch; ``certificates``:
certificate, verify), ``spending`` (``controls``: balance, points, policy and pause proposals,
scheme pause; ``exchange``: exchange, clearing; ``catalogue``: catalogue, redeem, order;
``timebank``; ``gifts``: gift, fund) and ``audit`` (``index``; ``checks`` and ``anchors``: audit).
Shared by them: ``scripts.state`` one run's settings and ledger, ``scripts.output`` the tables,
the JSON and the exit codes, ``scripts.options`` common arguments and default signers,
``scripts.export`` the --export option, ``scripts.jobs`` commands that run until stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from ledger.chain.connection import UNANSWERED
from ledger.config import new_secret
from ledger.errors import LedgerError, RetryableChainError
from scripts.commands.audit.checks import audit_app
from scripts.commands.audit.index import index_app
from scripts.commands.chain.deploy import deploy_command, up_command
from scripts.commands.chain.network import network_app
from scripts.commands.chain.node import chain_app
from scripts.commands.earning.activities import activity_app
from scripts.commands.earning.batch import issue_app
from scripts.commands.earning.certificates import certificate_app, verify_command
from scripts.commands.earning.records import limits_app, record_app
from scripts.commands.governance.council import council_app
from scripts.commands.governance.roles import role_app
from scripts.commands.governance.rules import rule_app
from scripts.commands.governance.schemes import scheme_app
from scripts.commands.identity.members import member_app
from scripts.commands.identity.proxies import proxy_app
from scripts.commands.spending.catalogue import catalogue_app, order_app, redeem_command
from scripts.commands.spending.controls import balance_command, points_app
from scripts.commands.spending.exchange import clearing_app, exchange_app
from scripts.commands.spending.gifts import fund_app, gift_command
from scripts.commands.spending.timebank import timebank_app
from scripts.commands.store.backup import backup_command, restore_command
from scripts.commands.store.db import db_app
from scripts.output import Output, configure_logging, exit_code, line
from scripts.state import APP_OPTIONS, State, state_of


class _Group(TyperGroup):
    """The top-level group: the one place a LedgerError becomes a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer vendors click)
        try:
            return super().invoke(ctx)
        except LedgerError as exc:
            out = ctx.obj.out if isinstance(ctx.obj, State) else Output(json_mode=False)
            out.error(exc)
            raise typer.Exit(exit_code(exc)) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, ClickException):
            # Usage errors (an unknown option such as a negative amount `-3`) keep click's own
            # message and exit code 2.
            raise
        except UNANSWERED as exc:  # a node gone silent, met outside ledger.chain's provider
            out = ctx.obj.out if isinstance(ctx.obj, State) else Output(json_mode=False)
            lost = RetryableChainError(
                f"the chain node stopped answering ({type(exc).__name__}); check that it is "
                "running (`vpl chain status`), then run the command again"
            )
            out.error(lost)
            raise typer.Exit(exit_code(lost)) from None
        except Exception as exc:
            logging.getLogger("vpl").debug("unexpected error", exc_info=True)
            out = ctx.obj.out if isinstance(ctx.obj, State) else Output(json_mode=False)
            out.error(
                LedgerError(
                    f"unexpected {type(exc).__name__}: {exc}; nothing more is known. Run again with "
                    "--verbose for details, and report it if it persists"
                )
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group, help="志愿积分链: volunteer points ledger administration.", **APP_OPTIONS
)
secrets_app = typer.Typer(help="Secrets for the vault and identity commitments.", **APP_OPTIONS)
app.command("deploy")(deploy_command)
app.command("up")(up_command)
app.command("balance")(balance_command)
app.command("verify")(verify_command)
app.command("redeem")(redeem_command)
app.command("gift")(gift_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(chain_app, name="chain")
app.add_typer(network_app, name="network")
app.add_typer(council_app, name="council")
app.add_typer(scheme_app, name="scheme")
app.add_typer(member_app, name="member")
app.add_typer(role_app, name="role")
app.add_typer(rule_app, name="rule")
app.add_typer(limits_app, name="limits")
app.add_typer(activity_app, name="activity")
app.add_typer(record_app, name="record")
app.add_typer(issue_app, name="issue")
app.add_typer(certificate_app, name="certificate")
app.add_typer(points_app, name="points")
app.add_typer(exchange_app, name="exchange")
app.add_typer(clearing_app, name="clearing")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(order_app, name="order")
app.add_typer(fund_app, name="fund")
app.add_typer(secrets_app, name="secrets")
app.add_typer(timebank_app, name="timebank")
app.add_typer(proxy_app, name="proxy")
app.add_typer(index_app, name="index")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")


@app.callback()
def _global(
    ctx: typer.Context,
    network: Annotated[
        str | None, typer.Option("--network", help="Network file name (VPL_NETWORK).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Local state directory (VPL_DATA_DIR).")
    ] = None,
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="Attach to this node (VPL_RPC_URL).")
    ] = None,
    json_mode: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    signer: Annotated[
        str | None,
        typer.Option("--as", metavar="OPERATOR", help="The named operator key that signs."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """志愿积分链: volunteer points ledger administration."""
    state = State(
        network=network, data_dir=data_dir, rpc_url=rpc_url, json_mode=json_mode, signer=signer
    )
    ctx.obj = state
    ctx.call_on_close(state.close)
    configure_logging(verbose)


def main() -> None:
    """Entry point of ``vpl`` (errors are translated by ``_Group.invoke``)."""
    app()


@secrets_app.command("new")
def secrets_new(ctx: typer.Context) -> None:
    """Fresh keys for VPL_VAULT_KEY and VPL_COMMITMENT_KEY (32 random bytes, base64)."""
    state = state_of(ctx)
    data = {"vault_key": new_secret(), "commitment_key": new_secret()}
    state.out.note(
        "keep these in your secret store, never in the repository; neither can change once data "
        "is written"
    )
    state.out.result(
        data,
        line(f"VPL_VAULT_KEY={data['vault_key']}"),
        line(f"VPL_COMMITMENT_KEY={data['commitment_key']}"),
    )


if __name__ == "__main__":
    main()
