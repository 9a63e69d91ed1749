"""Batch issuance from a CSV file (`vpl issue batch`): every bad row reported with its line number
and nothing written; only the good rows with the flag; chunks on chain; idempotent and resumable
after an interruption at any point; and the contract's own refusals of a batch."""

from __future__ import annotations

import csv
import os
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.chain.contracts import BatchStatus
from ledger.chain.contracts.packed_records import pack_records, records_hash
from ledger.earning.batch.pay import run_batch, submit_chunks
from ledger.earning.batch.plan import plan_batch
from ledger.earning.certificates.issue import create_certificate
from ledger.errors import (
    EarningRefused,
    InputError,
    InvalidRequest,
    InvalidRows,
    NotAuthorized,
    StateConflict,
)
from ledger.ledger import Ledger
from ledger.values import CST
from tests.batch_helpers import HEADER, BatchSetup, iso
from tests.contracts.refusals import reverts
from tests.earning_helpers import (
    CST_OFFSET,
    DAY,
    HOUR,
    clear_of_boundary,
    day_of,
    last_refusal_id,
    now,
    refusals_since,
)


def test_the_organiser_submits_first_and_a_reviewer_alone_pays_each_chunk_once(
    batch: BatchSetup, tmp_path: Path
) -> None:
    s = batch
    path = s.write(
        tmp_path / "two-steps.csv",
        [s.row(f"T-{i}", m, s.yesterday + 9 * 3600) for i, m in enumerate(s.members[:3])],
    )
    with pytest.raises(InputError, match="not submitted yet"):
        run_batch(s.ledger, s.plan(path), organiser=None, reviewer=s.reviewer, chunk_size=2)
    assert s.balances()[:3] == [0, 0, 0]
    submission = submit_chunks(s.ledger, s.plan(path), organiser=s.organiser, chunk_size=2)
    assert len(submission.batches) == len(submission.transactions) == 2
    again = submit_chunks(s.ledger, s.plan(path), organiser=s.organiser, chunk_size=2)
    assert (again.batches, again.transactions, again.resumed_chunks) == (submission.batches, [], 2)
    assert s.balances()[:3] == [0, 0, 0]
    report = run_batch(s.ledger, s.plan(path), organiser=None, reviewer=s.reviewer, chunk_size=2)
    assert (report.paid_records, report.batches) == (3, submission.batches)
    assert s.balances()[:3] == [10, 10, 10]


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(
    batch: BatchSetup, ledger: Ledger, tmp_path: Path
) -> None:
    s = batch
    stranger = "0x" + secrets.token_hex(20)
    good = s.row("ok-1", s.members[0], s.yesterday + 9 * 3600)
    negative = s.row("neg", s.members[1], s.yesterday + 9 * 3600)
    negative[3] = iso(s.yesterday + 8 * 3600)  # ends before it starts
    duplicate = s.row("ok-1", s.members[2], s.yesterday + 9 * 3600)
    unknown = s.row("who", stranger, s.yesterday + 9 * 3600)
    bad_grade = s.row("grade", s.members[3], s.yesterday + 9 * 3600, grade="Z")
    path = s.write(tmp_path / "bad.csv", [good, negative, duplicate, unknown, bad_grade])
    with path.open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow([*s.row("wrong", s.members[4], s.yesterday + 9 * 3600), "GREEN"])
    before = (s.balances(), s.stored(), ledger.records.batch_count())

    plan = s.plan(path)
    lines = {e.line: e.message for e in plan.errors}
    assert set(lines) == {3, 4, 5, 6, 7}
    assert "end after start" in lines[3]
    assert "duplicate row" in lines[4] and "line 2" in lines[4]
    assert "not a registered member" in lines[5]
    assert "grade Z" in lines[6]
    assert "more fields than the header" in lines[7]
    with pytest.raises(InvalidRows) as info:
        run_batch(ledger, plan, organiser=s.organiser, reviewer=s.reviewer)
    assert "5 bad row(s)" in str(info.value) and "line 5" in str(info.value)
    assert [r["line"] for r in info.value.details["rows"]] == [3, 4, 5, 6, 7]
    assert (s.balances(), s.stored(), ledger.records.batch_count()) == before


def test_a_row_of_another_scheme_is_refused(batch: BatchSetup, tmp_path: Path) -> None:
    s = batch
    header = [*HEADER, "scheme"]
    rows = [[*s.row("x", s.members[0], s.yesterday + 9 * 3600), "NOPE"]]
    plan = s.plan(s.write(tmp_path / "scheme.csv", rows, header))
    assert "scheme NOPE is not" in plan.errors[0].message


def test_missing_columns_and_bad_encoding_are_refused(batch: BatchSetup, tmp_path: Path) -> None:
    s = batch
    short = s.write(tmp_path / "short.csv", [["r1", s.members[0]]], ["record_id", "volunteer"])
    with pytest.raises(InvalidRows, match="lacks the column"):
        s.plan(short)
    latin = tmp_path / "latin.csv"
    good = s.write(tmp_path / "good.csv", [s.row("enc", s.members[0], s.yesterday + 9 * 3600)])
    latin.write_bytes(good.read_bytes().replace("助老送餐".encode(), "caf\xe9".encode("latin-1")))
    plan = s.plan(latin)
    assert [(e.line, "not UTF-8" in e.message) for e in plan.errors] == [(2, True)]
    with pytest.raises(InputError, match="cannot read"):
        s.plan(tmp_path / "missing.csv")


def test_only_good_rows_are_paid_with_the_flag(batch: BatchSetup, tmp_path: Path) -> None:
    s = batch
    bad = s.row("bad", s.members[1], s.yesterday + 9 * 3600)
    bad[10] = "0x1234"
    rows = [s.row("good", s.members[0], s.yesterday + 9 * 3600), bad]
    report = s.pay(s.write(tmp_path / "mixed.csv", rows), only_good_rows=True)
    assert report.paid_records == 1
    assert [e.line for e in report.bad_rows] == [3]
    assert s.balances()[:2] == [10, 0]


def test_running_a_file_again_pays_nothing_twice(batch: BatchSetup, tmp_path: Path) -> None:
    s = batch
    rows = [s.row(f"R-{i}", m, s.yesterday + 9 * 3600) for i, m in enumerate(s.members)]
    path = s.write(tmp_path / "again.csv", rows)
    s.pay(path, chunk_size=2)
    balances = s.balances()
    again = s.pay(path, chunk_size=2)
    assert again.paid_records == 0
    assert len(again.skipped) == 5
    assert all("already paid" in k.reason for k in again.skipped)
    assert s.balances() == balances


def test_an_interrupted_run_finishes_on_the_next_and_pays_each_record_once(
    batch: BatchSetup, tmp_path: Path
) -> None:
    s = batch
    rows = [s.row(f"I-{i}", m, s.yesterday + 9 * 3600) for i, m in enumerate(s.members)]
    path = s.write(tmp_path / "killed.csv", rows)

    def kill_after_first_chunk(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        s.pay(path, chunk_size=2, progress=kill_after_first_chunk)
    after = s.balances()
    # the later chunks were in flight when the run stopped: they land, or were never sent
    assert after[:2] == [10, 10] and set(after[2:]) <= {0, 10}, after

    report = s.pay(path, chunk_size=2)
    assert s.balances() == [10] * 5
    skipped = {k.record_id for k in report.skipped}
    assert {"I-0", "I-1"} <= skipped
    assert report.paid_records + len(skipped) == 5, (report.paid_records, skipped)


def test_a_chunk_submitted_but_not_approved_is_approved_on_the_next_run(
    batch: BatchSetup, tmp_path: Path
) -> None:
    """Killed between the organiser's submission and the reviewer's approval."""
    s = batch
    rows = [s.row(f"S-{i}", m, s.yesterday + 9 * 3600) for i, m in enumerate(s.members[:2])]
    path = s.write(tmp_path / "half.csv", rows)
    plan = s.plan(path)

    def submit_only(done: int, total: int) -> None:
        raise KeyboardInterrupt

    # The organiser's thread may submit before the interruption; submit by hand to be sure.
    with pytest.raises(KeyboardInterrupt):
        run_batch(s.ledger, plan, organiser=s.organiser, reviewer=s.reviewer, progress=submit_only)
    data = pack_records(r.packed() for r in plan.rows)
    if s.ledger.records.batch_of(records_hash(data)) == 0:
        s.ledger.records.submit_batch(s.organiser, s.scheme.id, records_hash(data), 2)
    assert s.balances()[:2] == [0, 0]

    report = s.pay(path)
    assert report.resumed_chunks == 1
    assert s.balances()[:2] == [10, 10]


def test_rows_that_break_the_anti_farming_rules_are_refused_before_anything_is_sent(
    batch: BatchSetup, tmp_path: Path
) -> None:
    s = batch
    m = s.members[0]
    rows = [
        s.row("t1", m, s.yesterday + 9 * 3600),
        s.row("t2", m, s.yesterday + 9 * 3600 + 1800),  # overlaps t1
        s.row("t3", s.organiser.address, s.yesterday + 9 * 3600),  # the organiser's own
    ]
    rows += [s.row(f"c{i}", s.members[1], s.yesterday + (8 + i) * 3600, 30) for i in range(7)]
    plan = s.plan(s.write(tmp_path / "farm.csv", rows))
    messages = {e.line: e.message for e in plan.errors}
    assert "before the end of this volunteer's previous paid service" in messages[3]
    assert "four eyes" in messages[4]
    assert "6 records per day" in messages[11]
    assert len(plan.rows) == 7


def test_a_late_row_must_go_through_single_review(batch: BatchSetup, tmp_path: Path) -> None:
    s = batch
    rows = [s.row("late", s.members[0], s.yesterday - 20 * 86400 + 9 * 3600)]
    plan = s.plan(s.write(tmp_path / "late.csv", rows))
    assert "entered late" in plan.errors[0].message


def test_evidence_backing_another_record_is_refused(batch: BatchSetup, tmp_path: Path) -> None:
    s = batch
    first = s.row("e1", s.members[0], s.yesterday + 9 * 3600)
    s.pay(s.write(tmp_path / "one.csv", [first]))
    reused = s.row("e2", s.members[1], s.yesterday + 9 * 3600)
    reused[10] = first[10]
    plan = s.plan(s.write(tmp_path / "two.csv", [reused]))
    assert "already backs record e1" in plan.errors[0].message


class TestTheContractRefuses:
    """The same rules hold for anyone who talks to ServiceRecords directly."""

    def submit(self, s: BatchSetup, key: str, tmp_path: Path) -> tuple[int, bytes]:
        """Submit (not approve) a batch of one record `key` of the first member, yesterday."""
        rows = [s.row(key, s.members[0], s.yesterday + 9 * 3600)]
        plan = s.plan(s.write(tmp_path / f"{secrets.token_hex(4)}.csv", rows))
        data = pack_records(r.packed() for r in plan.rows)
        result = s.ledger.records.submit_batch(
            s.organiser, s.scheme.id, records_hash(data), len(plan.rows)
        )
        return s.ledger.records.submitted_batch_id(result), data

    def version(self, s: BatchSetup) -> int:
        return s.ledger.rules.current_version(s.scheme.id)

    def test_a_record_past_the_late_limit_is_refused_and_one_on_it_is_paid(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        """The ledger finds the first day whose services are not late once a batch (not per
        record): a record ending on that day is paid, one ending the day before is refused."""
        s = batch
        records = s.ledger.records
        late = s.ledger.earning.limits(s.scheme.id).late_working_days
        clear_of_boundary(s.ledger, DAY, offset=CST_OFFSET)  # submitted on the day read here
        submitted_day = day_of(now(s.ledger))
        first = submitted_day
        while records.working_days_between(first - 1, submitted_day) <= late:
            first -= 1
        assert records.working_days_between(first - 1, submitted_day) == late + 1
        [template] = s.plan(
            s.write(tmp_path / "late.csv", [s.row("lt", s.members[2], s.yesterday + 9 * 3600)])
        ).rows
        version = self.version(s)
        for n, end_day in enumerate((first - 1, first)):
            start = end_day * DAY - CST_OFFSET + (9 + n) * HOUR
            packed = replace(
                template.packed(),
                start=start,
                end=start + HOUR,
                details_hash=secrets.token_bytes(32),
                evidence_hash=secrets.token_bytes(32),
            )
            data = pack_records([packed])
            batch_id = records.submitted_batch_id(
                records.submit_batch(s.organiser, s.scheme.id, records_hash(data), 1)
            )
            if end_day < first:
                args = {"index": 0, "problem": 4, "detail": start + HOUR}  # Problem.Late
                with reverts(EarningRefused, "PointsBatchRefused", args):
                    records.approve_batch(s.reviewer, batch_id, version, data)
                assert records.batch(batch_id).status is BatchStatus.SUBMITTED
            else:
                records.approve_batch(s.reviewer, batch_id, version, data)
                assert records.batch(batch_id).status is BatchStatus.APPROVED

    def test_the_submitter_approving_their_own_batch(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        issuer = s.ledger.operator("issuer-vol")
        s.ledger.set_scheme_role(
            issuer=issuer,
            scheme=s.scheme.id,
            role_name="reviewer",
            account=s.organiser.address,
            grant=True,
        )
        batch_id, data = self.submit(s, "own", tmp_path)
        with reverts(
            NotAuthorized, "RecordsSelfReview", {"recordId": 0, "reviewer": s.organiser.address}
        ):
            s.ledger.records.approve_batch(s.organiser, batch_id, self.version(s), data)

    def test_records_other_than_the_submitted_ones(self, batch: BatchSetup, tmp_path: Path) -> None:
        s = batch
        batch_id, data = self.submit(s, "m1", tmp_path)
        forged = (
            data[:24] + (int.from_bytes(data[24:29], "big") - 60).to_bytes(5, "big") + data[29:]
        )
        with reverts(InvalidRequest, "RecordsBatchMismatch", {"batchId": batch_id}):
            s.ledger.records.approve_batch(s.reviewer, batch_id, self.version(s), forged)
        assert s.ledger.records.batch(batch_id).status is BatchStatus.SUBMITTED

    def test_a_rejected_batch_pays_nothing(self, batch: BatchSetup, tmp_path: Path) -> None:
        s = batch
        batch_id, data = self.submit(s, "rj", tmp_path)
        s.ledger.records.reject_batch(s.reviewer, batch_id, 1)
        assert s.ledger.records.batch(batch_id).status is BatchStatus.REJECTED
        with reverts(StateConflict, "RecordsBatchClosed", {"batchId": batch_id, "status": 3}):
            s.ledger.records.approve_batch(s.reviewer, batch_id, self.version(s), data)
        assert s.balances()[0] == 0

    def test_a_volunteer_in_their_reviewers_batch(self, batch: BatchSetup, tmp_path: Path) -> None:
        s = batch
        batch_id, data = self.submit(s, "rv", tmp_path)
        # a reviewer who is the volunteer of the record: rebuild the record with their address
        swapped = bytes.fromhex(s.reviewer.address[2:]) + data[20:]
        other_id = s.ledger.records.submitted_batch_id(
            s.ledger.records.submit_batch(s.organiser, s.scheme.id, records_hash(swapped), 1)
        )
        with reverts(
            EarningRefused,
            "PointsBatchRefused",
            {"index": 0, "problem": 1, "detail": int(s.reviewer.address, 16)},
        ):
            s.ledger.records.approve_batch(s.reviewer, other_id, self.version(s), swapped)
        assert s.ledger.records.batch(batch_id).status is BatchStatus.SUBMITTED

    def test_a_stranger_cannot_submit_or_approve(self, batch: BatchSetup, tmp_path: Path) -> None:
        s = batch
        stranger = s.ledger.operator("merchant-1")
        with reverts(
            NotAuthorized,
            "RecordsUnauthorized",
            {"schemeId": s.scheme.id, "account": stranger.address},
        ):
            s.ledger.records.submit_batch(stranger, s.scheme.id, secrets.token_bytes(32), 1)
        batch_id, data = self.submit(s, "sg", tmp_path)
        with reverts(
            NotAuthorized,
            "RecordsUnauthorized",
            {"schemeId": s.scheme.id, "account": stranger.address},
        ):
            s.ledger.records.approve_batch(stranger, batch_id, self.version(s), data)

    def test_a_stale_rule_version_and_a_closed_batch(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        batch_id, data = self.submit(s, "st", tmp_path)
        version = self.version(s)
        with reverts(StateConflict, "RecordsStaleRule", {"given": version + 1, "current": version}):
            s.ledger.records.approve_batch(s.reviewer, batch_id, version + 1, data)
        s.ledger.records.approve_batch(s.reviewer, batch_id, version, data)
        with reverts(StateConflict, "RecordsBatchClosed", {"batchId": batch_id, "status": 2}):
            s.ledger.records.approve_batch(s.reviewer, batch_id, version, data)
        with reverts(StateConflict, "RecordsBatchClosed", {"batchId": batch_id, "status": 2}):
            s.ledger.records.reject_batch(s.reviewer, batch_id, 1)
        assert s.balances()[0] == 10

    def test_the_same_records_cannot_be_submitted_twice(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        batch_id, data = self.submit(s, "tw", tmp_path)
        digest = records_hash(data)
        with reverts(
            StateConflict,
            "RecordsBatchKnown",
            {"recordsHash": "0x" + digest.hex(), "batchId": batch_id},
        ):
            s.ledger.records.submit_batch(s.organiser, s.scheme.id, digest, 1)


class TestCorrectingABatchRecord:
    """A record paid in a batch is corrected like any record, after it gets an id of its own."""

    def test_import_then_correct_moves_the_points_and_supersedes_it(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        rows = [
            s.row(f"C-{i}", m, s.yesterday + 9 * 3600, 90, "A") for i, m in enumerate(s.members[:2])
        ]
        report = s.pay(s.write(tmp_path / "c.csv", rows))
        batch_id = report.batches[0]
        assert s.balances()[:2] == [18, 18]

        organiser = s.organiser
        record_id = s.ledger.earning.import_batch_record(
            account=organiser, batch_id=batch_id, index=1
        )
        again = s.ledger.earning.import_batch_record(account=organiser, batch_id=batch_id, index=1)
        assert again == record_id
        imported = s.ledger.records.record(record_id)
        assert (imported.volunteer, imported.points, imported.reviewer) == (
            s.members[1],
            18,
            s.reviewer.address,
        )
        # its details are those the batch stored
        assert (
            s.ledger.earning.details(record_id=record_id, viewer=s.members[1])["record_id"] == "C-1"
        )

        view = s.ledger.earning.correct(
            submitter=organiser,
            record_id=record_id,
            start=s.yesterday + 9 * 3600,
            end=s.yesterday + 9 * 3600 + 3600,
            evidence_hash=os.urandom(32),
            content="实际服务一小时",
            reason="end time was wrong",
        )
        s.ledger.earning.approve(reviewer=s.reviewer, record_id=view.record.id, grade="A")
        assert s.balances()[:2] == [18, 12]  # 60 min x 10/h x 1.2
        assert s.ledger.records.record(record_id).status.name == "SUPERSEDED"
        assert (
            s.ledger.points.standing(s.members[1], s.scheme.id).last_end == s.yesterday + 10 * 3600
        )

        day = datetime.fromtimestamp(s.yesterday + 12 * 3600, CST).date()
        certificate = create_certificate(
            s.ledger, member=s.members[1], start=day, end=day, issuer=s.ledger.operator("registrar")
        )
        assert [line.points for line in certificate.lines] == [12]
        assert any(
            why.startswith(f"record:{record_id}:") and "superseded" in why
            for why in certificate.left_out
        )

    def test_an_index_past_the_batch_and_forged_records_are_refused(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        report = s.pay(
            s.write(tmp_path / "d.csv", [s.row("D-0", s.members[0], s.yesterday + 9 * 3600)])
        )
        batch_id = report.batches[0]
        data = pack_records(s.ledger.records.batch_records(batch_id))
        with reverts(
            InvalidRequest, "RecordsBatchIndex", {"batchId": batch_id, "index": 1, "count": 1}
        ):
            s.ledger.records.import_batch_record(s.organiser, batch_id, 1, data)
        forged = data[:30] + bytes([data[30] ^ 1]) + data[31:]
        with reverts(InvalidRequest, "RecordsBatchMismatch", {"batchId": batch_id}):
            s.ledger.records.import_batch_record(s.organiser, batch_id, 0, forged)
        assert s.ledger.records.batch_record_id(batch_id, 0) == 0


class TestTheReviewersRules:
    """What approveBatch checks of the reviewer is checked before anything is submitted, from
    the parameters the contract reads (issue 18: a run over the cap left submitted chunks and a
    reverted approval on chain)."""

    def test_a_file_over_the_reviewers_hourly_cap_is_refused_whole(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        clear_of_boundary(s.ledger, HOUR, margin=600)
        s.ledger.earning.set_reviewer_cap(
            issuer=s.ledger.operator("issuer-vol"),
            scheme=s.scheme.id,
            reviewer=s.reviewer.address,
            per_hour=3,
        )
        s.pay(s.write(tmp_path / "first.csv", [s.row("h0", s.members[0], s.yesterday + 8 * HOUR)]))
        rows = [s.row(f"h{i}", m, s.yesterday + 9 * HOUR) for i, m in enumerate(s.members[1:4], 1)]
        path = s.write(tmp_path / "over.csv", rows)
        plan = s.plan(path)
        [summary] = [e for e in plan.errors if e.line == 1]
        assert (
            f"the reviewer {s.reviewer.address} has used 1 of their 3 approvals this hour"
            in summary.message
        )
        assert "the 3 records to pay need 3 more, 1 over the cap" in summary.message
        assert [(e.line, "approvals this hour" in e.message) for e in plan.errors[1:]] == [
            (4, True)
        ]
        batches = s.ledger.records.batch_count()
        last = last_refusal_id(s.ledger)
        with pytest.raises(InvalidRows):
            run_batch(s.ledger, plan, organiser=s.organiser, reviewer=s.reviewer)
        assert s.ledger.records.batch_count() == batches, "nothing submitted"
        refused = refusals_since(s.ledger, last)
        assert {(r.action, r.actor, r.subject) for r in refused} == {
            ("issue-batch", s.organiser.address, "over.csv line 1"),
            ("issue-batch", s.organiser.address, "over.csv line 4 (h3)"),
        }

        report = s.pay(path, only_good_rows=True)
        assert report.paid_records == 2 and s.balances()[1:4] == [10, 10, 0]
        assert s.ledger.records.batch_count() == batches + len(report.batches)
        assert all(
            s.ledger.records.batch(b).status is BatchStatus.APPROVED
            for b in range(batches + 1, s.ledger.records.batch_count() + 1)
        ), "no chunk left submitted and unapproved"

    def test_an_organiser_who_is_the_reviewer_or_a_reviewer_without_the_role(
        self, batch: BatchSetup, tmp_path: Path
    ) -> None:
        s = batch
        s.ledger.set_scheme_role(
            issuer=s.ledger.operator("issuer-vol"),
            scheme=s.scheme.id,
            role_name="reviewer",
            account=s.organiser.address,
            grant=True,
        )
        path = s.write(tmp_path / "own.csv", [s.row("o1", s.members[0], s.yesterday + 9 * HOUR)])
        own = plan_batch(
            s.ledger,
            path,
            scheme=s.scheme.id,
            organiser=s.organiser.address,
            reviewer=s.organiser.address,
        )
        assert [e.line for e in own.errors] == [1]
        assert "same account" in own.errors[0].message and "four eyes" in own.errors[0].message
        stranger = s.ledger.operator("merchant-1").address
        other = plan_batch(
            s.ledger, path, scheme=s.scheme.id, organiser=s.organiser.address, reviewer=stranger
        )
        assert [e.message for e in other.errors] == [
            f"{stranger} is not a reviewer of the scheme, so cannot approve its batches "
            "(`vpl role grant reviewer`)"
        ]
        assert s.balances()[0] == 0


def test_excel_dates_and_full_width_digits_are_read_and_reported(
    batch: BatchSetup, tmp_path: Path
) -> None:
    """zh-CN Excel writes 2026/12/2 7:00, and full-width digits (２.５) turn up."""
    s = batch
    day = datetime.fromtimestamp(s.yesterday, CST)

    def excel(hour: int, minute: int, second: str = "") -> str:
        return f"{day.year}/{day.month}/{day.day} {hour}:{minute:02d}{second}"

    rows = [
        s.row("x1", s.members[0], s.yesterday + 7 * HOUR),
        s.row("x2", s.members[1], s.yesterday + 7 * HOUR),
        s.row("x3", s.members[2], s.yesterday + 7 * HOUR),
    ]
    rows[0][2:4] = [excel(7, 0), excel(8, 0)]
    rows[1][2:4] = [excel(7, 0, ":00"), excel(8, 30, ":00")]
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    rows[2][3] = iso(s.yesterday + 9 * HOUR).translate(wide)
    rows[2][4] = "Ｂ"
    plan = s.plan(s.write(tmp_path / "excel.csv", rows))
    assert plan.errors == []
    changed = {n.line: n.changes for n in plan.normalised}
    plain = (day + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M")
    assert changed[2] == (
        f"end '{excel(8, 0)}' read as '{plain.replace(' 07:', ' 08:')}'",
        f"start '{excel(7, 0)}' read as '{plain}'",
    )
    assert len(changed[3]) == 2 and changed[3][0].startswith("end '")
    assert changed[4] == (
        f"end {rows[2][3]!r} read as {iso(s.yesterday + 9 * HOUR)!r}",
        "grade full-width characters read as plain ones",
    )
    report = run_batch(s.ledger, plan, organiser=s.organiser, reviewer=s.reviewer)
    assert report.paid_records == 3
    assert s.balances()[:3] == [10, 15, 20]  # 1 h, 1.5 h and 2 h at 10/h, grade B
