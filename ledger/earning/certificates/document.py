"""The certificate document: its format (type, version, what a line states), its lines and totals,
its digest, verification code and signature, and its period."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.errors import InputError
from ledger.store.records import canonical_json
from ledger.values import CST, show_time

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


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())
