"""Verifying certificates of service (志愿服务证明) by code, by their JSON file or by their HTML page,
and every altered or forged certificate failing saying why; a correction of a certified record;
a certificate drafted, signed elsewhere by its issuer and sealed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from ledger.chain.contracts import RecordStatus
from ledger.earning.certificates.document import sign_certificate
from ledger.earning.certificates.issue import (
    Certificate,
    create_certificate,
    draft_certificate,
    issued_like,
    seal_certificate,
    write_certificate,
)
from ledger.earning.certificates.issued import issued, issued_to
from ledger.earning.certificates.verify import verify_certificate, verify_code, verify_text
from ledger.errors import InputError, RecordNotFound, SignatureMismatch
from ledger.ledger import Ledger
from tests.certificate_helpers import Service, assert_fails, cst_day, fresh, period, verify_document
from tests.earning_helpers import HOUR, earn, evidence, past_monday
from tests.factories import new_member

# --- verifying -----------------------------------------------------------------------------------


class TestVerifying:
    @pytest.mark.parametrize("form", ["code", "lower-case code", "json", "html"])
    def test_an_issued_certificate_is_valid(
        self, ledger: Ledger, service: Service, tmp_path: Path, form: str
    ) -> None:
        json_path, html_path = write_certificate(service.certificate, tmp_path)
        forms: dict[str, str | Path] = {
            "code": service.certificate.code,
            "lower-case code": service.certificate.code.lower().replace("-", " "),
            "json": json_path,
            "html": html_path,
        }
        given = forms[form]

        result = verify_certificate(ledger, given)

        assert result.problems == ()
        assert result.ok is True
        assert (result.code, result.member, result.signer, result.lines) == (
            service.certificate.code,
            service.member.address,
            ledger.operator("registrar").address,
            4,
        )

    def test_an_unknown_code_is_not_valid(self, ledger: Ledger) -> None:
        result = verify_certificate(ledger, "VPL-AAAA-BBBB-CCCC-DDDD")

        assert_fails(result, "no certificate with code VPL-AAAA-BBBB-CCCC-DDDD was issued here")

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.json", None, "neither a verification code"),
            ("broken.json", "{not json", "is not JSON"),
            ("page.html", "<html><body>志愿服务证明</body></html>", "carries no certificate"),
            ("binary.json", b"\xff\xfe\x00", "not UTF-8"),
        ],
    )
    def test_unreadable_input_is_an_input_error(
        self, ledger: Ledger, tmp_path: Path, name: str, content: str | bytes | None, message: str
    ) -> None:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif content is not None:
            path.write_bytes(content)

        with pytest.raises(InputError, match=message):
            verify_certificate(ledger, path)

    def test_json_that_is_no_certificate_is_not_valid(self, ledger: Ledger, tmp_path: Path) -> None:
        result = verify_document(ledger, {"type": "receipt", "total": 5}, tmp_path)

        assert_fails(result, "not a certificate of this ledger")


def _set_hours(doc: dict[str, Any]) -> None:
    doc["lines"][0]["hours"] = "3.00"


def _set_points(doc: dict[str, Any]) -> None:
    doc["lines"][0]["points"] = 99


def _set_content(doc: dict[str, Any]) -> None:
    doc["lines"][0]["content"] = "带领社区巡逻八小时"


def _set_details(doc: dict[str, Any]) -> None:
    doc["lines"][0]["details"]["hours"] = "8.00"


def _set_times(doc: dict[str, Any]) -> None:
    doc["lines"][0]["end"] = doc["lines"][1]["end"]


def _set_totals(doc: dict[str, Any]) -> None:
    for total in doc["totals"]["schemes"].values():
        total["points"] += 100


def _set_code(doc: dict[str, Any]) -> None:
    doc["code"] = "VPL-AAAA-BBBB-CCCC-DDDD"


def _remove_line(doc: dict[str, Any]) -> None:
    del doc["lines"][1]


#: What is altered, and what verification must say about it (line 1 is record `first`).
ALTERATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = {
    "hours": (
        _set_hours,
        ("hours '3.00' differs from the chain's '1.50'", ".hours: '1.50' → '3.00'"),
    ),
    "points": (_set_points, ("points 99 differs from the chain's 18", ".points: 18 → 99")),
    "content": (
        _set_content,
        ("content '带领社区巡逻八小时' is not what the record's details state",),
    ),
    "details": (_set_details, ("its details do not match the details hash on chain",)),
    "service time": (_set_times, ("differs from the chain's",)),
    "totals": (
        _set_totals,
        ("the totals do not add up: totals.schemes.", ".points is 162; the lines add up to 62"),
    ),
    "code": (_set_code, ("does not match its verification code VPL-AAAA-BBBB-CCCC-DDDD",)),
    "removed line": (_remove_line, ("removed", "the totals do not add up")),
}


class TestAlteredCertificates:
    @pytest.mark.parametrize("what", list(ALTERATIONS))
    def test_an_altered_certificate_fails_saying_what_changed(
        self, ledger: Ledger, service: Service, tmp_path: Path, what: str
    ) -> None:
        alter, expected = ALTERATIONS[what]
        document = fresh(service)
        alter(document)

        result = verify_document(ledger, document, tmp_path)

        assert_fails(result, "changed since it was issued as", *expected)
        if what != "code":
            assert_fails(result, "does not match its verification code", "the signature is not")
        else:  # the content is intact: only the code is wrong, the signature still holds
            assert result.signer == ledger.operator("registrar").address

    def test_a_removed_line_is_named_by_its_reference(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        document = fresh(service)
        _remove_line(document)

        result = verify_document(ledger, document, tmp_path)

        assert_fails(result, f"lines[record:{service.singles[1]}] removed")

    def test_a_page_whose_visible_text_was_altered_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        _, html_path = write_certificate(service.certificate, tmp_path)
        page = html_path.read_text(encoding="utf-8")
        altered = page.replace('<td class="num">1.50</td>', '<td class="num">9.50</td>', 1)
        assert altered != page
        html_path.write_text(altered, encoding="utf-8")

        result = verify_certificate(ledger, html_path)

        assert_fails(result, "the page was altered", "9.50")


class TestForgedCertificates:
    """Certificates signed by a key that may certify, whose lines the chain does not back."""

    def resealed(self, ledger: Ledger, document: dict[str, Any]) -> dict[str, Any]:
        return sign_certificate(document, ledger.operator("registrar"))

    def test_a_line_for_a_record_that_does_not_exist_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        document = fresh(service)
        document["lines"][0]["ref"] = "record:999999"

        result = verify_document(ledger, self.resealed(ledger, document), tmp_path)

        assert_fails(result, "line 1 (record:999999): there is no record 999999 on chain")

    def test_a_line_for_a_batch_record_that_does_not_exist_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        document = fresh(service)
        vol_batch = service.batches[0]
        document["lines"][2]["ref"] = f"batch:{vol_batch}#7"

        result = verify_document(ledger, self.resealed(ledger, document), tmp_path)

        assert_fails(result, f"line 3 (batch:{vol_batch}#7): batch {vol_batch} has no record #7")

    def test_a_line_for_someone_elses_record_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        theirs = create_certificate(
            ledger, **period(service, service.other), issuer=ledger.operator("registrar")
        )
        document = fresh(service)
        document["lines"].append(theirs.document["lines"][0])

        result = verify_document(ledger, self.resealed(ledger, document), tmp_path)

        assert_fails(
            result,
            f"line 5 (record:{service.other_record}): the record belongs to another volunteer "
            f"({service.other.address})",
        )

    def test_a_line_for_a_record_not_approved_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        document = fresh(service)
        document["lines"][0]["ref"] = f"record:{service.pending}"

        result = verify_document(ledger, self.resealed(ledger, document), tmp_path)

        assert_fails(result, "not approved (the record is pending)")

    def test_a_certificate_signed_by_an_unrelated_key_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        stranger = Account.create()
        document = fresh(service)
        document["issuer"] = stranger.address

        result = verify_document(ledger, sign_certificate(document, stranger), tmp_path)

        assert result.ok is False
        assert result.problems == (
            f"signed by an unknown key {stranger.address}: neither a registrar, an auditor nor "
            f"the issuer of {', '.join(sorted({service.vol.scheme.code, service.bee.scheme.code}))}",
        )

    def test_a_signature_by_another_key_than_the_stated_issuer_fails(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        document = sign_certificate(fresh(service), Account.create())  # issuer still the registrar

        result = verify_document(ledger, document, tmp_path)

        assert_fails(result, "the signature is not")


def test_a_certificate_whose_record_was_superseded_fails_and_a_new_one_has_the_correction(
    ledger: Ledger, service: Service, tmp_path: Path
) -> None:
    member = new_member(ledger)
    start = past_monday(ledger, weeks_back=1) + 10 * HOUR
    old = earn(ledger, service.vol, member.address, start, start + 2 * HOUR)
    registrar = ledger.operator("registrar")

    def certify() -> Certificate:
        day = cst_day(start)
        return create_certificate(
            ledger, member=member.address, start=day, end=day, issuer=registrar
        )

    before = certify()
    correction = ledger.earning.correct(
        submitter=service.vol.organiser, record_id=old, start=start, end=start + HOUR,
        evidence_hash=evidence(), content="实际服务一小时", reason="签到表记错",
    ).record.id  # fmt: skip
    ledger.earning.approve(reviewer=service.vol.reviewer, record_id=correction, grade="A")
    assert ledger.records.record(old).status is RecordStatus.SUPERSEDED

    result = verify_certificate(ledger, before.code)
    after = certify()

    assert result.problems == (
        f"line 1 (record:{old}): superseded by record {correction} (a correction)",
    )
    assert [line.ref for line in after.lines] == [f"record:{correction}"]
    assert (after.lines[0].points, after.document["totals"]["hours"]) == (12, "1.00")
    assert after.left_out == (f"record:{old}: superseded by record {correction} (a correction)",)
    assert verify_certificate(ledger, after.code).ok


def test_a_draft_is_sealed_only_by_its_issuers_signature_then_verified_by_code_or_text(
    ledger: Ledger, service: Service
) -> None:
    auditor = ledger.operator("auditor")
    draft = draft_certificate(ledger, **period(service), issuer=auditor.address)
    assert issued_like(ledger, draft) is None
    before = len(issued_to(ledger, service.member.address))
    stranger = Account.create().sign_message(encode_defunct(primitive=draft.digest))
    with pytest.raises(SignatureMismatch, match="digest"):
        seal_certificate(ledger, draft, "0x" + bytes(stranger.signature).hex())
    assert len(issued_to(ledger, service.member.address)) == before

    signed = auditor.sign_message(encode_defunct(primitive=draft.digest))
    certificate = seal_certificate(ledger, draft, "0x" + bytes(signed.signature).hex())
    assert certificate.created and certificate.issuer == auditor.address
    assert issued(ledger, certificate.code.lower()) == certificate.document
    assert issued_to(ledger, service.member.address)[0].code == certificate.code
    assert verify_code(ledger, certificate.code).ok
    assert verify_text(ledger, certificate.json_text()).ok
    assert verify_text(ledger, certificate.html()).ok
    again = draft_certificate(ledger, **period(service), issuer=auditor.address)
    found = issued_like(ledger, again)
    assert found is not None and (found.code, found.created) == (certificate.code, False)
    with pytest.raises(InputError, match="not a verification code"):
        verify_code(ledger, "/etc/passwd")
    with pytest.raises(RecordNotFound):
        verify_code(ledger, "VPL-AAAA-AAAA-AAAA-AAAA")
