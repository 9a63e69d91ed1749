"""Council proposals as every proposal-creating command submits and shows them, and
``proposal``, which makes a command of a function that builds the proposal's call."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

from ledger.chain.contracts import Call
from ledger.chain.roles import role_names_by_id
from ledger.errors import InputError
from ledger.governance.council import ProposalOutcome
from ledger.values import timestamp
from scripts.output import fields, line, table
from scripts.state import State, state_of

ApproveAll = Annotated[
    bool,
    typer.Option(
        "--approve-all",
        help="Development only: approve with every configured council key and execute.",
    ),
]
Description = Annotated[
    str, typer.Option("--description", help="What the proposal is for (default: its calls).")
]


def check_approve_all(state: State, approve_all: bool) -> None:
    """--approve-all signs with every council key, which only a development network holds."""
    if approve_all and not state.ledger.network.development:
        raise InputError(
            f"--approve-all is for development networks only, and {state.ledger.network.name!r} "
            "is not one: propose, then each council member approves with "
            "`vpl --as NAME council approve ID`"
        )


Build = TypeVar("Build", bound=Callable[..., Call])


def proposal(app: typer.Typer, name: str) -> Callable[[Build], Build]:
    """Register command `name` on `app`: it puts to the council the call that the decorated
    function builds from the run's state and the command's own arguments.

    The command takes those arguments, then ``--approve-all`` and ``--description``; it refuses
    --approve-all off a development network before the call is built, then submits it.
    """

    def register(build: Build) -> Build:
        hints = get_type_hints(build, include_extras=True)
        own = list(inspect.signature(build).parameters.values())[1:]  # the first is the state

        def command(
            ctx: typer.Context, approve_all: bool, description: str, **arguments: Any
        ) -> None:
            state = state_of(ctx)
            check_approve_all(state, approve_all)
            call = build(state, **arguments)
            submit(state, [call], approve_all=approve_all, description=description)

        plain = inspect.Parameter.POSITIONAL_OR_KEYWORD
        signature = inspect.Signature(
            [
                inspect.Parameter("ctx", plain, annotation=typer.Context),
                *(p.replace(annotation=hints[p.name]) for p in own),
                inspect.Parameter("approve_all", plain, default=False, annotation=ApproveAll),
                inspect.Parameter("description", plain, default="", annotation=Description),
            ]
        )
        # typer reads the command's options from its signature, and its help from its docstring
        command.__signature__ = signature  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        command.__doc__ = build.__doc__
        app.command(name)(command)
        return build

    return register


def submit(state: State, calls: list[Call], *, approve_all: bool, description: str) -> None:
    """Propose ``calls`` to the council (or, with --approve-all, propose, approve and execute).

    Each command has already run ``check_approve_all`` before building its calls.
    """
    ledger = state.ledger
    if approve_all:
        outcome = ledger.govern(calls, description)
    else:
        proposer = state.sign_as(state.first_council_member)
        outcome = ledger.propose(proposer=proposer, calls=calls, description=description)
    show_proposal(state, outcome)


def _proposal_data(state: State, outcome: ProposalOutcome) -> dict[str, Any]:
    ledger = state.ledger
    p = outcome.proposal
    threshold = outcome.threshold
    seats = ledger.council.members()
    approved = list(outcome.approved_by)
    labels = state.labels()
    return {
        "id": p.id,
        "state": outcome.state,
        "approvals": p.approvals,
        "threshold": threshold,
        "approved_by": [labels.get(a, a) for a in approved],
        "proposer": p.proposer,
        "proposer_operator": labels.get(p.proposer),
        "created_at": timestamp(p.created_at),
        "deadline": timestamp(p.deadline),
        "description": p.description,
        "tx_hash": outcome.tx_hash,
        "next_step": _next_step(state, outcome, threshold, seats, approved),
    }


def _next_step(
    state: State,
    outcome: ProposalOutcome,
    threshold: int,
    seats: list[str],
    approved: list[str],
) -> str | None:
    pid = outcome.proposal.id
    if outcome.state == "open":
        missing = max(outcome.missing, 1)
        plural = "" if missing == 1 else "s"
        addresses = {name: address for address, name in state.labels().items()}
        waiting = [
            name
            for name in state.ledger.network.council.members
            if addresses.get(name) in seats and addresses.get(name) not in approved
        ]
        who = waiting[0] if waiting else "NAME"
        command = state.command(f"--as {who} council approve {pid}")
        return f"needs {missing} more approval{plural}: {command}"
    if outcome.state == "approved":
        return f"ready to execute: {state.command(f'council execute {pid}')}"
    if outcome.state == "expired":
        return "expired: propose it again"
    return None


def _proposal_lines(data: dict[str, Any]) -> list[Any]:
    headline = (
        f"proposal {data['id']}: {data['state']} "
        f"({data['approvals']}/{data['threshold']} approvals)"
    )
    rows = [
        ("description", data["description"]),
        ("proposer", data["proposer_operator"] or data["proposer"]),
        ("approved by", data["approved_by"]),
        ("deadline", data["deadline"]),
        ("tx", data["tx_hash"]),
    ]
    out: list[Any] = [line(headline, "bold"), fields(None, rows)]
    if data.get("calls"):
        out.append(
            table(
                "calls",
                ["contract", "function", "arguments"],
                [
                    (
                        c["contract"] or c["target"],
                        c["function"] or c["data"][:10],
                        ", ".join(f"{k}={v}" for k, v in (c["args"] or {}).items()),
                    )
                    for c in data["calls"]
                ],
            )
        )
    if data["next_step"]:
        out.append(line(data["next_step"], "cyan"))
    return out


def show_proposal(state: State, outcome: ProposalOutcome, *, calls: bool = False) -> None:
    data = _proposal_data(state, outcome)
    if calls:
        data["calls"] = _describe_calls(state, outcome)
    state.out.result(data, *_proposal_lines(data))


def _describe_calls(state: State, outcome: ProposalOutcome) -> list[dict[str, Any]]:
    """What each call of a proposal does, decoded with our contracts' ABIs (for approvers)."""
    ledger = state.ledger
    by_address = {c.address.lower(): name for name, c in ledger.manifest.contracts.items()}
    roles = role_names_by_id()
    described = []
    p = outcome.proposal
    for target, data in zip(p.targets, p.calldatas, strict=True):
        name = by_address.get(target.lower())
        entry: dict[str, Any] = {
            "target": target,
            "contract": name,
            "function": None,
            "args": None,
            "data": data,
        }
        if name is not None:
            contract = ledger.w3.eth.contract(abi=list(ledger.build.get(name).abi))
            try:
                fn, args = contract.decode_function_input(data)
            except ValueError:
                pass
            else:
                entry["function"] = fn.fn_name
                entry["args"] = {k: _arg_text(v, roles, state) for k, v in args.items()}
        described.append(entry)
    return described


def _arg_text(value: Any, roles: dict[bytes, str], state: State) -> str:
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        if raw in roles:
            return roles[raw]
        text = raw.rstrip(b"\x00")
        if text and text.isascii() and text.decode("ascii").isprintable():
            return text.decode("ascii")
        return "0x" + raw.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return state.label(value) or value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_arg_text(v, roles, state) for v in value) + "]"
    return str(value)
