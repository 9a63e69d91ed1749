"""``vpl proxy``: record who acts for a member (a family member, a community worker).

The signed consent stays in the store; the member registry records its hash with the grant.
Granting and revoking are signed by a registrar (``registrar`` unless ``--as``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.errors import InputError
from ledger.identity.proxies import ProxyGrant, grant_data
from scripts.options import REGISTRAR
from scripts.output import fields, table
from scripts.state import APP_OPTIONS, State, state_of

proxy_app = typer.Typer(
    help="Proxies: a family member or community worker acting for a member.", **APP_OPTIONS
)
MemberArgument = Annotated[str, typer.Argument(metavar="MEMBER", help="Address or operator name.")]
ProxyArgument = Annotated[str, typer.Argument(metavar="PROXY", help="Address or operator name.")]


def _show(state: State, g: ProxyGrant, head: str) -> None:
    state.out.result(
        grant_data(g),
        fields(
            head,
            [
                ("member", state.label(g.member)),
                ("proxy", state.label(g.proxy)),
                ("active", "yes" if g.active else "no (revoked)"),
                ("consent hash", g.consent_hash),
                ("consent on file", "yes" if g.consent_on_file else "no"),
                ("granted by", f"{state.label(g.granted_by)} at block {g.granted_block}"),
                (
                    "revoked by",
                    f"{state.label(g.revoked_by)} at block {g.revoked_block}"
                    if g.revoked_by
                    else None,
                ),
            ],
        ),
    )


@proxy_app.command("grant")
def proxy_grant(
    ctx: typer.Context,
    member: MemberArgument,
    proxy: ProxyArgument,
    consent: Annotated[
        str,
        typer.Option(
            "--consent",
            metavar="TEXT_OR_FILE",
            help="The signed consent: a file (e.g. a scan) or its text; only its hash goes on chain.",
        ),
    ],
) -> None:
    """Record that PROXY may act for MEMBER (a registrar signs)."""
    state = state_of(ctx)
    path = Path(consent)
    document: bytes | str
    file_name: str | None
    try:
        is_file = path.is_file()
    except OSError:  # a long text is not a path
        is_file = False
    if is_file:
        try:
            document, file_name = path.read_bytes(), path.name
        except OSError as exc:
            raise InputError(f"cannot read the consent file {path}: {exc.strerror}") from None
    else:
        document, file_name = consent, None
    grant = state.ledger.proxies.grant(
        actor=state.sign_as(REGISTRAR),
        member=state.account(member, what="member"),
        proxy=state.account(proxy, what="proxy"),
        consent=document,
        file_name=file_name,
    )
    _show(state, grant, "proxy recorded")


@proxy_app.command("revoke")
def proxy_revoke(ctx: typer.Context, member: MemberArgument, proxy: ProxyArgument) -> None:
    """End a proxy grant (a registrar signs unless --as names the member's proxy itself)."""
    state = state_of(ctx)
    grant = state.ledger.proxies.revoke(
        actor=state.sign_as(REGISTRAR),
        member=state.account(member, what="member"),
        proxy=state.account(proxy, what="proxy"),
    )
    _show(state, grant, "proxy revoked")


@proxy_app.command("list")
def proxy_list(
    ctx: typer.Context,
    member: MemberArgument,
    all_: Annotated[bool, typer.Option("--all", help="Revoked grants too.")] = False,
) -> None:
    """A member's proxies, from the member registry's events."""
    state = state_of(ctx)
    address = state.account(member, what="member")
    grants = state.ledger.proxies.proxies(address, include_revoked=all_)
    state.out.result(
        [grant_data(g) for g in grants],
        table(
            f"proxies of {address}",
            ["proxy", "active", "granted by", "block", "consent hash"],
            [
                (
                    state.label(g.proxy),
                    "yes" if g.active else "revoked",
                    state.label(g.granted_by),
                    g.granted_block,
                    g.consent_hash,
                )
                for g in grants
            ],
        ),
    )
