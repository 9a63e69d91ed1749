"""``vpl timebank``: the time bank (爱心银行): requests for help paid in hours.

Members have no keys here: member-side commands (post, accept, withdraw, cancel, confirm,
dispute) are signed ``--as`` an operator recorded as the member's proxy (a community worker);
``resolve`` is signed by a reviewer of the scheme (``reviewer-1`` unless ``--as``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

import typer
from eth_account.signers.local import LocalAccount
from rich.table import Table

from ledger.chain.contracts.timebank import DISPUTE_REASONS, SERVICE_KINDS
from ledger.spending.timebank import RequestView, request_data
from scripts.options import REVIEWER
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

timebank_app = typer.Typer(
    help="The time bank (爱心银行): ask for help, give help, paid in hours.", **APP_OPTIONS
)
RequestArgument = Annotated[int, typer.Argument(metavar="REQUEST", help="The request id.")]


def _proxy_signer(state: State, what: str) -> LocalAccount:
    """The operator signing for a member: it must be named, as the member's recorded proxy."""
    return state.named_signer(
        f"{what} is signed by the member's recorded proxy: name the operator with --as "
        "(a registrar records a proxy with `vpl proxy grant MEMBER PROXY --consent ...`)"
    )


def _show(state: State, view: RequestView, head: str | None = None) -> None:
    state.out.result(request_data(view), _fields(state, view, head))


def _fields(state: State, view: RequestView, head: str | None) -> Table:
    data = request_data(view)
    kind = f"{data['kind']} ({data['kind_zh']})" if data["kind_zh"] else str(data["kind"])
    address = data["address"] or ("(shown to the parties and staff)" if view.address_hidden else "")
    return fields(
        head or f"time-bank request {data['id']}",
        [
            ("status", data["status"]),
            ("scheme", data["scheme"]),
            ("kind", kind),
            ("hours", data["hours"]),
            ("requester", state.label(data["requester"])),
            ("helper", state.label(data["helper"])),
            ("needs", data["needs"]),
            ("address", address),
            ("deadline", f"{data['deadline']} (CST)" if data["deadline"] else "none"),
            ("posted by", state.label(data["posted_by"])),
        ],
    )


def _viewer(state: State) -> str | None:
    return state.ledger.operator(state.signer).address if state.signer else None


@timebank_app.command("kinds")
def timebank_kinds(ctx: typer.Context) -> None:
    """The kinds of service a request can name, and the dispute reason codes."""
    state = state_of(ctx)
    data = {
        "kinds": [{"code": k.code, "name": k.name, "zh": k.zh, "en": k.en} for k in SERVICE_KINDS],
        "dispute_reasons": {str(c): t for c, t in DISPUTE_REASONS.items()},
    }
    state.out.result(
        data,
        table(
            "kinds of service",
            ["name", "中文", "meaning"],
            [(k.name, k.zh, k.en) for k in SERVICE_KINDS],
        ),
        table("dispute reasons", ["code", "reason"], DISPUTE_REASONS.items()),
    )


@timebank_app.command("post")
def timebank_post(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(metavar="MEMBER", help="The member asking for help.")],
    kind: Annotated[
        str, typer.Option("--kind", help="cleaning, shopping, ... (`timebank kinds`).")
    ],
    hours: Annotated[str, typer.Option("--hours", help="Hours offered (1 point = 1 hour).")],
    needs: Annotated[str, typer.Option("--needs", help="What help is needed (off chain).")],
    address: Annotated[
        str | None, typer.Option("--address", help="Where (off chain; shown to the parties only).")
    ] = None,
    scheme: Annotated[str, typer.Option("--scheme", help="The time-bank scheme.")] = "TIME",
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="Nobody can accept it from this time on.")
    ] = None,
) -> None:
    """Post a request for help for a member (signed by their proxy)."""
    state = state_of(ctx)
    view = state.ledger.timebank.post(
        actor=_proxy_signer(state, "posting"),
        member=state.account(member, what="member"),
        scheme=scheme,
        kind=kind,
        hours=hours,
        needs=needs,
        address=address,
        deadline=deadline,
    )
    _show(state, view, f"posted time-bank request {view.request.id}")


@timebank_app.command("accept")
def timebank_accept(
    ctx: typer.Context,
    request_id: RequestArgument,
    helper: Annotated[str, typer.Option("--helper", help="The member who will help.")],
) -> None:
    """A member takes a request (signed by the helper's proxy); the hours are held."""
    state = state_of(ctx)
    view = state.ledger.timebank.accept(
        actor=_proxy_signer(state, "accepting"),
        request_id=request_id,
        helper=state.account(helper, what="helper"),
    )
    _show(state, view, f"accepted time-bank request {request_id}")


#: A member's steps on a request that take its id alone, signed by their proxy: the command (the
#: time bank's method), what the proxy is doing, the answer's headline, the help.
_PROXY_STEPS = (
    ("withdraw", "withdrawing", "helper withdrew from time-bank request {}",
     "The helper steps back (signed by their proxy): the hours return, the request reopens."),
    ("cancel", "cancelling", "cancelled time-bank request {}",
     "The requester cancels a request nobody has accepted (signed by their proxy)."),
    ("confirm", "confirming", "confirmed time-bank request {}",
     "The requester confirms the help was given (signed by their proxy): the hours go to the "
     "helper."),
)  # fmt: skip


def _proxy_step(
    ctx: typer.Context, request_id: int, step: str, doing: str, done: str, **more: str
) -> None:
    """A member's step on a request (the time bank's method `step`), signed by their proxy."""
    state = state_of(ctx)
    act = getattr(state.ledger.timebank, step)
    view = act(actor=_proxy_signer(state, doing), request_id=request_id, **more)
    _show(state, view, done.format(request_id))


def _proxy_step_command(step: str, doing: str, done: str) -> Callable[..., None]:
    def command(ctx: typer.Context, request_id: RequestArgument) -> None:
        _proxy_step(ctx, request_id, step, doing, done)

    return command


for _step, _doing, _done, _help in _PROXY_STEPS:
    timebank_app.command(_step, help=_help)(_proxy_step_command(_step, _doing, _done))


@timebank_app.command("dispute")
def timebank_dispute(
    ctx: typer.Context,
    request_id: RequestArgument,
    reason: Annotated[str, typer.Option("--reason", help="A reason code (`timebank kinds`).")],
) -> None:
    """Either party disputes an accepted request (signed by a proxy); a reviewer settles it."""
    _proxy_step(
        ctx, request_id, "dispute", "disputing", "disputed time-bank request {}", reason=reason
    )


@timebank_app.command("resolve")
def timebank_resolve(
    ctx: typer.Context,
    request_id: RequestArgument,
    helper_hours: Annotated[
        str, typer.Option("--helper-hours", help="Hours to the helper; the rest returns.")
    ],
) -> None:
    """A reviewer of the scheme, neither party, splits a disputed request's hours."""
    state = state_of(ctx)
    view = state.ledger.timebank.resolve(
        reviewer=state.sign_as(REVIEWER), request_id=request_id, helper_hours=helper_hours
    )
    _show(state, view, f"resolved time-bank request {request_id}")


@timebank_app.command("list")
def timebank_list(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option("--member", help="As requester or helper.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, accepted, disputed, completed, ...")
    ] = None,
    scheme: Annotated[str | None, typer.Option("--scheme")] = None,
    last: Annotated[int, typer.Option("--last", min=1)] = 100,
) -> None:
    """Requests, newest first."""
    state = state_of(ctx)
    views = state.ledger.timebank.requests(
        member=state.optional_account(member, what="member"),
        status=status,
        scheme=scheme,
        viewer=_viewer(state),
        last=last,
    )
    data = [request_data(v) for v in views]
    state.out.result(
        data,
        table(
            "time-bank requests",
            ["id", "status", "scheme", "kind", "hours", "requester", "helper", "needs"],
            [
                (
                    d["id"],
                    d["status"],
                    d["scheme"],
                    d["kind"],
                    d["hours"],
                    d["requester"],
                    d["helper"],
                    d["needs"],
                )
                for d in data
            ],
        ),
    )


@timebank_app.command("show")
def timebank_show(ctx: typer.Context, request_id: RequestArgument) -> None:
    """One request and its history: who acted at each step (the member or a proxy).

    The address is shown when the signer (--as) is a party, a party's proxy, or the scheme's staff.
    """
    state = state_of(ctx)
    tb = state.ledger.timebank
    view = tb.request(request_id, viewer=_viewer(state))
    history = tb.history(request_id)
    data = request_data(view)
    data["history"] = [
        {"event": h.event, "by": h.by, "block": h.block, "tx_hash": h.tx_hash, **h.args}
        for h in history
    ]
    rows = [(h.block, h.event, state.label(h.by), h.tx_hash) for h in history]
    state.out.result(
        data,
        _fields(state, view, None),
        table("history", ["block", "event", "by", "transaction"], rows),
    )


@timebank_app.command("records")
def timebank_records(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(metavar="MEMBER")],
    scheme: Annotated[str | None, typer.Option("--scheme")] = None,
) -> None:
    """A member's time-bank service records: hours of help given, as paid on chain."""
    state = state_of(ctx)
    address = state.account(member, what="member")
    records = state.ledger.timebank.service_records(address, scheme=scheme)
    data = [asdict(r) for r in records]
    state.out.result(
        data,
        table(
            f"time-bank service records of {address}",
            ["request", "hours", "helped", "block", "transaction"],
            [(r.request_id, r.hours, r.requester, r.block, r.tx_hash) for r in records],
        ),
        line(f"{sum(r.hours for r in records)} hours of help given"),
    )
