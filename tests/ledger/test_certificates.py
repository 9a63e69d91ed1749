"""Certificates of service (志愿服务证明): a member's approved service in a period, confirmed against
the chain, signed, kept in the store; verified by code, by its JSON file or by its HTML page, and
every altered or forged certificate fails saying why."""

from __future__ import annotations

import copy
import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain.contracts import RecordStatus
from ledger.earning.batch import plan_batch, run_batch
from ledger.earning.certificates import (
    Certificate,
    create_certificate,
    document_json,
    draft_certificate,
    issued,
    issued_like,
    issued_to,
    seal_certificate,
    sign_certificate,
    verify_certificate,
    verify_code,
    verify_text,
    write_certificate,
)
from ledger.errors import AccessDenied, InputError, RecordNotFound, SignatureMismatch
from ledger.ledger import Ledger
from ledger.store.records import canonical_json, details_hash
from ledger.values import CST
from tests.earning_helpers import (
    DAY,
    DETAILS,
    HOUR,
    LOOSE,
    WUHAN,
    Earning,
    earn,
    earning_scheme,
    evidence,
    grant,
    past_monday,
    submit,
)
from tests.factories import Member, new_member, new_scheme

#: Text that must be escaped on the page (and that the details hash covers as it is).
TRICKY = '陪老人就医 <b>"代购"</b> & 取药 </script>'


def cst_day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, CST).date()


def pay_batch(
    ledger: Ledger, e: Earning, path: Path, rows: list[dict[str, str]], *, fixed: bool = False
) -> int:
    """Pay `rows` (volunteer, start, end, grade or action) as one batch; its id on chain."""
    columns = ["record_id", "volunteer", "start", "end", "action" if fixed else "grade"]
    columns += ["content", "evidence_hash", *DETAILS]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for number, row in enumerate(rows):
            writer.writerow(
                {
                    "record_id": f"{path.stem}-{number}",
                    "content": "社区巡查",
                    "evidence_hash": evidence(),
                    **DETAILS,
                    **row,
                }
            )
    plan = plan_batch(
        ledger, path, scheme=e.id, organiser=e.organiser.address, reviewer=e.reviewer.address
    )
    assert plan.errors == []
    report = run_batch(ledger, plan, organiser=e.organiser, reviewer=e.reviewer)
    assert len(report.batches) == 1
    return report.batches[0]


def at(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, CST).isoformat()


def scheme_of(ledger: Ledger, issuer: LocalAccount) -> Earning:
    """A duration scheme like ``earning_scheme``'s, issued by `issuer`."""
    scheme = new_scheme(ledger, issuer=issuer.address)
    ledger.publish_duration_rule(issuer=issuer, scheme=scheme.id, points_per_hour=10, grades=WUHAN)
    organiser = ledger.operator("issuer-bee")
    reviewers = (ledger.operator("reviewer-1"), ledger.operator("reviewer-2"))
    for role_name, account in (("organiser", organiser), ("reviewer", reviewers[0])):
        grant(ledger, scheme, role_name, account.address, issuer=issuer)
    ledger.earning.set_limits(issuer=issuer, scheme=scheme.id, limits=LOOSE)
    return Earning(scheme, issuer, organiser, reviewers, LOOSE)


@dataclass(frozen=True)
class Service:
    """One member's service over a week two weeks ago: single and batch records in two schemes."""

    member: Member
    other: Member
    vol: Earning
    bee: Earning
    singles: tuple[int, int]
    before_period: int
    pending: int
    other_record: int
    batches: tuple[int, int]
    first: date
    last: date
    certificate: Certificate


@pytest.fixture(scope="module")
def service(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Service:
    vol, bee = earning_scheme(ledger), earning_scheme(ledger, fixed=True)
    member, other = new_member(ledger), new_member(ledger)
    monday = past_monday(ledger, weeks_back=2)
    day = [monday + n * DAY + 9 * HOUR for n in range(-1, 6)]  # day[1] is the Monday, 09:00
    before = earn(ledger, vol, member.address, day[0], day[0] + HOUR)  # outside the period
    first = earn(ledger, vol, member.address, day[1], day[1] + 90 * 60)  # A: 18 points
    second = earn(
        ledger, vol, member.address, day[2], day[2] + 2 * HOUR, grade="B", content=TRICKY
    )  # 20 points
    folder = tmp_path_factory.mktemp("batches")
    vol_row = {"start": at(day[3]), "end": at(day[3] + 3 * HOUR), "grade": "C"}  # 24 points
    bee_row = {"start": at(day[4] + HOUR), "end": at(day[4] + HOUR + 20 * 60)}
    bee_row["action"] = "safety_hazard"  # 50 points, 20 minutes
    vol_batch = pay_batch(
        ledger, vol, folder / "vol.csv", [{"volunteer": member.address, **vol_row}]
    )
    bee_batch = pay_batch(
        ledger, bee, folder / "bee.csv", [{"volunteer": member.address, **bee_row}], fixed=True
    )
    pending = submit(ledger, vol, member.address, day[5], day[5] + HOUR).record.id
    other_record = earn(ledger, vol, other.address, day[1], day[1] + HOUR)
    period = (cst_day(day[1]), cst_day(day[5]))
    certificate = create_certificate(
        ledger,
        member=member.address,
        start=period[0],
        end=period[1],
        issuer=ledger.operator("registrar"),
    )
    return Service(
        member=member,
        other=other,
        vol=vol,
        bee=bee,
        singles=(first, second),
        before_period=before,
        pending=pending,
        other_record=other_record,
        batches=(vol_batch, bee_batch),
        first=period[0],
        last=period[1],
        certificate=certificate,
    )


def fresh(service: Service) -> dict[str, Any]:
    """A copy of the certificate's document to alter."""
    return copy.deepcopy(service.certificate.document)


def verify_document(ledger: Ledger, document: dict[str, Any], folder: Path) -> Any:
    path = folder / "certificate.json"
    path.write_text(document_json(document), encoding="utf-8")
    return verify_certificate(ledger, path)


def assert_fails(result: Any, *expected: str) -> None:
    """Invalid, and each of `expected` appears in one of the problems."""
    assert result.ok is False
    for text in expected:
        assert any(text in p for p in result.problems), (text, result.problems)


# --- issuing -------------------------------------------------------------------------------------


class TestIssuing:
    def test_a_certificate_lists_the_members_approved_single_and_batch_records(
        self, service: Service
    ) -> None:
        first, second = service.singles
        vol_batch, bee_batch = service.batches

        lines = service.certificate.lines

        assert [line.ref for line in lines] == [
            f"record:{first}",
            f"record:{second}",
            f"batch:{vol_batch}#0",
            f"batch:{bee_batch}#0",
        ]
        assert [line.points for line in lines] == [18, 20, 24, 50]
        assert [line.scheme for line in lines] == [service.vol.scheme.code] * 3 + [
            service.bee.scheme.code
        ]
        assert lines[3].action == "safety_hazard"
        assert service.certificate.created is True

    def test_the_totals_give_hours_and_points_per_scheme(self, service: Service) -> None:
        vol, bee = service.vol.scheme.code, service.bee.scheme.code

        totals = service.certificate.document["totals"]

        assert totals == {
            "records": 4,
            "hours": "6.83",
            "schemes": {
                vol: {"records": 3, "hours": "6.50", "points": 62},
                bee: {"records": 1, "hours": "0.33", "points": 50},
            },
        }

    def test_records_outside_the_period_or_not_approved_or_of_others_are_left_out(
        self, service: Service
    ) -> None:
        refs = {line.ref for line in service.certificate.lines}

        assert f"record:{service.before_period}" not in refs
        assert f"record:{service.other_record}" not in refs
        assert f"record:{service.pending}" not in refs
        assert service.certificate.left_out == (
            f"record:{service.pending}: not approved (the record is pending)",
        )

    def test_each_line_states_what_the_rules_require_and_carries_the_details(
        self, ledger: Ledger, service: Service
    ) -> None:
        line = service.certificate.document["lines"][1]
        record = ledger.records.record(service.singles[1])

        assert {k: line[k] for k in ("date", "hours", "content", *DETAILS)} == {
            "date": cst_day(record.start).isoformat(),
            "hours": "2.00",
            "content": TRICKY,
            **DETAILS,
        }
        assert line["start"] == datetime.fromtimestamp(record.start, CST).isoformat()
        assert details_hash(line["details"]) == record.details_hash
        assert line["details_hash"] == "0x" + record.details_hash.hex()
        assert line["details"]["volunteer"] == service.member.address

    def test_the_code_is_taken_from_the_digest_and_the_issuer_signs_the_digest(
        self, ledger: Ledger, service: Service
    ) -> None:
        document = service.certificate.document
        body = {k: v for k, v in document.items() if k not in ("code", "signature")}
        digest = keccak(canonical_json(body))

        assert service.certificate.digest == digest
        assert re.fullmatch(r"VPL(-[A-Z2-7]{4}){4}", document["code"])
        signer = Account.recover_message(
            encode_defunct(primitive=digest), signature=bytes.fromhex(document["signature"][2:])
        )
        assert signer == document["issuer"] == ledger.operator("registrar").address

    def test_asking_again_returns_the_certificate_already_issued(
        self, ledger: Ledger, service: Service
    ) -> None:
        again = create_certificate(
            ledger,
            member=service.member.address,
            start=service.first.isoformat(),
            end=service.last.isoformat(),
            issuer=ledger.operator("registrar"),
        )

        assert again.created is False
        assert again.code == service.certificate.code
        assert again.document == service.certificate.document

    def test_a_schemes_issuer_certifies_its_own_schemes_records(
        self, ledger: Ledger, service: Service
    ) -> None:
        certificate = create_certificate(
            ledger,
            member=service.member.address,
            start=service.first,
            end=service.last,
            issuer=service.vol.issuer,
        )

        assert certificate.issuer == service.vol.issuer.address
        assert len(certificate.lines) == 4  # issuer-vol issues both schemes
        assert verify_certificate(ledger, certificate.code).ok

    def test_a_schemes_issuer_certifies_no_other_issuers_records(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        green = scheme_of(ledger, ledger.operator("issuer-green"))
        member = new_member(ledger)
        start = past_monday(ledger, weeks_back=1) + 8 * HOUR
        mine = earn(ledger, service.vol, member.address, start, start + HOUR)
        theirs = earn(ledger, green, member.address, start + 2 * HOUR, start + 3 * HOUR)

        def certify(issuer: LocalAccount) -> Certificate:
            day = cst_day(start)
            return create_certificate(
                ledger, member=member.address, start=day, end=day, issuer=issuer
            )

        by_vol = certify(service.vol.issuer)
        by_registrar = certify(ledger.operator("registrar"))
        claimed = sign_certificate(
            {**by_registrar.document, "issuer": service.vol.issuer.address}, service.vol.issuer
        )

        assert [line.ref for line in by_vol.lines] == [f"record:{mine}"]
        assert by_vol.left_out == (
            f"record:{theirs}: a record of {green.scheme.code}, which only its issuer, a "
            "registrar or an auditor certifies",
        )
        assert [line.ref for line in by_registrar.lines] == [f"record:{mine}", f"record:{theirs}"]
        assert verify_document(ledger, claimed, tmp_path).problems == (
            f"signed by {service.vol.issuer.address}, the issuer of {service.vol.scheme.code}, "
            f"who may not certify records of {green.scheme.code}",
        )

    def test_a_key_that_certifies_nothing_is_refused(
        self, ledger: Ledger, service: Service
    ) -> None:
        with pytest.raises(AccessDenied, match="may not issue certificates"):
            create_certificate(
                ledger,
                member=service.member.address,
                start=service.first,
                end=service.last,
                issuer=Account.create(),
            )

    def test_a_period_without_approved_service_has_nothing_to_certify(
        self, ledger: Ledger, service: Service
    ) -> None:
        with pytest.raises(RecordNotFound, match="no approved service records"):
            create_certificate(
                ledger,
                member=service.member.address,
                start="2001-01-01",
                end="2001-01-31",
                issuer=ledger.operator("registrar"),
            )

    @pytest.mark.parametrize(
        ("start", "end", "message"),
        [
            ("2026-11-30", "2026-11-01", "ends"),
            ("November", "2026-11-30", "is not a date"),
        ],
    )
    def test_a_bad_period_is_refused(
        self, ledger: Ledger, service: Service, start: str, end: str, message: str
    ) -> None:
        with pytest.raises(InputError, match=message):
            create_certificate(
                ledger,
                member=service.member.address,
                start=start,
                end=end,
                issuer=ledger.operator("registrar"),
            )

    def test_the_page_escapes_all_text_and_embeds_the_certificate(
        self, service: Service, tmp_path: Path
    ) -> None:
        _, html_path = write_certificate(service.certificate, tmp_path)
        page = html_path.read_text(encoding="utf-8")

        assert "<title>志愿服务证明 " in page and "<h1>志愿服务证明</h1>" in page
        assert "<b>" not in page
        assert page.count("</script>") == 1
        assert "陪老人就医 &lt;b&gt;&quot;代购&quot;&lt;/b&gt; &amp; 取药 &lt;/script&gt;" in page
        assert service.certificate.code in page
        embedded = re.search(
            r'<script type="application/json" id="certificate">(.*?)</script>', page, re.S
        )
        assert embedded is not None
        assert json.loads(embedded.group(1)) == service.certificate.document


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
            ledger,
            member=service.other.address,
            start=service.first,
            end=service.last,
            issuer=ledger.operator("registrar"),
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
    draft = draft_certificate(
        ledger,
        member=service.member.address,
        start=service.first,
        end=service.last,
        issuer=auditor.address,
    )
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
    again = draft_certificate(
        ledger,
        member=service.member.address,
        start=service.first,
        end=service.last,
        issuer=auditor.address,
    )
    found = issued_like(ledger, again)
    assert found is not None and (found.code, found.created) == (certificate.code, False)
    with pytest.raises(InputError, match="not a verification code"):
        verify_code(ledger, "/etc/passwd")
    with pytest.raises(RecordNotFound):
        verify_code(ledger, "VPL-AAAA-AAAA-AAAA-AAAA")
