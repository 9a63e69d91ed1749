"""Shared by the batch-issuance specifications (the ledger, the API and the CLI): CSV files of
service records in the upload format, and a scheme ready to pay them (its rule, limits, organiser,
reviewer and members) with what a test reads back."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlmodel import col, func, select

from ledger.chain.contracts import Limits, Scheme
from ledger.earning.batch.pay import BatchReport, run_batch
from ledger.earning.batch.plan import plan_batch
from ledger.earning.batch.rows import BatchPlan
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.records import RecordDetails
from ledger.values import CST
from tests.earning_helpers import CST_OFFSET, DAY, WUHAN, day_of, now
from tests.factories import new_member, new_scheme

#: The columns of an upload, in the order the tests write them.
HEADER = [
    "record_id", "volunteer", "start", "end", "grade", "activity", "place", "content",
    "organising_unit", "person_in_charge", "evidence_hash",
]  # fmt: skip
#: Limits a day's file of an hour or two per member stays within.
LIMITS = Limits(6, 720, 10_000, 50_000, 1_000_000, 10)


def iso(timestamp: int) -> str:
    """`timestamp` as an ISO date and time to the minute, in China Standard Time."""
    return datetime.fromtimestamp(timestamp, CST).isoformat(timespec="minutes")


def yesterday(ledger: Ledger) -> int:
    """Midnight (CST) of yesterday, on chain time."""
    return (day_of(now(ledger)) - 1) * DAY - CST_OFFSET


def batch_row(
    key: str,
    member: str,
    start: str,
    end: str,
    grade: str = "B",
    *,
    activity: str = "助老送餐",
    content: str = "为独居老人送午餐",
) -> list[str]:
    """One row of an upload: the record `key` of `member`, from `start` to `end` as written, with
    fresh evidence."""
    return [
        key, member, start, end, grade, activity, "百瑞景社区", content, "百瑞景社区居委会",
        "王主任", "0x" + os.urandom(32).hex(),
    ]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    """`rows` under `header` in the CSV file `path`; the path."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    """`rows` under `header` as the text of a CSV file (an upload's body)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@dataclass
class BatchSetup:
    """A scheme of issuer-vol (10 points an hour, Wuhan grades, `LIMITS`) with issuer-bee as its
    organiser and reviewer-1 as its reviewer, and fresh members to pay."""

    ledger: Ledger
    scheme: Scheme
    organiser: LocalAccount
    reviewer: LocalAccount
    members: list[str]
    #: Midnight (CST) of yesterday, on chain time.
    yesterday: int

    def row(
        self, key: str, member: str, start: int, minutes: int = 60, grade: str = "B"
    ) -> list[str]:
        return batch_row(key, member, iso(start), iso(start + minutes * 60), grade)

    def write(self, path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
        return write_csv(path, rows, header)

    def plan(self, path: Path) -> BatchPlan:
        return plan_batch(
            self.ledger,
            path,
            scheme=self.scheme.id,
            organiser=self.organiser.address,
            reviewer=self.reviewer.address,
        )

    def pay(self, path: Path, **kwargs: Any) -> BatchReport:
        plan = self.plan(path)
        return run_batch(
            self.ledger, plan, organiser=self.organiser, reviewer=self.reviewer, **kwargs
        )

    def balances(self) -> list[int]:
        return [self.ledger.points.balance_of(m, self.scheme.id) for m in self.members]

    def stored(self) -> int:
        with session(self.ledger.engine) as db:
            return int(
                db.exec(
                    select(func.count()).where(col(RecordDetails.scheme_id) == self.scheme.id)
                ).one()
            )


def new_batch_setup(ledger: Ledger, *, members: int = 5) -> BatchSetup:
    """A fresh `BatchSetup` on `ledger` with `members` fresh members."""
    issuer = ledger.operator("issuer-vol")
    scheme = new_scheme(ledger, issuer=issuer.address, quota=10_000_000)
    ledger.publish_duration_rule(issuer=issuer, scheme=scheme.id, points_per_hour=10, grades=WUHAN)
    organiser, reviewer = ledger.operator("issuer-bee"), ledger.operator("reviewer-1")
    for name, account in (("organiser", organiser), ("reviewer", reviewer)):
        ledger.set_scheme_role(
            issuer=issuer, scheme=scheme.id, role_name=name, account=account.address, grant=True
        )
    ledger.earning.set_limits(issuer=issuer, scheme=scheme.id, limits=LIMITS)
    paid = [new_member(ledger).address for _ in range(members)]
    return BatchSetup(ledger, scheme, organiser, reviewer, paid, yesterday(ledger))
