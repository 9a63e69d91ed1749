"""Issuing a certificate: the draft of a member's approved service in a period, signed by its
issuer (here or on their own device), kept in the store, and written as a JSON file and a page."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils import keccak
from eth_utils.exceptions import ValidationError
from sqlmodel import col, select

from ledger.earning.certificates.chain import ChainEntry, ChainRecords, NotCertifiable
from ledger.earning.certificates.document import (
    CERTIFIERS,
    FORMAT_VERSION,
    KIND,
    MOMENT_FIELDS,
    SEAL_FIELDS,
    TEXT_FIELDS,
    TITLE,
    CertificateLine,
    SchemeTotal,
    certificate_digest,
    document_json,
    hours,
    midnight,
    parse_period,
    sign_certificate,
    verification_code,
)
from ledger.earning.certificates.issued import find_issued, keep_issued
from ledger.earning.certificates.page import render_html
from ledger.earning.certificates.parts import CertificateParts
from ledger.earning.chunks import link_approved_chunks
from ledger.errors import AccessDenied, InputError, RecordNotFound, SignatureMismatch
from ledger.store import session
from ledger.store.records import IssuedCertificate, RecordDetails, canonical_json
from ledger.values import CST, parse_address


@dataclass(frozen=True)
class Draft:
    """A certificate before its signature: the body the issuer signs, and what it was built from."""

    body: dict[str, Any]
    lines: tuple[CertificateLine, ...]
    totals: tuple[SchemeTotal, ...]
    left_out: tuple[str, ...]
    content_hash: str

    @property
    def digest(self) -> bytes:
        """What the issuer signs (EIP-191, as ``personal_sign`` of these 32 bytes)."""
        return certificate_digest(self.body)


@dataclass(frozen=True)
class Certificate:
    """An issued certificate: the signed document and what it was built from."""

    code: str
    digest: bytes
    #: The signed JSON document (what the .json file holds and the HTML page embeds).
    document: dict[str, Any]
    lines: tuple[CertificateLine, ...]
    totals: tuple[SchemeTotal, ...]
    #: The member's records in the period that are not on it, and why.
    left_out: tuple[str, ...] = ()
    #: False when the same certificate had been issued already: it is returned, not issued twice.
    created: bool = True

    @property
    def member(self) -> str:
        return str(self.document["member"])

    @property
    def issuer(self) -> str:
        return str(self.document["issuer"])

    @property
    def period(self) -> tuple[str, str]:
        return str(self.document["period"]["from"]), str(self.document["period"]["to"])

    @property
    def hours(self) -> str:
        return hours(sum(t.seconds for t in self.totals))

    def json_text(self) -> str:
        return document_json(self.document)

    def html(self) -> str:
        return render_html(self.document)


def create_certificate(
    ledger: CertificateParts,
    *,
    member: str,
    start: str | date,
    end: str | date,
    issuer: LocalAccount,
) -> Certificate:
    """Certify a member's approved service in a period (see the module docstring), signed by
    `issuer` and kept in the store; the same certificate asked for again is returned as it was."""
    draft = draft_certificate(ledger, member=member, start=start, end=end, issuer=issuer.address)
    found = issued_like(ledger, draft)
    if found is not None:
        return found
    document = sign_certificate(draft.body, issuer)
    return seal_certificate(ledger, draft, document["signature"])


def issued_like(ledger: CertificateParts, draft: Draft) -> Certificate | None:
    """The certificate issued before with the same content as `draft` (only its time differs)."""
    found = find_issued(ledger, content_hash=draft.content_hash)
    return None if found is None else _certificate(found, draft, created=False)


def seal_certificate(ledger: CertificateParts, draft: Draft, signature: str) -> Certificate:
    """Issue `draft` with its issuer's signature of ``draft.digest`` (made here or on the issuer's
    own device); SignatureMismatch if it is not theirs."""
    digest = draft.digest
    try:
        signer = Account.recover_message(
            encode_defunct(primitive=digest), signature=bytes.fromhex(signature.removeprefix("0x"))
        )
    except (ValueError, BadSignature, ValidationError):
        signer = None
    if signer != draft.body["issuer"]:
        raise SignatureMismatch(
            f"the signature is not {draft.body['issuer']}'s of the certificate's digest "
            f"0x{digest.hex()}; sign exactly that digest (personal_sign) and send it again"
        )
    document = {
        **draft.body,
        "code": verification_code(digest),
        "signature": "0x" + signature.removeprefix("0x").lower(),
    }
    return _certificate(keep_issued(ledger, document, draft.content_hash), draft, created=True)


def _certificate(row: IssuedCertificate, draft: Draft, *, created: bool) -> Certificate:
    document = json.loads(row.document_json)
    return Certificate(
        code=row.code,
        digest=certificate_digest(document),
        document=document,
        lines=draft.lines,
        totals=draft.totals,
        left_out=draft.left_out,
        created=created,
    )


def draft_certificate(
    ledger: CertificateParts,
    *,
    member: str,
    start: str | date,
    end: str | date,
    issuer: str,
    moment: tuple[str, int] | None = None,
) -> Draft:
    """The certificate `issuer` may sign for a member's approved service in a period; AccessDenied
    if they may certify nothing, RecordNotFound if there is nothing to certify. `moment` (issue
    time, block): those of a draft made earlier, to rebuild exactly what was signed."""
    issuer = parse_address(issuer, what="issuer address")
    member = parse_address(member, what="member address")
    if moment is not None:
        _check_moment(ledger, *moment)
    first, last = parse_period(start, end)
    since, until = midnight(first), midnight(last + timedelta(days=1))
    chain = ChainRecords(ledger)
    allowed = _certifiable(ledger, issuer)
    if allowed is not None and not allowed:
        raise AccessDenied(
            f"{issuer} may not issue certificates: a registrar or an auditor certifies "
            "any scheme's records, a scheme's issuer its own scheme's; sign with one of them (--as)"
        )
    lines: dict[str, CertificateLine] = {}
    left_out: list[str] = []
    for row in _candidates(ledger, member, since, until):
        ref = _ref_of(row)
        if ref in lines:
            continue
        if allowed is not None and row.scheme_id not in allowed:
            code = chain.scheme_by_id(row.scheme_id).code
            left_out.append(
                f"{ref}: a record of {code}, which only its issuer, a registrar or an auditor "
                "certifies"
            )
            continue
        try:
            entry = chain.entry(ref)
        except NotCertifiable as exc:
            left_out.append(f"{ref}: {exc}")
            continue
        problem = _store_disagrees(row, entry, member)
        if problem is not None:
            left_out.append(f"{ref}: {problem}")
            continue
        details: dict[str, Any] = json.loads(row.details_json)
        lines[ref] = CertificateLine(
            ref=ref,
            scheme=chain.scheme_by_id(entry.scheme_id).code,
            start=entry.start,
            end=entry.end,
            **{name: str(details.get(name, "")) for name in TEXT_FIELDS},
            action=entry.action,
            points=entry.points,
            rule_version=entry.rule_version,
            details_hash=entry.details_hash,
            details=details,
        )
    if not lines:
        because = f" ({'; '.join(left_out[:5])})" if left_out else ""
        raise RecordNotFound(
            f"no approved service records of {member} from {first} to {last} to certify{because}"
        )
    ordered = sorted(lines.values(), key=lambda line: (line.start, line.end, line.ref))
    totals = _totals(ordered)
    schemes = {code: chain.scheme(code) for code in sorted({line.scheme for line in ordered})}
    body: dict[str, Any] = {
        "type": KIND,
        "version": FORMAT_VERSION,
        "title": TITLE,
        "ledger": {"chain_id": ledger.network.chain_id, "service_records": ledger.records.address},
        "member": member,
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "issued_at": moment[0] if moment else datetime.now(CST).isoformat(timespec="seconds"),
        "block": moment[1] if moment else int(ledger.w3.eth.block_number),
        "issuer": issuer,
        "schemes": {
            code: {"name": s.name, "unit": s.unit} for code, s in schemes.items() if s is not None
        },
        "lines": [line.as_json() for line in ordered],
        "totals": {
            "records": len(ordered),
            "hours": hours(sum(t.seconds for t in totals)),
            "schemes": {
                t.scheme: {"records": t.records, "hours": t.hours, "points": t.points}
                for t in totals
            },
        },
    }
    return Draft(
        body=body,
        lines=tuple(ordered),
        totals=tuple(totals),
        left_out=tuple(left_out),
        content_hash="0x" + keccak(canonical_json(_content(body))).hex(),
    )


def _check_moment(ledger: CertificateParts, issued_at: str, block: int) -> None:
    try:
        when = datetime.fromisoformat(issued_at)
    except (TypeError, ValueError):
        raise InputError(f"issued_at {issued_at!r} is not the draft's issue time") from None
    if when.tzinfo is None or not 0 <= block <= ledger.w3.eth.block_number:
        raise InputError("issued_at and block must be those of the draft that was signed")


def _content(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in SEAL_FIELDS + MOMENT_FIELDS}


def _certifiable(ledger: CertificateParts, signer: str) -> set[int] | None:
    """The schemes whose records `signer` may certify: None for all (registrar, auditor)."""
    if any(ledger.has_role(role_name=name, account=signer) for name in CERTIFIERS):
        return None
    return {s.id for s in ledger.schemes.schemes() if s.issuer == signer}


def _candidates(
    ledger: CertificateParts, member: str, since: int, until: int
) -> list[RecordDetails]:
    """The store's records of `member` whose service starts in [since, until) and that went on
    chain (singly or in a batch; a chunk approved on chain but not yet linked is linked first)."""
    query = (
        select(RecordDetails)
        .where(
            RecordDetails.volunteer == member,
            col(RecordDetails.start) >= since,
            col(RecordDetails.start) < until,
        )
        .order_by(col(RecordDetails.start), col(RecordDetails.id))
    )
    with session(ledger.engine) as db:
        rows = db.exec(query).all()
    unlinked = {
        r.chunk_hash for r in rows if r.chunk_hash and r.batch_id is None and r.record_id is None
    }
    if unlinked and any(
        link.rows for link in link_approved_chunks(ledger.engine, ledger.records, unlinked)
    ):
        with session(ledger.engine) as db:
            rows = db.exec(query).all()
    return [r for r in rows if r.record_id is not None or r.batch_id is not None]


def _ref_of(row: RecordDetails) -> str:
    if row.record_id is not None:
        return f"record:{row.record_id}"
    return f"batch:{row.batch_id}#{row.batch_index or 0}"


def _store_disagrees(row: RecordDetails, entry: ChainEntry, member: str) -> str | None:
    """Why the store's row is not the record on chain, or None when they agree."""
    if entry.volunteer != member:
        return f"on chain it is a record of {entry.volunteer}, not of this member"
    if entry.scheme_id != row.scheme_id:
        return "on chain it is a record of another scheme than the store says"
    if (entry.start, entry.end) != (row.start, row.end):
        return "its service times on chain differ from the store's"
    if keccak(row.details_json.encode()) != entry.details_hash:
        return "the details in the store do not match the hash on chain"
    return None


def _totals(lines: Iterable[CertificateLine]) -> list[SchemeTotal]:
    by_scheme: dict[str, list[CertificateLine]] = {}
    for line in lines:
        by_scheme.setdefault(line.scheme, []).append(line)
    return [
        SchemeTotal(
            scheme=code,
            records=len(group),
            seconds=sum(line.seconds for line in group),
            points=sum(line.points for line in group),
        )
        for code, group in sorted(by_scheme.items())
    ]


def write_certificate(certificate: Certificate, directory: Path) -> tuple[Path, Path]:
    """Write ``<code>.json`` and ``<code>.html`` into `directory`; their paths."""
    json_path = directory / f"{certificate.code}.json"
    html_path = directory / f"{certificate.code}.html"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        json_path.write_text(certificate.json_text(), encoding="utf-8")
        html_path.write_text(certificate.html(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the certificate into {directory}: {exc.strerror}") from None
    return json_path, html_path
