"""``vpl role``: scheme staff set by the scheme's issuer, ledger-wide roles by the council."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from ledger.chain.roles import ROLES, role
from ledger.errors import InputError
from scripts.commands.governance.proposals import (
    ApproveAll,
    Description,
    check_approve_all,
    submit,
)
from scripts.output import line
from scripts.state import APP_OPTIONS, state_of

role_app = typer.Typer(help="Roles: scheme staff and ledger-wide roles.", **APP_OPTIONS)


SchemeOption = Annotated[
    str | None, typer.Option("--scheme", metavar="S", help="The scheme (scheme roles).")
]


RoleArgument = Annotated[
    str,
    typer.Argument(metavar="ROLE", help=", ".join(ROLES) + "."),
]
AccountArgument = Annotated[
    str, typer.Argument(metavar="ACCOUNT", help="An address, or an operator name.")
]


def _set_role(*, grant: bool) -> Callable[..., None]:
    """Grant or revoke: scheme roles directly by the scheme's issuer, ledger-wide roles by a
    council proposal."""

    def command(
        ctx: typer.Context,
        role_name: RoleArgument,
        account: AccountArgument,
        scheme: SchemeOption = None,
        approve_all: ApproveAll = False,
        description: Description = "",
    ) -> None:
        state = state_of(ctx)
        ledger = state.ledger
        spec = role(role_name)
        address = state.account(account)
        if not spec.per_scheme:
            if scheme is not None:
                raise InputError(
                    f"{spec.name} is a ledger-wide role, granted by the council; drop --scheme"
                )
            check_approve_all(state, approve_all)
            call = ledger.role_call(role_name=spec.name, account=address, grant=grant)
            submit(state, [call], approve_all=approve_all, description=description)
            return
        if scheme is None:
            raise InputError(f"the {spec.name} role belongs to a scheme: name it with --scheme")
        if approve_all:
            state.out.note(f"--approve-all ignored: the scheme's issuer sets {spec.name} directly")
        s = ledger.scheme(scheme)
        issuer = state.issuer_signer(s)
        result = ledger.set_scheme_role(
            issuer=issuer, role_name=spec.name, account=address, scheme=s.id, grant=grant
        )
        held = ledger.has_role(role_name=spec.name, account=address, scheme=s.id)
        data = {
            "role": spec.name,
            "scheme": s.code,
            "account": address,
            "has_role": held,
            "signed_by": issuer.address,
            "tx_hash": result.tx_hash,
        }
        verb = "granted" if grant else "revoked"
        state.out.result(
            data, line(f"{verb} {spec.name} of {s.code} {'to' if grant else 'from'} {address}")
        )

    return command


role_app.command(
    "grant",
    help="Grant a role: scheme roles by the scheme's issuer, ledger-wide roles by council "
    "proposal.",
)(_set_role(grant=True))
role_app.command("revoke", help="Revoke a role (as for grant).")(_set_role(grant=False))


@role_app.command("check")
def role_check(
    ctx: typer.Context,
    role_name: RoleArgument,
    account: AccountArgument,
    scheme: SchemeOption = None,
) -> None:
    """Whether an account holds a role."""
    state = state_of(ctx)
    address = state.account(account)
    held = state.ledger.has_role(role_name=role_name, account=address, scheme=scheme)
    name = role(role_name).name
    where = f" of {scheme}" if scheme else ""
    data = {"role": name, "scheme": scheme, "account": address, "has_role": held}
    state.out.result(data, line(f"{address} {'holds' if held else 'does not hold'} {name}{where}"))
