"""Shared by the certificate specifications: one member's service over a week (single and batch
records in two schemes, a record outside the week, a pending one, another member's) with the
certificate the registrar issued for it; copies of it to alter, and verifying a document."""

from __future__ import annotations

import copy
import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ledger.earning.batch.pay import run_batch
from ledger.earning.batch.plan import plan_batch
from ledger.earning.certificates.document import document_json
from ledger.earning.certificates.issue import Certificate, create_certificate
from ledger.earning.certificates.verify import verify_certificate
from ledger.ledger import Ledger
from ledger.values import CST
from tests.earning_helpers import (
    DAY,
    DETAILS,
    HOUR,
    Earning,
    earn,
    earning_scheme,
    evidence,
    past_monday,
    submit,
)
from tests.factories import Member, new_member

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


def issued_service(ledger: Ledger, folder: Path) -> Service:
    """One member's service over a week two weeks ago, with its certificate issued by the
    registrar (batch files written in `folder`)."""
    vol, bee = earning_scheme(ledger), earning_scheme(ledger, fixed=True)
    member, other = new_member(ledger), new_member(ledger)
    monday = past_monday(ledger, weeks_back=2)
    day = [monday + n * DAY + 9 * HOUR for n in range(-1, 6)]  # day[1] is the Monday, 09:00
    before = earn(ledger, vol, member.address, day[0], day[0] + HOUR)  # outside the period
    first = earn(ledger, vol, member.address, day[1], day[1] + 90 * 60)  # A: 18 points
    second = earn(
        ledger, vol, member.address, day[2], day[2] + 2 * HOUR, grade="B", content=TRICKY
    )  # 20 points
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


def period(service: Service, member: Member | None = None) -> dict[str, Any]:
    """Whose certificate and for when: `member` (the service's own member unless given), over the
    service's week."""
    return {
        "member": (member or service.member).address,
        "start": service.first,
        "end": service.last,
    }


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
