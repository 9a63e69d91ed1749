"""Certificates of service (志愿服务证明): a member's approved service in a period, confirmed against
the chain, signed by a registrar or the schemes' issuer, kept in the store, and shown as a page.
Verifying them, and every altered or forged one failing saying why: test_certificates_verifying.py."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.earning.certificates.document import sign_certificate
from ledger.earning.certificates.issue import Certificate, create_certificate, write_certificate
from ledger.earning.certificates.verify import verify_certificate
from ledger.errors import AccessDenied, InputError, RecordNotFound
from ledger.ledger import Ledger
from ledger.store.records import canonical_json, details_hash
from ledger.values import CST
from tests.certificate_helpers import TRICKY, Service, cst_day, period, verify_document
from tests.earning_helpers import DETAILS, HOUR, earn, earning_scheme, past_monday
from tests.factories import new_member

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
        certificate = create_certificate(ledger, **period(service), issuer=service.vol.issuer)

        assert certificate.issuer == service.vol.issuer.address
        assert len(certificate.lines) == 4  # issuer-vol issues both schemes
        assert verify_certificate(ledger, certificate.code).ok

    def test_a_schemes_issuer_certifies_no_other_issuers_records(
        self, ledger: Ledger, service: Service, tmp_path: Path
    ) -> None:
        green = earning_scheme(ledger, issuer=ledger.operator("issuer-green"))
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
            create_certificate(ledger, **period(service), issuer=Account.create())

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
