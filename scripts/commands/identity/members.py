"""``vpl member``: register, inspect, freeze and recover members."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ledger.chain.contracts import Call
from ledger.errors import RecordNotFound
from ledger.real_name import mask
from ledger.store import PersonalData
from ledger.values import parse_address, timestamp
from scripts.commands.governance.proposals import proposal
from scripts.options import REGISTRAR
from scripts.output import fields, line
from scripts.state import APP_OPTIONS, State, state_of

member_app = typer.Typer(help="Members: register, inspect, freeze, recover.", **APP_OPTIONS)


def _read(label: str, *, hide: bool) -> str:
    """A value from a prompt, or the next line of stdin when it is not a terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        value: str = typer.prompt(label, hide_input=hide, err=True)
        return value
    return (sys.stdin.readline() if sys.stdin is not None else "").strip()


def _member_data(state: State, address: str) -> dict[str, Any]:
    info = state.ledger.member(address)
    return {
        "address": info.address,
        "registered": info.registered,
        "status": info.status.name.lower(),
        "frozen_reason": info.frozen_reason or None,
        "registered_at": timestamp(info.registered_at),
        "registrar": info.registrar,
        "successor": info.successor,
        "commitment": "0x" + info.commitment.hex() if info.registered else None,
    }


@member_app.command("register")
def member_register(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(metavar="ADDRESS")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Real name (kept in the vault); omit it to be asked (or read stdin)."
        ),
    ] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Mobile number.")] = None,
    id_number: Annotated[
        str | None,
        typer.Option(
            "--id-number", help="Resident ID number; omit it to be asked (or read stdin)."
        ),
    ] = None,
) -> None:
    """Register a member: the vault keeps who they are, the chain only a commitment."""
    state = state_of(ctx)
    parse_address(address, what="member address")  # refuse a bad address before asking for an ID
    # Asked for (or read from stdin: the name first, then the ID number) so that personal data
    # need not sit in shell history or the process list.
    name = name if name is not None else _read("Real name", hide=False)
    number = id_number if id_number is not None else _read("ID number", hide=True)
    personal = PersonalData(name=name, id_number=number, phone=phone)
    registration = state.ledger.register_member(
        registrar=state.sign_as(REGISTRAR), address=address, personal=personal
    )
    data = {**_member_data(state, registration.member.address)}
    data.update(created=registration.created, tx_hash=registration.tx_hash)
    headline = (
        f"registered {data['address']}"
        if registration.created
        else f"{data['address']} was already registered to this person; nothing changed"
    )
    state.out.result(
        data,
        line(headline, "bold"),
        fields(None, [("status", data["status"]), ("tx", data["tx_hash"])]),
    )


@member_app.command("show")
def member_show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(metavar="ADDRESS")],
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal", help="Show personal data unmasked (registrar or auditor; logged)."
        ),
    ] = False,
    purpose: Annotated[
        str, typer.Option("--purpose", help="Why it is needed; required with --reveal, logged.")
    ] = "",
) -> None:
    """A member's chain status and (masked) personal data."""
    state = state_of(ctx)
    data = _member_data(state, address)
    try:
        if reveal:
            entry = state.ledger.reveal_personal_data(
                operator=state.sign_as(REGISTRAR), address=address, purpose=purpose
            )
        else:
            entry = state.ledger.personal_data(address)
    except RecordNotFound:
        entry = None

    def shown(value: str) -> str:
        return value if reveal else mask(value)

    personal: dict[str, Any] | None = None
    if entry is not None and entry.data is not None:
        personal = {
            "address": entry.address,
            "status": entry.status,
            "name": shown(entry.data.name),
            "id_number": shown(entry.data.id_number),
            "phone": shown(entry.data.phone) if entry.data.phone else None,
            "masked": not reveal,
        }
    data["personal"] = personal
    if reveal and personal is not None:
        state.out.note("personal data shown unmasked: keep it out of logs and screenshots")
    rows: list[tuple[str, Any]] = [
        ("status", data["status"]),
        ("frozen reason", data["frozen_reason"]),
        ("registered", data["registered_at"]),
        ("registrar", state.label(data["registrar"])),
        ("recovered to", data["successor"]),
    ]
    if personal is None:
        rows.append(("vault", "no personal data held here"))
    else:
        rows += [
            ("name", personal["name"]),
            ("ID number", personal["id_number"]),
            ("phone", personal["phone"]),
        ]
    state.out.result(data, fields(f"member {data['address']}", rows))


ReasonOption = Annotated[str, typer.Option("--reason", metavar="CODE", help="Reason code 1-65535.")]


def _freeze(*, freeze: bool) -> Callable[..., None]:
    """Freeze or unfreeze a member, as a registrar (or --as)."""

    def command(
        ctx: typer.Context,
        address: Annotated[str, typer.Argument(metavar="ADDRESS")],
        reason: ReasonOption,
    ) -> None:
        state = state_of(ctx)
        registrar = state.sign_as(REGISTRAR)
        act = state.ledger.freeze_member if freeze else state.ledger.unfreeze_member
        result = act(registrar=registrar, address=address, reason=reason)
        data = {**_member_data(state, address), "tx_hash": result.tx_hash}
        verb = "frozen" if freeze else "unfrozen"
        state.out.result(
            data, line(f"{data['address']} {verb} (reason {reason}); now {data['status']}")
        )

    return command


member_app.command("freeze", help="Freeze a member: they can no longer receive or move points.")(
    _freeze(freeze=True)
)
member_app.command("unfreeze", help="Lift a freeze.")(_freeze(freeze=False))


@proposal(member_app, "recover")
def member_recover(
    state: State,
    old: Annotated[str, typer.Argument(metavar="OLD")],
    new: Annotated[str, typer.Argument(metavar="NEW")],
) -> Call:
    """Propose moving a member who lost their key, with their points, to a new address."""
    return state.ledger.recovery_call(previous=old, successor=new)
