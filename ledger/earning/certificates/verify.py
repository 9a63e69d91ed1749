"""Verifying a certificate: its code, its signer's authority and every line against the chain as it
is now; a bad certificate is reported with every problem found, never raised."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError

from ledger.earning.certificates.chain import ChainRecords, NotCertifiable
from ledger.earning.certificates.compare import (
    Malformed,
    changes_between,
    is_obj,
    mismatches,
    short,
    text_of,
    time_of,
)
from ledger.earning.certificates.document import (
    CERTIFIERS,
    FORMAT_VERSION,
    KIND,
    TEXT_FIELDS,
    certificate_digest,
    hours,
    iso_time,
    midnight,
    normalise_code,
    parse_period,
    verification_code,
)
from ledger.earning.certificates.issued import find_issued
from ledger.earning.certificates.load import load, page_of, parse_document
from ledger.earning.certificates.page import render_html
from ledger.earning.certificates.parts import CertificateParts
from ledger.errors import InputError, RecordNotFound
from ledger.store.records import details_hash
from ledger.values import show_time


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


def verify_certificate(ledger: CertificateParts, code_or_path: str | Path) -> Verification:
    """Check a certificate given by its code, as a .json file or as an .html page: its code, its
    signer's authority and every line against the chain. InputError only for input that cannot be
    read; a bad certificate gives ``ok=False`` and every problem found."""
    loaded = load(ledger, code_or_path)
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


def verify_text(ledger: CertificateParts, text: str) -> Verification:
    """Check a certificate given as its JSON text or its HTML page (as ``verify_certificate``);
    never reads a file."""
    return _Verifier(ledger).check(
        parse_document(text, name="the document").document, page=page_of(text), looked_up=None
    )


def verify_code(ledger: CertificateParts, code: str) -> Verification:
    """Check the certificate issued here under a verification code; never reads a file."""
    normal = normalise_code(code)
    if normal is None:
        raise InputError(f"{code!r} is not a verification code (like VPL-ABCD-EFGH-2345-6723)")
    row = find_issued(ledger, code=normal)
    if row is None:
        raise RecordNotFound(f"no certificate with code {normal} was issued here")
    return _Verifier(ledger).check(json.loads(row.document_json), page=None, looked_up=normal)


class _Verifier:
    def __init__(self, parts: CertificateParts) -> None:
        self.parts = parts
        self.chain = ChainRecords(parts)
        self.problems: list[str] = []
        self.notes: list[str] = []

    def check(self, document: Any, *, page: str | None, looked_up: str | None) -> Verification:
        code = document.get("code") if isinstance(document, dict) else None
        member = document.get("member") if isinstance(document, dict) else None
        try:
            self._shape(document)
        except Malformed as exc:
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
            raise Malformed("its JSON is not an object")
        if document.get("type") != KIND:
            raise Malformed(f'its type is {document.get("type")!r}, not "{KIND}"')
        if document.get("version") != FORMAT_VERSION:
            raise Malformed(
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
                raise Malformed(f"{key} is missing or not a {kind.__name__}")
        if not document["lines"]:
            raise Malformed("it lists no service records")

    def _code(self, document: dict[str, Any], digest: bytes) -> None:
        """The code must be the digest's; what changed since issue is named from the store."""
        stated, computed = document["code"], verification_code(digest)
        if stated != computed:
            self.problems.append(
                f"the content was altered: it does not match its verification code {stated} "
                f"(its content gives {computed})"
            )
        original = find_issued(self.parts, code=stated) or (
            find_issued(self.parts, code=computed) if stated != computed else None
        )
        if original is None:
            self.notes.append(
                "not issued from this store: checked against its signature and the chain only"
            )
            return
        changes = changes_between(json.loads(original.document_json), document)
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
        codes = sorted({str(line.get("scheme")) for line in document["lines"] if is_obj(line)})
        refusal = self._authority(signer, codes)
        if refusal is not None:
            self.problems.append(refusal)
        return signer

    def _authority(self, signer: str, codes: list[str]) -> str | None:
        """Why `signer` may not certify records of these schemes, or None if it may."""
        if any(self.parts.has_role(role_name=name, account=signer) for name in CERTIFIERS):
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
            "chain_id": self.parts.network.chain_id,
            "service_records": self.parts.records.address,
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
            period = (midnight(first), midnight(last + timedelta(days=1)))
        except (InputError, KeyError, TypeError):
            self.problems.append("its period is not two dates")
            period = None
        seen: dict[str, int] = {}
        for number, line in enumerate(document["lines"], start=1):
            ref = line.get("ref") if is_obj(line) else None
            label = f"line {number}" + (f" ({ref})" if isinstance(ref, str) else "")
            try:
                found = self._line(line, member=member, period=period)
            except Malformed as exc:
                found = [f"malformed: {exc}"]
            if isinstance(ref, str):
                if ref in seen:
                    found.append(f"repeats line {seen[ref]}")
                seen.setdefault(ref, number)
            self.problems.extend(f"{label}: {problem}" for problem in found)

    def _line(self, line: Any, *, member: str, period: tuple[int, int] | None) -> list[str]:
        """What is wrong with one line, checked against the chain and against its own details."""
        if not is_obj(line):
            raise Malformed("not an object")
        ref = text_of(line, "ref")
        try:
            entry = self.chain.entry(ref)
        except NotCertifiable as exc:
            return [str(exc)]
        out: list[str] = []
        scheme = self.chain.scheme_by_id(entry.scheme_id).code
        if text_of(line, "scheme") != scheme:
            out.append(f"it is a record of {scheme} on chain, not of {line['scheme']}")
        if entry.volunteer != member:
            out.append(f"the record belongs to another volunteer ({entry.volunteer}), not {member}")
        start, end = time_of(line, "start"), time_of(line, "end")
        if (start, end) != (entry.start, entry.end):
            out.append(
                f"service time {text_of(line, 'start')} - {text_of(line, 'end')} differs from the "
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
            raise Malformed("details is missing or not an object")
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
            if not is_obj(line):
                continue  # reported with its line
            try:
                scheme, seconds = (
                    text_of(line, "scheme"),
                    time_of(line, "end") - time_of(line, "start"),
                )
                points = line["points"]
                if not isinstance(points, int):
                    raise Malformed("points is not a whole number")
            except (Malformed, KeyError, TypeError):
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
        for mismatch in mismatches(expected, stated, "totals"):
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
                    f"line {number} of the page reads {short(a[max(at - 30, 0) : at + 30])} "
                    f"where it should read {short(b[max(at - 30, 0) : at + 30])}"
                )
                break
        else:
            where = f"the page has {len(shown)} lines, not {len(wanted)}"
        self.problems.append(
            f"the page was altered: what it shows differs from the certificate it carries ({where})"
        )


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
