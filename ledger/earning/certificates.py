"""Certificates of service (志愿服务证明): what a member did in a period, as the chain proves it.

A certificate lists every approved, not superseded service record of one member whose service
started in the period (single records and batch records, a record belonging to the day it started,
as the caps count it), each confirmed against the chain, with what the 2021 rules on volunteer
service records require a certificate to state: date, service time, content, activity, place and
the recording unit (organising unit and person in charge); plus points, scheme, the on-chain
reference and the record's full details, whose hash is on chain. Totals give hours and points per
scheme.

The certificate is canonical JSON (``ledger.store.records.canonical_json``): its digest is the
keccak256 of the document without its code and signature, the verification code is taken from
the digest, and the issuing key signs the digest (EIP-191). The same JSON is embedded in a
printable HTML page, so the page itself can be verified. ``verify_certificate`` takes a code (the
store keeps every certificate issued), a JSON file or an HTML page and checks the code, the
signer's authority and every line against the chain as it is now; a bad certificate is reported,
never raised.

Who certifies: a registrar or an auditor (any scheme), or a scheme's issuer (its own scheme's
records only, as only the community that reviewed a record may see its details).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils import keccak
from eth_utils.exceptions import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ledger.chain.contracts import (
    Batch,
    BatchStatus,
    DurationRule,
    FixedRule,
    PackedRecord,
    RecordStatus,
    Scheme,
)
from ledger.chain.contracts.rules import GRADE_LETTERS, decode_action
from ledger.earning.chunks import link_approved_chunks
from ledger.errors import (
    AccessDenied,
    ContractRevert,
    InputError,
    RecordNotFound,
    SignatureMismatch,
)
from ledger.store import session, utcnow
from ledger.store.records import IssuedCertificate, RecordDetails, canonical_json, details_hash
from ledger.values import CST, parse_address, show_time

if TYPE_CHECKING:
    from ledger.ledger import Ledger

KIND = "vpl-certificate"
FORMAT_VERSION = 1
TITLE = "志愿服务证明"
#: Roles that may certify records of any scheme (a scheme's issuer certifies its own).
CERTIFIERS = ("registrar", "auditor")
#: What a line states about the service, as the record's details state it.
TEXT_FIELDS = ("activity", "content", "place", "organising_unit", "person_in_charge")
#: Not part of the digest: the code is taken from it, the signature is over it.
SEAL_FIELDS = ("code", "signature")
#: Not part of the content that makes a certificate the same as one issued before.
MOMENT_FIELDS = ("issued_at", "block")

_CODE = re.compile(r"^VPL([A-Z2-7]{16})$")
_RECORD_REF = re.compile(r"^record:([1-9][0-9]{0,18})$")
_BATCH_REF = re.compile(r"^batch:([1-9][0-9]{0,18})#([0-9]{1,4})$")
_EMBEDDED = re.compile(r'<script type="application/json" id="certificate">(.*?)</script>', re.S)


# --- the certificate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateLine:
    """One service record on a certificate, confirmed against the chain."""

    ref: str
    scheme: str
    start: int
    end: int
    activity: str
    content: str
    place: str
    organising_unit: str
    person_in_charge: str
    action: str | None
    points: int
    rule_version: int
    details_hash: bytes
    #: The record's full details, whose keccak256 of the canonical JSON is on chain.
    details: dict[str, Any]

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "scheme": self.scheme,
            "date": show_time(self.start)[:10],
            "start": iso_time(self.start),
            "end": iso_time(self.end),
            "hours": hours(self.seconds),
            "activity": self.activity,
            "content": self.content,
            "place": self.place,
            "organising_unit": self.organising_unit,
            "person_in_charge": self.person_in_charge,
            "action": self.action,
            "points": self.points,
            "rule_version": self.rule_version,
            "details_hash": "0x" + self.details_hash.hex(),
            "details": self.details,
        }


@dataclass(frozen=True)
class SchemeTotal:
    scheme: str
    records: int
    seconds: int
    points: int

    @property
    def hours(self) -> str:
        return hours(self.seconds)


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


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a certificate: valid, or every problem found."""

    ok: bool
    #: The code the certificate states (or was looked up by).
    code: str | None
    member: str | None
    #: The key that signed it, when the signature recovers to the stated issuer.
    signer: str | None
    lines: int
    problems: tuple[str, ...]
    #: Remarks that do not make it invalid.
    notes: tuple[str, ...] = ()
    document: dict[str, Any] | None = field(default=None, repr=False)


def hours(seconds: int) -> str:
    """Service time in hours with two decimals, as record details state it."""
    return f"{seconds / 3600:.2f}"


def iso_time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, CST).isoformat(timespec="seconds")


def certificate_digest(document: dict[str, Any]) -> bytes:
    """keccak256 of the canonical JSON of the document without its code and signature."""
    return keccak(canonical_json({k: v for k, v in document.items() if k not in SEAL_FIELDS}))


def verification_code(digest: bytes) -> str:
    """``VPL-`` and the base32 of the digest's first 10 bytes, in groups of four."""
    text = base64.b32encode(digest[:10]).decode("ascii")
    return "VPL-" + "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalise_code(text: str) -> str | None:
    """A verification code as typed (any case, with or without dashes), or None if it is not one."""
    match = _CODE.match(re.sub(r"[\s\-]", "", text).upper())
    if match is None:
        return None
    body = match.group(1)
    return "VPL-" + "-".join(body[i : i + 4] for i in range(0, len(body), 4))


def sign_certificate(body: dict[str, Any], signer: LocalAccount) -> dict[str, Any]:
    """The document: `body` with its verification code and `signer`'s signature of its digest."""
    document = {k: v for k, v in body.items() if k not in SEAL_FIELDS}
    digest = certificate_digest(document)
    signed = signer.sign_message(encode_defunct(primitive=digest))
    document["code"] = verification_code(digest)
    document["signature"] = "0x" + bytes(signed.signature).hex()
    return document


def document_json(document: dict[str, Any]) -> str:
    """The certificate as a JSON file: readable, keys sorted, Chinese kept."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# --- issuing -----------------------------------------------------------------------------------


def parse_period(start: str | date, end: str | date) -> tuple[date, date]:
    """The first and last day of a period (China Standard Time), both included."""
    first, last = _day(start, what="start of the period"), _day(end, what="end of the period")
    if last < first:
        raise InputError(f"the period ends ({last}) before it starts ({first})")
    if first.year < 1970 or last.year > 9998:
        raise InputError("a period lies between 1970-01-01 and 9998-12-31")
    return first, last


def _day(value: str | date, *, what: str) -> date:
    if isinstance(value, datetime):
        return value.astimezone(CST).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date like 2026-11-01") from None


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())


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


def create_certificate(
    ledger: Ledger, *, member: str, start: str | date, end: str | date, issuer: LocalAccount
) -> Certificate:
    """Certify a member's approved service in a period (see the module docstring), signed by
    `issuer` and kept in the store; the same certificate asked for again is returned as it was."""
    draft = draft_certificate(ledger, member=member, start=start, end=end, issuer=issuer.address)
    found = issued_like(ledger, draft)
    if found is not None:
        return found
    document = sign_certificate(draft.body, issuer)
    return seal_certificate(ledger, draft, document["signature"])


def issued_like(ledger: Ledger, draft: Draft) -> Certificate | None:
    """The certificate issued before with the same content as `draft` (only its time differs)."""
    found = _issued(ledger, content_hash=draft.content_hash)
    return None if found is None else _certificate(found, draft, created=False)


def seal_certificate(ledger: Ledger, draft: Draft, signature: str) -> Certificate:
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
    return _certificate(_store(ledger, document, draft.content_hash), draft, created=True)


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
    ledger: Ledger,
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
    since, until = _midnight(first), _midnight(last + timedelta(days=1))
    chain = _Chain(ledger)
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
        except _NotCertifiable as exc:
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


def _check_moment(ledger: Ledger, issued_at: str, block: int) -> None:
    try:
        when = datetime.fromisoformat(issued_at)
    except (TypeError, ValueError):
        raise InputError(f"issued_at {issued_at!r} is not the draft's issue time") from None
    if when.tzinfo is None or not 0 <= block <= ledger.w3.eth.block_number:
        raise InputError("issued_at and block must be those of the draft that was signed")


def _content(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in SEAL_FIELDS + MOMENT_FIELDS}


def _certifiable(ledger: Ledger, signer: str) -> set[int] | None:
    """The schemes whose records `signer` may certify: None for all (registrar, auditor)."""
    if any(ledger.has_role(role_name=name, account=signer) for name in CERTIFIERS):
        return None
    return {s.id for s in ledger.schemes.schemes() if s.issuer == signer}


def _candidates(ledger: Ledger, member: str, since: int, until: int) -> list[RecordDetails]:
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


def _store_disagrees(row: RecordDetails, entry: _Entry, member: str) -> str | None:
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


def _issued(
    ledger: Ledger, *, code: str | None = None, content_hash: str | None = None
) -> IssuedCertificate | None:
    with session(ledger.engine) as db:
        query = select(IssuedCertificate)
        if code is not None:
            query = query.where(IssuedCertificate.code == code)
        if content_hash is not None:
            query = query.where(IssuedCertificate.content_hash == content_hash)
        return db.exec(query.order_by(col(IssuedCertificate.id))).first()


def _store(ledger: Ledger, document: dict[str, Any], content_hash: str) -> IssuedCertificate:
    row = IssuedCertificate(
        code=document["code"],
        member=document["member"],
        period_from=document["period"]["from"],
        period_to=document["period"]["to"],
        issuer=document["issuer"],
        content_hash=content_hash,
        document_json=canonical_json(document).decode(),
        created_at=utcnow(),
    )
    try:
        with session(ledger.engine) as db:
            db.add(row)
    except IntegrityError:  # the same certificate, issued by another request just now
        found = _issued(ledger, code=document["code"])
        if found is None:
            raise
        return found
    return row


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


# --- the chain's side of a line ----------------------------------------------------------------


class _NotCertifiable(Exception):
    """A reference the chain does not back as approved service; the message says why."""


@dataclass(frozen=True)
class _Entry:
    """What the chain holds for one reference (a record, or a record of a batch)."""

    scheme_id: int
    volunteer: str
    start: int
    end: int
    details_hash: bytes
    points: int
    rule_version: int
    action: str | None


class _Chain:
    """The chain's answers for one certificate, each read once."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._schemes: dict[int, Scheme] = {}
        self._codes: dict[str, Scheme | None] = {}
        self._rules: dict[tuple[int, int], DurationRule | FixedRule] = {}
        self._batches: dict[int, tuple[Batch, list[PackedRecord]]] = {}

    def scheme_by_id(self, scheme_id: int) -> Scheme:
        if scheme_id not in self._schemes:
            self._schemes[scheme_id] = self.ledger.scheme(scheme_id)
        return self._schemes[scheme_id]

    def scheme(self, code: str) -> Scheme | None:
        """A scheme by code, or None if the chain has none of that code."""
        if code not in self._codes:
            try:
                found: Scheme | None = self.ledger.scheme(code)
            except ContractRevert:
                found = None
            self._codes[code] = found
        return self._codes[code]

    def rule(self, scheme_id: int, version: int) -> DurationRule | FixedRule:
        if (scheme_id, version) not in self._rules:
            self._rules[scheme_id, version] = self.ledger.rule(scheme_id, version)
        return self._rules[scheme_id, version]

    def entry(self, ref: str) -> _Entry:
        """The chain's record behind `ref`, if it is approved service; else _NotCertifiable."""
        if match := _RECORD_REF.match(ref):
            return self._record(int(match.group(1)))
        if match := _BATCH_REF.match(ref):
            return self._batch_record(int(match.group(1)), int(match.group(2)))
        raise _NotCertifiable("not a reference to a record (record:ID or batch:ID#INDEX)")

    def _record(self, record_id: int) -> _Entry:
        try:
            record = self.ledger.records.record(record_id)
        except ContractRevert:
            raise _NotCertifiable(f"there is no record {record_id} on chain") from None
        if record.status is RecordStatus.SUPERSEDED:
            raise _NotCertifiable(f"superseded by record {record.correction} (a correction)")
        if record.status is not RecordStatus.APPROVED:
            raise _NotCertifiable(f"not approved (the record is {record.status.label})")
        return _Entry(
            scheme_id=record.scheme_id,
            volunteer=record.volunteer,
            start=record.start,
            end=record.end,
            details_hash=record.details_hash,
            points=record.points,
            rule_version=record.rule_version,
            action=decode_action(record.action) if record.action != bytes(32) else None,
        )

    def _batch_record(self, batch_id: int, index: int) -> _Entry:
        if batch_id not in self._batches:
            try:
                batch = self.ledger.records.batch(batch_id)
            except ContractRevert:
                raise _NotCertifiable(f"there is no batch {batch_id} on chain") from None
            packed = (
                self.ledger.records.batch_records(batch_id)
                if batch.status is BatchStatus.APPROVED
                else []
            )
            self._batches[batch_id] = (batch, packed)
        batch, packed = self._batches[batch_id]
        if batch.status is not BatchStatus.APPROVED:
            raise _NotCertifiable(f"batch {batch_id} is not approved (it is {batch.status.label})")
        if index >= len(packed):
            raise _NotCertifiable(f"batch {batch_id} has no record #{index}")
        imported = self.ledger.records.batch_record_id(batch_id, index)
        if imported and self.ledger.records.record(imported).status is RecordStatus.SUPERSEDED:
            correction = self.ledger.records.record(imported).correction
            raise _NotCertifiable(
                f"superseded by record {correction} (a correction of record {imported})"
            )
        record = packed[index]
        rule = self.rule(batch.scheme_id, batch.rule_version)
        action = None
        try:
            if isinstance(rule, DurationRule):
                points = rule.points((record.end - record.start) // 60, GRADE_LETTERS[record.code])
            else:
                action = list(rule.actions)[record.code]
                points = rule.actions[action]
        except (IndexError, InputError):
            raise _NotCertifiable(
                f"batch {batch_id} record #{index} names grade or action {record.code}, which "
                f"rule version {batch.rule_version} does not have"
            ) from None
        return _Entry(
            scheme_id=batch.scheme_id,
            volunteer=record.volunteer,
            start=record.start,
            end=record.end,
            details_hash=record.details_hash,
            points=points,
            rule_version=batch.rule_version,
            action=action,
        )


# --- verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    document: Any
    #: The code it was looked up by, if any.
    code: str | None
    #: The HTML page it was read from, if any.
    page: str | None


class _Malformed(Exception):
    """A part of the document is not shaped as a certificate's; the message says which."""


def verify_certificate(ledger: Ledger, code_or_path: str | Path) -> Verification:
    """Check a certificate given by its code, as a .json file or as an .html page: its code, its
    signer's authority and every line against the chain. InputError only for input that cannot be
    read; a bad certificate gives ``ok=False`` and every problem found."""
    loaded = _load(ledger, code_or_path)
    if loaded.document is None:
        return Verification(
            ok=False,
            code=loaded.code,
            member=None,
            signer=None,
            lines=0,
            problems=(
                f"no certificate with code {loaded.code} was issued here: check the code, or "
                "verify the certificate's .json or .html file",
            ),
        )
    return _Verifier(ledger).check(loaded.document, page=loaded.page, looked_up=loaded.code)


def _load(ledger: Ledger, code_or_path: str | Path) -> _Loaded:
    if isinstance(code_or_path, str) and not Path(code_or_path).is_file():
        code = normalise_code(code_or_path)
        if code is not None:
            row = _issued(ledger, code=code)
            return _Loaded(json.loads(row.document_json) if row else None, code, None)
    path = Path(code_or_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{str(code_or_path)!r} is neither a verification code (like VPL-ABCD-EFGH-2345-"
            "6723) nor a certificate file (.json or .html)"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text: not a certificate file") from None
    return _parse(text, name=path.name, suffix=path.suffix.lower())


def _parse(text: str, *, name: str, suffix: str = "") -> _Loaded:
    """A certificate's JSON text, or an HTML page embedding it."""
    is_page = suffix in (".html", ".htm") or (suffix != ".json" and text.lstrip()[:1] == "<")
    payload = text
    if is_page:
        match = _EMBEDDED.search(text)
        if match is None:
            raise InputError(
                f'{name} carries no certificate (a <script type="application/json" '
                'id="certificate"> element)'
            )
        payload = match.group(1)
    try:
        document = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"the certificate in {name} is not JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    return _Loaded(document, None, text if is_page else None)


def verify_text(ledger: Ledger, text: str) -> Verification:
    """Check a certificate given as its JSON text or its HTML page (as ``verify_certificate``);
    never reads a file."""
    return _Verifier(ledger).check(
        _parse(text, name="the document").document, page=_page_of(text), looked_up=None
    )


def _page_of(text: str) -> str | None:
    return text if text.lstrip()[:1] == "<" else None


def verify_code(ledger: Ledger, code: str) -> Verification:
    """Check the certificate issued here under a verification code; never reads a file."""
    normal = normalise_code(code)
    if normal is None:
        raise InputError(f"{code!r} is not a verification code (like VPL-ABCD-EFGH-2345-6723)")
    row = _issued(ledger, code=normal)
    if row is None:
        raise RecordNotFound(f"no certificate with code {normal} was issued here")
    return _Verifier(ledger).check(json.loads(row.document_json), page=None, looked_up=normal)


def issued(ledger: Ledger, code: str) -> dict[str, Any]:
    """The document of a certificate issued here (RecordNotFound for an unknown code)."""
    normal = normalise_code(code)
    row = _issued(ledger, code=normal) if normal is not None else None
    if row is None:
        raise RecordNotFound(f"no certificate with code {code!r} was issued here")
    document: dict[str, Any] = json.loads(row.document_json)
    return document


def issued_to(ledger: Ledger, member: str, *, last: int = 100) -> list[IssuedCertificate]:
    """The certificates issued here to a member, newest first."""
    member = parse_address(member, what="member address")
    with session(ledger.engine) as db:
        return list(
            db.exec(
                select(IssuedCertificate)
                .where(IssuedCertificate.member == member)
                .order_by(col(IssuedCertificate.id).desc())
                .limit(last)
            ).all()
        )


class _Verifier:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.chain = _Chain(ledger)
        self.problems: list[str] = []
        self.notes: list[str] = []

    def check(self, document: Any, *, page: str | None, looked_up: str | None) -> Verification:
        code = document.get("code") if isinstance(document, dict) else None
        member = document.get("member") if isinstance(document, dict) else None
        try:
            self._shape(document)
        except _Malformed as exc:
            self.problems.append(f"not a certificate of this ledger: {exc}")
            return self._outcome(document, code=code, member=None, signer=None, lines=0)
        digest = certificate_digest(document)
        self._code(document, digest)
        signer = self._signature(document, digest)
        if page is not None:
            self._page(document, page)
        lines: list[Any] = document["lines"]
        if self._same_ledger(document["ledger"]):
            self._lines(document)
        self._totals(document)
        if looked_up is not None and looked_up != code:
            self.problems.append(f"it was looked up by {looked_up} but states {code}")
        return self._outcome(document, code=code, member=member, signer=signer, lines=len(lines))

    def _outcome(
        self, document: Any, *, code: Any, member: Any, signer: str | None, lines: int
    ) -> Verification:
        return Verification(
            ok=not self.problems,
            code=code if isinstance(code, str) else None,
            member=member if isinstance(member, str) else None,
            signer=signer,
            lines=lines,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
            document=document if isinstance(document, dict) else None,
        )

    # --- the parts ---------------------------------------------------------------------------

    @staticmethod
    def _shape(document: Any) -> None:
        if not isinstance(document, dict):
            raise _Malformed("its JSON is not an object")
        if document.get("type") != KIND:
            raise _Malformed(f'its type is {document.get("type")!r}, not "{KIND}"')
        if document.get("version") != FORMAT_VERSION:
            raise _Malformed(
                f"it is of format version {document.get('version')!r}; this software reads "
                f"version {FORMAT_VERSION}"
            )
        for key, kind in (
            ("code", str),
            ("signature", str),
            ("issuer", str),
            ("member", str),
            ("period", dict),
            ("ledger", dict),
            ("schemes", dict),
            ("lines", list),
            ("totals", dict),
        ):
            if not isinstance(document.get(key), kind):
                raise _Malformed(f"{key} is missing or not a {kind.__name__}")
        if not document["lines"]:
            raise _Malformed("it lists no service records")

    def _code(self, document: dict[str, Any], digest: bytes) -> None:
        """The code must be the digest's; what changed since issue is named from the store."""
        stated, computed = document["code"], verification_code(digest)
        if stated != computed:
            self.problems.append(
                f"the content was altered: it does not match its verification code {stated} "
                f"(its content gives {computed})"
            )
        original = _issued(self.ledger, code=stated) or (
            _issued(self.ledger, code=computed) if stated != computed else None
        )
        if original is None:
            self.notes.append(
                "not issued from this store: checked against its signature and the chain only"
            )
            return
        changes = _changes(json.loads(original.document_json), document)
        if changes:
            shown = "; ".join(changes[:20])
            more = f"; and {len(changes) - 20} more" if len(changes) > 20 else ""
            self.problems.append(f"changed since it was issued as {original.code}: {shown}{more}")

    def _signature(self, document: dict[str, Any], digest: bytes) -> str | None:
        """The signer, if the signature is the stated issuer's over this content; and whether
        that key may certify every scheme on it."""
        stated = document["issuer"]
        try:
            raw = bytes.fromhex(document["signature"].removeprefix("0x"))
            signer = Account.recover_message(encode_defunct(primitive=digest), signature=raw)
        except (BadSignature, ValidationError, ValueError):
            self.problems.append("the signature is malformed")
            return None
        if signer != stated:
            self.problems.append(
                f"the signature is not {stated}'s over this content: it was altered after "
                "signing, or signed by another key"
            )
            return None
        codes = sorted({str(line.get("scheme")) for line in document["lines"] if _is_obj(line)})
        refusal = self._authority(signer, codes)
        if refusal is not None:
            self.problems.append(refusal)
        return signer

    def _authority(self, signer: str, codes: list[str]) -> str | None:
        """Why `signer` may not certify records of these schemes, or None if it may."""
        if any(self.ledger.has_role(role_name=name, account=signer) for name in CERTIFIERS):
            return None
        issued = [
            c for c in codes if (s := self.chain.scheme(c)) is not None and s.issuer == signer
        ]
        others = [c for c in codes if c not in issued]
        if not others:
            return None
        if not issued:
            return (
                f"signed by an unknown key {signer}: neither a registrar, an auditor nor the "
                f"issuer of {', '.join(codes)}"
            )
        return (
            f"signed by {signer}, the issuer of {', '.join(issued)}, who may not certify "
            f"records of {', '.join(others)}"
        )

    def _same_ledger(self, stated: dict[str, Any]) -> bool:
        here = {
            "chain_id": self.ledger.network.chain_id,
            "service_records": self.ledger.records.address,
        }
        if stated != here:
            self.problems.append(
                f"it was issued on another ledger (chain {stated.get('chain_id')}, service "
                f"records {stated.get('service_records')}); this is chain {here['chain_id']}, "
                f"service records {here['service_records']}: verify it there"
            )
            return False
        return True

    def _lines(self, document: dict[str, Any]) -> None:
        member = document["member"]
        try:
            first, last = parse_period(document["period"]["from"], document["period"]["to"])
            period = (_midnight(first), _midnight(last + timedelta(days=1)))
        except (InputError, KeyError, TypeError):
            self.problems.append("its period is not two dates")
            period = None
        seen: dict[str, int] = {}
        for number, line in enumerate(document["lines"], start=1):
            ref = line.get("ref") if _is_obj(line) else None
            label = f"line {number}" + (f" ({ref})" if isinstance(ref, str) else "")
            try:
                found = self._line(line, member=member, period=period)
            except _Malformed as exc:
                found = [f"malformed: {exc}"]
            if isinstance(ref, str):
                if ref in seen:
                    found.append(f"repeats line {seen[ref]}")
                seen.setdefault(ref, number)
            self.problems.extend(f"{label}: {problem}" for problem in found)

    def _line(self, line: Any, *, member: str, period: tuple[int, int] | None) -> list[str]:
        """What is wrong with one line, checked against the chain and against its own details."""
        if not _is_obj(line):
            raise _Malformed("not an object")
        ref = _text(line, "ref")
        try:
            entry = self.chain.entry(ref)
        except _NotCertifiable as exc:
            return [str(exc)]
        out: list[str] = []
        scheme = self.chain.scheme_by_id(entry.scheme_id).code
        if _text(line, "scheme") != scheme:
            out.append(f"it is a record of {scheme} on chain, not of {line['scheme']}")
        if entry.volunteer != member:
            out.append(f"the record belongs to another volunteer ({entry.volunteer}), not {member}")
        start, end = _time(line, "start"), _time(line, "end")
        if (start, end) != (entry.start, entry.end):
            out.append(
                f"service time {_text(line, 'start')} - {_text(line, 'end')} differs from the "
                f"chain's {iso_time(entry.start)} - {iso_time(entry.end)}"
            )
        expected = {
            "date": show_time(entry.start)[:10],
            "hours": hours(entry.end - entry.start),
            "points": entry.points,
            "rule_version": entry.rule_version,
            "action": entry.action,
            "details_hash": "0x" + entry.details_hash.hex(),
        }
        for name, value in expected.items():
            if line.get(name) != value:
                out.append(f"{name} {line.get(name)!r} differs from the chain's {value!r}")
        details = line.get("details")
        if not isinstance(details, dict):
            raise _Malformed("details is missing or not an object")
        if details_hash(details) != entry.details_hash:
            out.append("its details do not match the details hash on chain (they were altered)")
        for name in TEXT_FIELDS:
            if line.get(name) != details.get(name, ""):
                out.append(f"{name} {line.get(name)!r} is not what the record's details state")
        if period is not None and not period[0] <= entry.start < period[1]:
            out.append(
                f"the service ({show_time(entry.start)}) is outside the certificate's period"
            )
        return out

    def _totals(self, document: dict[str, Any]) -> None:
        """The totals must be the sums of the lines."""
        sums: dict[str, list[int]] = {}
        for line in document["lines"]:
            if not _is_obj(line):
                continue  # reported with its line
            try:
                scheme, seconds = _text(line, "scheme"), _time(line, "end") - _time(line, "start")
                points = line["points"]
                if not isinstance(points, int):
                    raise _Malformed("points is not a whole number")
            except (_Malformed, KeyError, TypeError):
                continue  # reported with its line
            entry = sums.setdefault(scheme, [0, 0, 0])
            entry[0] += 1
            entry[1] += seconds
            entry[2] += points
        expected = {
            "records": sum(v[0] for v in sums.values()),
            "hours": hours(sum(v[1] for v in sums.values())),
            "schemes": {
                code: {"records": v[0], "hours": hours(v[1]), "points": v[2]}
                for code, v in sorted(sums.items())
            },
        }
        stated = document["totals"]
        if stated == expected:
            return
        for mismatch in _mismatches(expected, stated, "totals"):
            self.problems.append(f"the totals do not add up: {mismatch}")

    def _page(self, document: dict[str, Any], page: str) -> None:
        """An HTML page must show what it carries: the page is as the certificate renders."""
        try:
            expected = render_html(document)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.problems.append("the page cannot be rebuilt from the certificate it carries")
            return
        shown = page.replace("\r\n", "\n").splitlines()
        wanted = expected.splitlines()
        if shown == wanted:
            return
        for number, (a, b) in enumerate(zip(shown, wanted, strict=False), start=1):
            if a != b:
                at = next(
                    i for i, (x, y) in enumerate(zip(a + "\0", b + "\0", strict=False)) if x != y
                )
                where = (
                    f"line {number} of the page reads {_short(a[max(at - 30, 0) : at + 30])} "
                    f"where it should read {_short(b[max(at - 30, 0) : at + 30])}"
                )
                break
        else:
            where = f"the page has {len(shown)} lines, not {len(wanted)}"
        self.problems.append(
            f"the page was altered: what it shows differs from the certificate it carries ({where})"
        )


def _is_obj(value: Any) -> bool:
    return isinstance(value, dict)


def _text(line: dict[str, Any], name: str) -> str:
    value = line.get(name)
    if not isinstance(value, str):
        raise _Malformed(f"{name} is missing or not text")
    return value


def _time(line: dict[str, Any], name: str) -> int:
    text = _text(line, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Malformed(f"{name} {text!r} is not a time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return int(moment.timestamp())


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mismatches(expected: Any, stated: Any, path: str) -> list[str]:
    """Where stated totals differ from what the lines add up to."""
    if isinstance(expected, dict) and isinstance(stated, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(stated), key=str):
            where = f"{path}.{key}"
            if key not in stated:
                out.append(f"{where} is missing; the lines add up to {_short(expected[key])}")
            elif key not in expected:
                out.append(f"{where} is {_short(stated[key])}, but no line is counted in it")
            else:
                out.extend(_mismatches(expected[key], stated[key], where))
        return out
    if expected != stated or type(expected) is not type(stated):
        return [f"{path} is {_short(stated)}; the lines add up to {_short(expected)}"]
    return []


def _changes(original: Any, altered: Any, path: str = "") -> list[str]:
    """What differs between two documents, by path; lines are named by their reference."""
    if isinstance(original, dict) and isinstance(altered, dict):
        out: list[str] = []
        for key in sorted(set(original) | set(altered), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in altered:
                out.append(f"{where} removed")
            elif key not in original:
                out.append(f"{where} added")
            else:
                out.extend(_changes(original[key], altered[key], where))
        return out
    if isinstance(original, list) and isinstance(altered, list):
        if all(_is_obj(x) and isinstance(x.get("ref"), str) for x in original + altered):
            before = {x["ref"]: x for x in original}
            after = {x["ref"]: x for x in altered}
            if len(before) == len(original) and len(after) == len(altered):
                out = []
                for ref, line in before.items():
                    if ref not in after:
                        out.append(f"{path}[{ref}] removed")
                    else:
                        out.extend(_changes(line, after[ref], f"{path}[{ref}]"))
                out.extend(f"{path}[{ref}] added" for ref in after if ref not in before)
                if not out and list(before) != list(after):
                    out.append(f"{path} reordered")
                return out
        if len(original) != len(altered):
            return [f"{path}: {len(original)} entries, now {len(altered)}"]
        out = []
        for index, (a, b) in enumerate(zip(original, altered, strict=True)):
            out.extend(_changes(a, b, f"{path}[{index}]"))
        return out
    if original != altered or type(original) is not type(altered):
        return [f"{path}: {_short(original)} → {_short(altered)}"]
    return []


# --- the printable page ------------------------------------------------------------------------

_STYLE = """\
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", SimSun, serif;
       max-width: 62em; margin: 2em auto; padding: 0 1em; color: #000; line-height: 1.5; }
h1 { text-align: center; letter-spacing: 0.6em; margin-bottom: 1.2em; }
h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: 0.88em; }
th, td { border: 1px solid #555; padding: 0.25em 0.4em; vertical-align: top; text-align: left; }
th { background: #eee; }
.num { text-align: right; white-space: nowrap; }
.mono { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
.code { font-size: 1.3em; letter-spacing: 0.05em; }
.small { font-size: 0.8em; color: #333; }
@media print { body { margin: 0; max-width: none; } tr { page-break-inside: avoid; } }"""


def _e(value: Any) -> str:
    """Text escaped for HTML (element content and quoted attributes alike)."""
    return html.escape("" if value is None else str(value), quote=True)


def _clock(text: Any) -> str:
    try:
        return datetime.fromisoformat(str(text)).astimezone(CST).strftime("%H:%M")
    except ValueError:
        return str(text)


def _script_json(document: dict[str, Any]) -> str:
    """The document as JSON that cannot end or alter the <script> element that holds it."""
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def render_html(document: dict[str, Any]) -> str:
    """The printable page: the certificate in words and tables, with its JSON embedded."""
    schemes: dict[str, Any] = document.get("schemes") or {}
    period = document.get("period") or {}
    totals = document.get("totals") or {}
    code = document.get("code", "")

    def scheme_label(code_: Any) -> str:
        info = schemes.get(code_) or {}
        return f"{info.get('name', '')}（{code_}）" if info.get("name") else str(code_)

    rows = []
    for number, line in enumerate(document.get("lines") or [], start=1):
        unit = (schemes.get(line.get("scheme")) or {}).get("unit", "")
        action = f"（{line['action']}）" if line.get("action") else ""
        rows.append(
            "<tr>"
            f'<td class="num">{number}</td>'
            f"<td>{_e(line.get('date'))}</td>"
            f"<td>{_e(_clock(line.get('start')))}–{_e(_clock(line.get('end')))}</td>"
            f'<td class="num">{_e(line.get("hours"))}</td>'
            f"<td>{_e(line.get('activity'))}</td>"
            f"<td>{_e(line.get('content'))}{_e(action)}</td>"
            f"<td>{_e(line.get('place'))}</td>"
            f"<td>{_e(line.get('organising_unit'))}</td>"
            f"<td>{_e(line.get('person_in_charge'))}</td>"
            f"<td>{_e(scheme_label(line.get('scheme')))}</td>"
            f'<td class="num">{_e(line.get("points"))} {_e(unit)}</td>'
            f'<td class="mono">{_e(line.get("ref"))}</td>'
            "</tr>"
        )
    total_rows = []
    for scheme, total in (totals.get("schemes") or {}).items():
        unit = (schemes.get(scheme) or {}).get("unit", "")
        total_rows.append(
            "<tr>"
            f"<td>{_e(scheme_label(scheme))}</td>"
            f'<td class="num">{_e(total.get("records"))}</td>'
            f'<td class="num">{_e(total.get("hours"))}</td>'
            f'<td class="num">{_e(total.get("points"))} {_e(unit)}</td>'
            "</tr>"
        )
    total_rows.append(
        "<tr>"
        "<th>合计</th>"
        f'<td class="num">{_e(totals.get("records"))}</td>'
        f'<td class="num">{_e(totals.get("hours"))}</td>'
        "<td></td>"
        "</tr>"
    )
    issued_at = str(document.get("issued_at", "")).replace("T", " ")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(document.get('title', TITLE))} {_e(code)}</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(document.get('title', TITLE))}</h1>",
        "<p>兹证明志愿者（链上账户 "
        f'<span class="mono">{_e(document.get("member"))}</span>）'
        f"于 {_e(period.get('from'))} 至 {_e(period.get('to'))} 期间参加志愿服务 "
        f"{_e(totals.get('records'))} 次，累计服务时长 {_e(totals.get('hours'))} 小时。"
        "服务记录如下（时间为北京时间）：</p>",
        "<table>",
        "<thead><tr><th>序号</th><th>日期</th><th>服务时间</th><th>时长（小时）</th>"
        "<th>活动名称</th><th>服务内容</th><th>服务地点</th><th>组织单位（记录单位）</th>"
        "<th>负责人</th><th>积分体系</th><th>积分</th><th>链上记录</th></tr></thead>",
        "<tbody>",
        *rows,
        "</tbody>",
        "</table>",
        "<h2>合计</h2>",
        "<table>",
        "<thead><tr><th>积分体系</th><th>记录数</th><th>服务时长（小时）</th><th>积分</th></tr></thead>",
        "<tbody>",
        *total_rows,
        "</tbody>",
        "</table>",
        f'<p>出具方：<span class="mono">{_e(document.get("issuer"))}</span>　'
        f"出具时间：{_e(issued_at)}　区块高度：{_e(document.get('block'))}</p>",
        f'<p>验证码：<strong class="mono code">{_e(code)}</strong></p>',
        '<p class="small">核验：运行 <span class="mono">vpl verify '
        f'{_e(code)}</span>，或核验本页面文件本身（<span class="mono">vpl verify '
        f"{_e(code)}.html</span>）：本证明的验证码、出具方签名及每一条服务记录都将与区块链逐条核对。"
        "</p>",
        f'<p class="small">签名（EIP-191）：<span class="mono">{_e(document.get("signature"))}</span></p>',
        '<script type="application/json" id="certificate">',
        _script_json(document),
        "</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def verification_data(result: Verification) -> dict[str, Any]:
    """A verification as the CLI and the API show it."""
    document = result.document or {}
    return {
        "valid": result.ok,
        "code": result.code,
        "member": result.member,
        "signer": result.signer,
        "period": document.get("period"),
        "lines": result.lines,
        "totals": document.get("totals"),
        "problems": list(result.problems),
        "notes": list(result.notes),
    }
