"""``vpl certificate create`` and ``vpl verify``: certificates of service (志愿服务证明)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.earning.certificates.issue import Certificate, create_certificate, write_certificate
from ledger.earning.certificates.verify import verification_data, verify_certificate
from ledger.errors import CertificateInvalid
from scripts.options import REGISTRAR
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, state_of

certificate_app = typer.Typer(help="Certificates of service (志愿服务证明).", **APP_OPTIONS)


def _summary(headline: str, document: dict[str, Any], rows: list[tuple[str, Any]]) -> list[Any]:
    """A certificate for people: the headline, who and what it certifies, its totals."""
    return [line(headline, "bold"), fields(None, rows), _totals_table(document)]


def _totals_table(document: dict[str, Any]) -> Any:
    totals: dict[str, Any] = document.get("totals") or {}
    units = {code: info.get("unit", "") for code, info in (document.get("schemes") or {}).items()}
    rows: list[tuple[Any, ...]] = [
        (code, t.get("records"), t.get("hours"), f"{t.get('points')} {units.get(code, '')}".strip())
        for code, t in (totals.get("schemes") or {}).items()
    ]
    rows.append(("all", totals.get("records"), totals.get("hours"), None))
    return table("totals", ["scheme", "records", "hours", "points"], rows)


def certificate_data(certificate: Certificate, files: tuple[Path, Path]) -> dict[str, Any]:
    first, last = certificate.period
    return {
        "code": certificate.code,
        "member": certificate.member,
        "from": first,
        "to": last,
        "issuer": certificate.issuer,
        "created": certificate.created,
        "records": len(certificate.lines),
        "hours": certificate.hours,
        "totals": certificate.document["totals"],
        "left_out": list(certificate.left_out),
        "json": files[0],
        "html": files[1],
    }


@certificate_app.command("create")
def certificate_create(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(metavar="MEMBER", help="The member's address.")],
    period_from: Annotated[str, typer.Option("--from", help="First day, e.g. 2026-11-01.")],
    period_to: Annotated[str, typer.Option("--to", help="Last day (included).")],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Where <code>.json and .html go.")
    ] = Path("."),
) -> None:
    """Certify a member's approved service in a period: <code>.json and a printable .html.

    Signed by the registrar unless --as names an auditor or a scheme's issuer (who certifies
    only its own scheme's records).
    """
    state = state_of(ctx)
    certificate = create_certificate(
        state.ledger,
        member=state.account(member, what="member"),
        start=period_from,
        end=period_to,
        issuer=state.sign_as(REGISTRAR),
    )
    files = write_certificate(certificate, out)
    for reason in certificate.left_out:
        state.out.note(f"left out {reason}")
    first, last = certificate.period
    headline = "issued" if certificate.created else "already issued (unchanged)"
    state.out.result(
        certificate_data(certificate, files),
        *_summary(
            f"{headline}: certificate {certificate.code}",
            certificate.document,
            [
                ("member", certificate.member),
                ("period", f"{first} - {last}"),
                ("signed by", state.label(certificate.issuer)),
                ("records", len(certificate.lines)),
                ("hours", certificate.hours),
            ],
        ),
        line(f"written: {files[0]}"),
        line(f"written: {files[1]}"),
    )


def verify_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(metavar="CODE-or-FILE", help="A verification code, or a .json/.html file."),
    ],
) -> None:
    """Verify a certificate against the chain: its code, its signer and every record on it."""
    state = state_of(ctx)
    result = verify_certificate(state.ledger, target)
    for note in result.notes:
        state.out.note(note)
    if not result.ok:
        problems = "\n".join(f"  - {p}" for p in result.problems)
        raise CertificateInvalid(
            f"certificate {result.code or target} is NOT valid:\n{problems}",
            **verification_data(result),
        )
    document = result.document or {}
    period = document.get("period") or {}
    state.out.result(
        verification_data(result),
        *_summary(
            f"valid: certificate {result.code}",
            document,
            [
                ("member", result.member),
                ("period", f"{period.get('from')} - {period.get('to')}"),
                ("signed by", state.label(result.signer)),
                ("records", f"{result.lines}, each checked against the chain"),
            ],
        ),
    )
