"""Anomaly rules on seeded data: each pattern is found with its evidence (records, transactions,
blocks), and a near miss under the threshold is not; bad input is refused clearly."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import Session

from ledger.audit.anomalies.detect import RULES, detect
from ledger.audit.anomalies.findings import AnomalyReport, finding_rows
from ledger.audit.index.follow import Indexer
from ledger.config import AnomalyThresholds
from ledger.errors import IndexBehind, InputError
from ledger.ledger import Ledger
from ledger.store.index import IndexEvent, IndexEventRef
from tests.audit_helpers import own_index
from tests.batch_helpers import BatchSetup
from tests.earning_helpers import (
    CST_OFFSET,
    DAY,
    Earning,
    advance,
    earning_scheme,
    fund,
    grant,
    now,
    open_activity,
    submit,
    two_hours_ago,
)
from tests.factories import Member, new_member

HOUR = 3600


def run(
    ledger: Ledger, indexer: Indexer, since: int, rule: str, e: Earning | None = None, **limits: int
) -> AnomalyReport:
    indexer.sync()
    return detect(
        ledger, indexer, rules=[rule], scheme=e.id if e else None, from_block=since,
        thresholds=AnomalyThresholds(**limits),
    )  # fmt: skip


def days_ago(ledger: Ledger, days: int) -> int:
    """Midnight (CST) `days` service days before today, on chain time."""
    today = (now(ledger) + CST_OFFSET) // DAY * DAY - CST_OFFSET
    return today - days * DAY


def test_a_burst_of_records_for_one_member(ledger: Ledger, indexer: Indexer) -> None:
    """Too many records of one member on one service day (rule meaning changed: by the days the
    records' service falls on, no longer by when they were submitted)."""
    e = earning_scheme(ledger)
    member = new_member(ledger)
    since = ledger.w3.eth.block_number + 1
    day = days_ago(ledger, 1)
    ids = [
        submit(ledger, e, member.address, day + h * HOUR, day + (h + 2) * HOUR).record.id
        for h in (8, 11, 14, 17)  # 4 records, 8 hours
    ]
    [found] = run(ledger, indexer, since, "burst", e, burst_records=3).findings
    assert found.records == tuple(f"record:{i}" for i in sorted(ids))
    assert found.accounts == (member.address,) and found.scheme_id == e.id
    assert found.message.startswith(f"4 records, 8 hours of service of {member.address} on ")
    assert len(found.evidence) == 4 and found.first_block >= since
    assert all(" submitted: service " in ev.what for ev in found.evidence)
    assert run(ledger, indexer, since, "burst", e, burst_records=4).findings == ()


def test_too_many_hours_of_service_in_one_day(ledger: Ledger, indexer: Indexer) -> None:
    e = earning_scheme(ledger)
    member = new_member(ledger)
    since = ledger.w3.eth.block_number + 1
    day = days_ago(ledger, 2)
    for h in (6, 12, 18):  # three records of 5 hours: 15 hours of one day
        submit(ledger, e, member.address, day + h * HOUR, day + (h + 5) * HOUR)
    [found] = run(ledger, indexer, since, "burst", e).findings  # audit.json's defaults
    assert found.accounts == (member.address,) and len(found.records) == 3
    assert "15 hours of service" in found.message
    assert run(ledger, indexer, since, "burst", e, burst_hours=15).findings == ()


def test_two_ordinary_four_day_batch_files_are_no_burst(
    batch: BatchSetup, indexer: Indexer, tmp_path: Path
) -> None:
    """The demo city's normal traffic: every member serves twice a day (5 hours), and each file
    brings four days of it at once. Submitted in one transaction, they are still no burst."""
    s = batch
    since = s.ledger.w3.eth.block_number + 1
    for name, first_day in (("week-a", 7), ("week-b", 3)):
        rows = [
            s.row(f"{name}-{m[-6:]}-{back}-{h}", m, s.yesterday - back * DAY + h * HOUR, minutes)
            for m in s.members
            for back in range(first_day, first_day - 4, -1)
            for h, minutes in ((9, 120), (14, 180))
        ]
        report = s.pay(s.write(tmp_path / f"{name}.csv", rows))
        assert report.paid_records == len(rows) == len(s.members) * 8
    report = run(s.ledger, indexer, since, "burst")
    assert report.records == 2 * len(s.members) * 8
    assert report.findings == ()


def test_one_evidence_hash_on_several_records(ledger: Ledger, indexer: Indexer) -> None:
    e = earning_scheme(ledger)
    a, b = new_member(ledger), new_member(ledger)
    since = ledger.w3.eth.block_number + 1
    start, end = two_hours_ago(ledger)
    proof = secrets.token_bytes(32)
    for m in (a, b):  # straight to the contract: the store here would refuse the second
        ledger.records.submit_record(
            e.organiser, scheme_id=e.id, activity_id=0, volunteer=m.address, start=start,
            end=end, action=bytes(32), details_hash=secrets.token_bytes(32), evidence_hash=proof,
        )  # fmt: skip
    submit(ledger, e, a.address, start - 3 * HOUR, end - 3 * HOUR)  # evidence of its own
    [found] = run(ledger, indexer, since, "evidence_reuse", e).findings
    assert found.message == f"evidence 0x{proof.hex()} backs 2 records"
    assert found.accounts == (a.address, b.address) and len(found.records) == 2
    assert run(ledger, indexer, since, "evidence_reuse", e, evidence_max_records=2).findings == ()


def reviewers(ledger: Ledger, e: Earning, count: int) -> list[Member]:
    """Members who are also reviewers of the scheme, with gas to sign."""
    out = []
    for _ in range(count):
        m = new_member(ledger)
        fund(ledger, m.address)
        grant(ledger, e.scheme, "reviewer", m.address, issuer=e.issuer)
        out.append(m)
    return out


def approve_record_of(
    ledger: Ledger, e: Earning, reviewer: Member | LocalAccount, volunteer: Member, k: int
) -> int:
    """`reviewer` (a member or an operator) approves a record of `volunteer`: two hours ending
    `k` times three hours before an hour ago."""
    start, end = two_hours_ago(ledger)
    record_id = submit(
        ledger, e, volunteer.address, start - k * 3 * HOUR, end - k * 3 * HOUR
    ).record.id
    signer = reviewer.account if isinstance(reviewer, Member) else reviewer
    ledger.earning.approve(reviewer=signer, record_id=record_id, grade="B")
    return record_id


def test_reviewers_who_approve_each_other_in_pairs_and_rings(
    ledger: Ledger, indexer: Indexer
) -> None:
    e = earning_scheme(ledger)
    a, b, c, d, x = reviewers(ledger, e, 5)
    since = ledger.w3.eth.block_number + 1
    pair = [approve_record_of(ledger, e, a, b, 0), approve_record_of(ledger, e, b, a, 0)]
    ring = [approve_record_of(ledger, e, c, d, 0), approve_record_of(ledger, e, d, x, 0),
            approve_record_of(ledger, e, x, c, 0)]  # fmt: skip
    found = run(ledger, indexer, since, "collusion", e, ring_max_length=3).findings
    assert len(found) == 2
    by_size = {len(f.accounts): f for f in found}
    assert set(by_size[2].accounts) == {a.address, b.address}
    assert sorted(by_size[2].records) == sorted(f"record:{i}" for i in pair)
    assert "approve each other" in by_size[2].message
    assert set(by_size[3].accounts) == {c.address, d.address, x.address}
    assert sorted(by_size[3].records) == sorted(f"record:{i}" for i in ring)
    assert all(ev.tx_hash.startswith("0x") and ev.block >= since for ev in by_size[3].evidence)
    # rings longer than the configured length are not reported; pairs still are
    [only_pair] = run(ledger, indexer, since, "collusion", e, ring_max_length=2).findings
    assert set(only_pair.accounts) == {a.address, b.address}


def test_one_reviewer_approving_one_volunteer_again_and_again(
    ledger: Ledger, indexer: Indexer
) -> None:
    e = earning_scheme(ledger)
    [reviewer] = reviewers(ledger, e, 1)
    volunteer = new_member(ledger)
    since = ledger.w3.eth.block_number + 1
    ids = [approve_record_of(ledger, e, reviewer, volunteer, k) for k in (2, 1, 0)]
    [found] = run(ledger, indexer, since, "collusion", e, pair_max_approvals=3).findings
    assert found.accounts == (reviewer.address, volunteer.address)
    assert found.records == tuple(f"record:{i}" for i in ids)
    assert run(ledger, indexer, since, "collusion", e, pair_max_approvals=4).findings == ()


def test_a_record_approved_after_its_activity_was_cancelled(
    ledger: Ledger, indexer: Indexer
) -> None:
    e = earning_scheme(ledger)
    member, other = new_member(ledger), new_member(ledger)
    kept, cancelled = open_activity(ledger, e), open_activity(ledger, e)
    since = ledger.w3.eth.block_number + 1
    start, end = two_hours_ago(ledger)
    fine = submit(ledger, e, other.address, start, end, activity_id=kept.activity.id).record.id
    late = submit(
        ledger, e, member.address, start, end, activity_id=cancelled.activity.id
    ).record.id
    ledger.earning.cancel_activity(
        organiser=e.organiser, activity_id=cancelled.activity.id, reason=1
    )
    for record_id in (fine, late):  # the contracts accept both approvals
        ledger.earning.approve(reviewer=e.reviewer, record_id=record_id, grade="B")
    [found] = run(ledger, indexer, since, "outside_window", e).findings
    assert found.records == (f"record:{late}",)
    assert f"after activity {cancelled.activity.id} was cancelled" in found.message
    assert [ev.what for ev in found.evidence] == [
        f"activity {cancelled.activity.id} cancelled", f"record:{late} approved",
    ]  # fmt: skip


def test_approvals_faster_than_a_person_can_review(ledger: Ledger, indexer: Indexer) -> None:
    e = earning_scheme(ledger)
    member = new_member(ledger)
    since = ledger.w3.eth.block_number + 1
    start, end = two_hours_ago(ledger)
    slow = submit(ledger, e, member.address, start - 9 * HOUR, end - 9 * HOUR).record.id
    advance(ledger, 120)
    ledger.earning.approve(reviewer=e.reviewer, record_id=slow, grade="B")
    advance(ledger, 120)
    fast = [approve_record_of(ledger, e, e.reviewer, member, k) for k in (2, 1, 0)]
    found = run(
        ledger, indexer, since, "fast_review", e, min_review_seconds=30, fast_run=3
    ).findings
    singles = [f for f in found if "after it was submitted" in f.message]
    assert sorted(f.records[0] for f in singles) == sorted(f"record:{i}" for i in fast)
    [streak] = [f for f in found if "in a row" in f.message]
    assert streak.records == tuple(f"record:{i}" for i in fast)
    assert streak.accounts == (e.reviewer.address,)
    relaxed = run(ledger, indexer, since, "fast_review", e, min_review_seconds=30, fast_run=4)
    assert not [f for f in relaxed.findings if "in a row" in f.message]  # 3 in a row, not 4
    assert f"record:{slow}" not in {r for f in found for r in f.records}  # 2 minutes: a person


def test_many_members_registered_by_one_registrar(ledger: Ledger, indexer: Indexer) -> None:
    since = ledger.w3.eth.block_number + 1
    members = [new_member(ledger).address for _ in range(4)]
    [found] = run(ledger, indexer, since, "registration_burst", registrations_max=3).findings
    assert found.accounts == (ledger.operator("registrar").address,)
    assert [ev.what for ev in found.evidence] == [f"{m} registered" for m in members]
    assert run(ledger, indexer, since, "registration_burst", registrations_max=4).findings == ()
    [row] = finding_rows(run(ledger, indexer, since, "registration_burst", registrations_max=3))
    assert row["rule"] == "registration_burst" and len(row["tx_hashes"]) == 4


def test_bad_rules_ranges_and_an_index_behind_are_refused(
    ledger: Ledger, indexer: Indexer, tmp_path: Path
) -> None:
    indexer.sync()
    indexed, _ = indexer.indexed()
    with pytest.raises(InputError, match="did you mean 'burst'"):
        detect(ledger, indexer, rules=["bursts"])
    with pytest.raises(IndexBehind, match=f"up to block {indexed}"):
        detect(ledger, indexer, to_block=indexed + 1_000)
    with pytest.raises(InputError, match="is after to_block"):
        detect(ledger, indexer, from_block=indexed, to_block=indexed - 1)
    with pytest.raises(InputError, match="more than one run reads"):
        detect(ledger, indexer, from_block=0, thresholds=AnomalyThresholds(max_blocks=10))
    with pytest.raises(InputError, match="block number"):
        detect(ledger, indexer, from_block=-1)
    report = detect(ledger, indexer, from_block=indexed, to_block=indexed)
    assert report.rules == RULES and report.to_block == indexed
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with own_index(ledger, empty) as fresh, pytest.raises(IndexBehind, match="not synced yet"):
        detect(ledger, fresh)


def test_a_record_outside_its_activitys_window_seeded_as_an_older_deployment_would_log_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    """The contracts refuse such a record at submission, so the chain here cannot hold one: the
    index is seeded with the events a deployment without that check would have emitted."""
    with own_index(ledger, f"sqlite:///{tmp_path / 'seeded.db'}") as idx:
        idx.sync()
        block, _ = idx.indexed()
        organiser, volunteer, reviewer = (f"0x{n:040x}" for n in (0xA1, 0xB2, 0xC3))
        activity = {"activityId": 9_001, "schemeId": 1, "organiser": organiser, "start": 1_000,
                    "end": 2_000, "capacity": 5, "detailsHash": "0x" + "11" * 32,
                    "requester": "0x" + "00" * 20}  # fmt: skip
        record = {"schemeId": 1, "activityId": 9_001, "volunteer": volunteer, "start": 1_500,
                  "end": 2_600, "action": "0x" + "00" * 32, "detailsHash": "0x" + "22" * 32,
                  "evidenceHash": "0x" + "33" * 32}  # fmt: skip
        seeded = [
            ("Activities", "ActivityCreated", activity, ["activity:9001", "scheme:1"]),
            ("ServiceRecords", "RecordSubmitted",
             {"recordId": 8_001, "schemeId": 1, "volunteer": volunteer, "submitter": organiser,
              "record": record, "late": False, "supersedes": 0},
             ["record:8001", "scheme:1", "activity:9001"]),
            ("ServiceRecords", "RecordApproved",
             {"recordId": 8_001, "schemeId": 1, "volunteer": volunteer, "reviewer": reviewer,
              "grade": 0, "ruleVersion": 1, "points": 10}, ["record:8001", "scheme:1"]),
        ]  # fmt: skip
        with Session(idx.engine) as db:
            for i, (contract, event, args, refs) in enumerate(seeded):
                where = {"block_number": block, "log_index": 10_000 + i}
                db.add(IndexEvent(**where, tx_hash="0x" + f"{i:02x}" * 32, tx_index=0,
                                  contract=contract, address="0x" + "ee" * 20, event=event,
                                  args=json.dumps(args), timestamp=3_000 + i))  # fmt: skip
                db.add_all(IndexEventRef(ref=r, **where) for r in refs)
            db.commit()
        report = detect(ledger, idx, rules=["outside_window"], from_block=block, to_block=block)
        [found] = report.findings
        assert found.records == ("record:8001",)
        assert "outside activity 9001's window 1000-2000" in found.message
        assert found.evidence[0].what == "activity 9001 created"
