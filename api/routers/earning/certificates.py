"""Certificates of service (志愿服务证明). A certifier (a registrar, an auditor, or a scheme's
issuer for its own scheme's records) issues one for a member, signing its digest with their own
key: on their device (the first call answers 428 with the document and digest to sign) or, for a
custodial wallet, with its PIN. The member, their proxy, auditors and the certifier download it as
JSON or as a printable HTML page; anyone verifies one, by its code or by the document itself."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from eth_account.messages import encode_defunct
from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, reading_for
from api.services import Services
from api.writes import SignedBody, WriteDep
from ledger.chain.relay import KeySigner
from ledger.chain.tx import Signer
from ledger.earning.certificates.issue import (
    Certificate,
    draft_certificate,
    issued_like,
    seal_certificate,
)
from ledger.earning.certificates.issued import issued, issued_to
from ledger.earning.certificates.page import render_html
from ledger.earning.certificates.verify import verification_data, verify_code, verify_text
from ledger.errors import AccessDenied, InputError, SignatureRequired
from ledger.identity.auth import Caller

router = APIRouter(prefix="/v1", tags=["certificates"])

Code = Annotated[str, Path(min_length=4, max_length=40, description="like VPL-ABCD-EFGH-2345-6723")]
MAX_DOCUMENT = 2_000_000


class CertificateCreate(SignedBody):
    member: str = Field(min_length=1, max_length=64)
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    issued_at: str | None = Field(
        None, max_length=40, description="the draft's issue time (when sending the signature)"
    )
    block: int | None = Field(None, ge=0, le=2**63, description="the draft's block (likewise)")
    signature: str | None = Field(
        None,
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="the certifier's personal_sign of the draft's digest",
    )


class CertificateBase(BaseModel):
    """What names a certificate: its code, whose service of which period, and who signed it."""

    code: str
    member: str
    period_from: str = Field(alias="from")
    period_to: str = Field(alias="to")
    issuer: str


class CertificateSummary(CertificateBase):
    created: bool
    records: int
    hours: str
    totals: dict[str, Any]
    left_out: list[str]


class IssuedPublic(CertificateBase):
    created_at: str


class VerificationPublic(BaseModel):
    valid: bool
    code: str | None
    member: str | None
    signer: str | None
    period: dict[str, Any] | None
    lines: int
    totals: dict[str, Any] | None
    problems: list[str]
    notes: list[str]


class VerifyCreate(BaseModel):
    document: dict[str, Any] | None = Field(None, description="the certificate's JSON")
    html: str | None = Field(None, max_length=MAX_DOCUMENT, description="or its HTML page")


def _summary(c: Certificate) -> dict[str, Any]:
    first, last = c.period
    return CertificateSummary.model_validate(
        {
            "code": c.code,
            "member": c.member,
            "from": first,
            "to": last,
            "issuer": c.issuer,
            "created": c.created,
            "records": len(c.lines),
            "hours": c.hours,
            "totals": c.document["totals"],
            "left_out": list(c.left_out),
        }
    ).model_dump(by_alias=True)


@router.post("/certificates", response_model=CertificateSummary, status_code=201)
def create(body: CertificateCreate, caller: CallerDep, write: WriteDep) -> object:
    """Issue a certificate of a member's approved service in a period, signed by the caller (a
    registrar, an auditor, or a scheme's issuer for its own records). Without `signature` the
    answer is 428 with `details.digest` to sign (personal_sign) and `details.document`; send the
    same request again with `signature`, `issued_at` and `block` from that document. The same
    certificate asked for again is returned as it was (`created: false`)."""
    ledger = write.services.ledger
    moment = (body.issued_at, body.block) if body.issued_at and body.block is not None else None

    def run(signer: Signer) -> dict[str, Any]:
        draft = draft_certificate(
            ledger,
            member=body.member,
            start=body.period_from,
            end=body.period_to,
            issuer=caller.address,
            moment=moment,
        )
        found = issued_like(ledger, draft)
        if found is not None:
            return _summary(found)
        if isinstance(signer, KeySigner):  # a custodial certifier: its key, unlocked by its PIN
            signed = signer.account.sign_message(encode_defunct(primitive=draft.digest))
            return _summary(seal_certificate(ledger, draft, "0x" + bytes(signed.signature).hex()))
        if body.signature is None or moment is None:
            raise SignatureRequired(
                f"sign the certificate's digest with {caller.address} (personal_sign of the 32 "
                "bytes) and send the request again with `signature`, and `issued_at` and `block` "
                "from the document",
                digest="0x" + draft.digest.hex(),
                document=draft.body,
                issued_at=draft.body["issued_at"],
                block=draft.body["block"],
            )
        return _summary(seal_certificate(ledger, draft, body.signature))

    return write.run(
        run, body=body, status_code=201, audit="certificate.create", subject=body.member
    )


@router.get("/members/{address}/certificates", response_model=list[IssuedPublic])
def certificates_of(
    address: str,
    caller: CallerDep,
    services: ServicesDep,
    last: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The certificates issued to a member, newest first."""
    member = reading_for(services, caller, address)
    return [
        IssuedPublic.model_validate(
            {
                "code": row.code,
                "member": row.member,
                "from": row.period_from,
                "to": row.period_to,
                "issuer": row.issuer,
                "created_at": row.created_at.isoformat(timespec="seconds"),
            }
        ).model_dump(by_alias=True)
        for row in issued_to(services.ledger, member, last=last)
    ]


def _document(code: str, caller: Caller, services: Services) -> dict[str, Any]:
    """An issued certificate for the member, their proxy, an auditor or its certifier."""
    document = issued(services.ledger, code)
    if caller.address != document["issuer"]:
        try:
            reading_for(services, caller, document["member"])
        except AccessDenied:
            raise AccessDenied(
                "a certificate is downloaded by its member, their proxy, an auditor or its "
                "certifier; anyone may verify it by its code"
            ) from None
    return document


@router.get("/certificates/{code}", response_model=dict[str, Any])
def download(code: Code, caller: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """The signed certificate document (JSON) as issued."""
    return _document(code, caller, services)


@router.get("/certificates/{code}/html", response_class=HTMLResponse)
def download_html(code: Code, caller: CallerDep, services: ServicesDep) -> HTMLResponse:
    """The printable page, embedding the signed document so that the page itself verifies."""
    document = _document(code, caller, services)
    return HTMLResponse(
        render_html(document),
        headers={"Content-Disposition": f'attachment; filename="{document["code"]}.html"'},
    )


@router.get("/certificates/{code}/verification", response_model=VerificationPublic)
def verify_by_code(code: Code, services: ServicesDep) -> VerificationPublic:
    """Check the certificate issued under a code against the chain (public)."""
    return VerificationPublic(**verification_data(verify_code(services.ledger, code)))


@router.post("/certificates/verification", response_model=VerificationPublic)
def verify_document(body: VerifyCreate, services: ServicesDep) -> VerificationPublic:
    """Check a certificate document (its JSON, or its HTML page) against the chain (public)."""
    if (body.document is None) == (body.html is None):
        raise InputError("send either `document` (the JSON) or `html` (the page)", field="body")
    text = body.html if body.html is not None else json.dumps(body.document, ensure_ascii=False)
    return VerificationPublic(**verification_data(verify_text(services.ledger, text)))
