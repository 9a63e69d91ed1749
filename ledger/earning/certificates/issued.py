"""The certificates issued here, as the store keeps them (by code and by content)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ledger.earning.certificates.document import normalise_code
from ledger.earning.parts import Store
from ledger.errors import RecordNotFound
from ledger.store import session, utcnow
from ledger.store.records import IssuedCertificate, canonical_json
from ledger.values import parse_address


def find_issued(
    ledger: Store, *, code: str | None = None, content_hash: str | None = None
) -> IssuedCertificate | None:
    """The first certificate issued here with this code or content hash."""
    with session(ledger.engine) as db:
        query = select(IssuedCertificate)
        if code is not None:
            query = query.where(IssuedCertificate.code == code)
        if content_hash is not None:
            query = query.where(IssuedCertificate.content_hash == content_hash)
        return db.exec(query.order_by(col(IssuedCertificate.id))).first()


def keep_issued(ledger: Store, document: dict[str, Any], content_hash: str) -> IssuedCertificate:
    """Keep an issued certificate; the one already kept when another request just kept it."""
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
        found = find_issued(ledger, code=document["code"])
        if found is None:
            raise
        return found
    return row


def issued(ledger: Store, code: str) -> dict[str, Any]:
    """The document of a certificate issued here (RecordNotFound for an unknown code)."""
    normal = normalise_code(code)
    row = find_issued(ledger, code=normal) if normal is not None else None
    if row is None:
        raise RecordNotFound(f"no certificate with code {code!r} was issued here")
    document: dict[str, Any] = json.loads(row.document_json)
    return document


def issued_to(ledger: Store, member: str, *, last: int = 100) -> list[IssuedCertificate]:
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
