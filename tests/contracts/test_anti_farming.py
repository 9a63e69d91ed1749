"""Anti-farming and anti-cheating (机器刷分、人为作弊), each rule broken on purpose: a volunteer's
records are paid in time order and never overlap; caps per day (records, minutes, points) and per
week (points) count by the day the service started, in China Standard Time, weeks from Monday;
a scheme never issues past its quota; nobody reviews their own or their submitter's record, a late
record needs two different reviewers, reviewers' approvals per hour are capped; the same evidence
never backs two records. Every refusal is exact, changes nothing and leaves evidence."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Limits, RecordStatus
from ledger.errors import (
    DuplicateEvidence,
    EarningRefused,
    NotAuthorized,
    QuotaExceeded,
)
from ledger.ledger import Ledger
from tests.contracts.earning import correct, decide, refused_approval, unauthorized
from tests.contracts.refusals import reverts
from tests.earning_helpers import (
    HOUR,
    LOOSE,
    Earning,
    advance,
    clear_of_boundary,
    day_of,
    earn,
    earning_scheme,
    evidence,
    funded_member,
    grant,
    midnight,
    now,
    past_monday,
    refused,
    refused_off_chain,
    state,
    submit,
)
from tests.factories import Member, new_member

#: IPointsLedger.Problem
RECORDS_PER_DAY, MINUTES_PER_DAY, POINTS_PER_DAY, POINTS_PER_WEEK = 7, 8, 9, 10
CAPS = Limits(
    records_per_day=3,
    minutes_per_day=600,
    points_per_day=60,
    points_per_week=100,
    approvals_per_hour=1_000_000,
    late_working_days=60,
)


@pytest.fixture(scope="module")
def capped(ledger: Ledger) -> Earning:
    """3 records, 600 minutes and 60 points a day; 100 points a week."""
    return earning_scheme(ledger, limits=CAPS)


def at(day_start: int, hours: float) -> int:
    """A time `hours` after 00:00 CST of a day."""
    return day_start + int(hours * HOUR)


def refused_self_review(
    ledger: Ledger,
    e: Earning,
    member: str,
    record_id: int,
    reviewer: LocalAccount,
    action: str = "approve",
    grade: str = "A",
) -> None:
    """`reviewer` may not `action` a record of their own service, or one they submitted: refused
    with RecordsSelfReview, nothing of `member` and the record changed, evidence left."""
    args = {"recordId": record_id, "reviewer": reviewer.address}
    unchanged = state(ledger, e, member, records=[record_id])
    with refused(
        ledger,
        NotAuthorized,
        "RecordsSelfReview",
        args,
        actor=reviewer.address,
        action=action,
        state=unchanged,
    ):
        decide(ledger, reviewer, record_id, action, grade)


def refused_as_overlap(
    ledger: Ledger, e: Earning, member: str, record_id: int, start: int, last_end: int
) -> None:
    """Approving the record starting at `start` is refused: `member`'s last paid record ended at
    `last_end`, after it."""
    args = {"member": member, "start": start, "lastEnd": last_end}
    refused_approval(ledger, e, record_id, EarningRefused, "PointsOverlap", args)


def refused_over_cap(
    ledger: Ledger, e: Earning, member: str, record_id: int, problem: int, cap: int, **kwargs: Any
) -> None:
    """Approving the record is refused: it would take `member` past the scheme's `problem` cap."""
    args = {"member": member, "problem": problem, "cap": cap}
    refused_approval(ledger, e, record_id, EarningRefused, "PointsCap", args, **kwargs)


def overlapping(ledger: Ledger, e: Earning, member: str) -> tuple[int, int]:
    """A record of 10:00 to 12:00 on a past Monday, submitted after one of 9:00 to 11:00 was paid;
    the Monday and the record."""
    day = past_monday(ledger, 2)
    earn(ledger, e, member, at(day, 9), at(day, 11))
    return day, submit(ledger, e, member, at(day, 10), at(day, 12)).record.id


# --- time order -----------------------------------------------------------------------------------


class TestTimeOrder:
    def test_a_record_overlapping_a_paid_one_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        day, record_id = overlapping(ledger, vol, member.address)

        refused_as_overlap(ledger, vol, member.address, record_id, at(day, 10), at(day, 11))
        assert ledger.points.balance_of(member.address, vol.id) == 24

    def test_records_are_paid_in_time_order(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        day = past_monday(ledger, 2)
        earlier = submit(ledger, vol, member.address, at(day, 9), at(day, 10)).record.id
        earn(ledger, vol, member.address, at(day, 14), at(day, 15))

        refused_as_overlap(ledger, vol, member.address, earlier, at(day, 9), at(day, 15))

    def test_a_record_may_start_when_the_last_one_ended(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        day = past_monday(ledger, 2)
        earn(ledger, vol, member.address, at(day, 9), at(day, 10))
        earn(ledger, vol, member.address, at(day, 10), at(day, 11))

        assert ledger.points.balance_of(member.address, vol.id) == 24
        assert ledger.points.standing(member.address, vol.id).last_end == at(day, 11)

    def test_the_same_report_is_never_paid_twice_at_the_same_second(
        self, ledger: Ledger, bee: Earning, member: Member
    ) -> None:
        t = past_monday(ledger, 2) + 10 * HOUR
        earn(ledger, bee, member.address, t, t, action="safety_hazard")
        again = submit(ledger, bee, member.address, t, t, action="safety_hazard").record.id

        refused_as_overlap(ledger, bee, member.address, again, t, t)
        earn(ledger, bee, member.address, t + 1, t + 1, action="safety_hazard")
        assert ledger.points.balance_of(member.address, bee.id) == 100

    def test_a_refused_record_can_still_be_rejected(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        _, record_id = overlapping(ledger, vol, member.address)
        with pytest.raises(EarningRefused):
            ledger.earning.approve(reviewer=vol.reviewer, record_id=record_id, grade="A")

        record = ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=2)

        assert record.status is RecordStatus.REJECTED


# --- caps per day and per week --------------------------------------------------------------------


class TestDailyCaps:
    def test_records_per_day(self, ledger: Ledger, capped: Earning, member: Member) -> None:
        day = past_monday(ledger, 3)
        for hour in (9, 10, 11):
            earn(ledger, capped, member.address, at(day, hour), at(day, hour + 1 / 6))
        fourth = submit(ledger, capped, member.address, at(day, 12), at(day, 12.5)).record.id

        refused_over_cap(ledger, capped, member.address, fourth, RECORDS_PER_DAY, 3)

    def test_minutes_per_day(self, ledger: Ledger, capped: Earning, member: Member) -> None:
        day = past_monday(ledger, 3)
        earn(ledger, capped, member.address, at(day, 6), at(day, 12), grade="D")  # 360 min, 30
        second = submit(ledger, capped, member.address, at(day, 13), at(day, 18)).record.id

        refused_over_cap(ledger, capped, member.address, second, MINUTES_PER_DAY, 600, grade="D")
        standing = ledger.points.standing(member.address, capped.id)
        assert (standing.day_minutes, standing.day_points, standing.day_records) == (360, 30, 1)

    def test_points_per_day_up_to_the_cap_and_no_further(
        self, ledger: Ledger, capped: Earning, member: Member
    ) -> None:
        day = past_monday(ledger, 3)
        earn(ledger, capped, member.address, at(day, 8), at(day, 11))  # 36
        earn(ledger, capped, member.address, at(day, 12), at(day, 14))  # 24: exactly 60
        third = submit(ledger, capped, member.address, at(day, 15), at(day, 15 + 1 / 6)).record.id

        refused_over_cap(ledger, capped, member.address, third, POINTS_PER_DAY, 60)
        assert ledger.points.balance_of(member.address, capped.id) == 60

    def test_a_day_is_a_day_of_china_standard_time_by_the_service_start(
        self, ledger: Ledger, capped: Earning, member: Member
    ) -> None:
        day = past_monday(ledger, 3)
        next_day = day + 24 * HOUR
        earn(ledger, capped, member.address, at(day, 9), at(day, 9.5))
        earn(ledger, capped, member.address, at(day, 10), at(day, 10.5))
        # the third starts on Monday and ends on Tuesday: it counts on Monday
        earn(ledger, capped, member.address, at(day, 23.5), at(next_day, 0.5))
        # Tuesday 00:30 CST is Monday 16:30 UTC: a new day here, the same day in UTC
        earn(ledger, capped, member.address, at(next_day, 0.5), at(next_day, 1))

        standing = ledger.points.standing(member.address, capped.id)
        assert (standing.day, standing.day_records) == (day_of(next_day), 1)
        assert ledger.points.balance_of(member.address, capped.id) == 6 + 6 + 12 + 6

    def test_a_week_runs_from_monday_in_china_standard_time(
        self, ledger: Ledger, capped: Earning, member: Member
    ) -> None:
        monday = past_monday(ledger, 4)
        day = 24 * HOUR
        earn(ledger, capped, member.address, at(monday, 8), at(monday, 11))  # 36
        earn(ledger, capped, member.address, at(monday, 12), at(monday, 14))  # 24
        earn(ledger, capped, member.address, at(monday + day, 8), at(monday + day, 11))  # 36: 96
        sunday = monday + 6 * day
        late_sunday = submit(
            ledger, capped, member.address, at(sunday, 23), at(sunday, 24)
        ).record.id

        refused_over_cap(ledger, capped, member.address, late_sunday, POINTS_PER_WEEK, 100)

        # Monday 00:00 CST is Sunday 16:00 UTC: a new week here, still the old one in UTC
        next_monday = monday + 7 * day
        earn(ledger, capped, member.address, next_monday, at(next_monday, 1))
        standing = ledger.points.standing(member.address, capped.id)
        assert (standing.week_points, standing.day_points) == (12, 12)
        assert ledger.points.balance_of(member.address, capped.id) == 108

    def test_a_correction_up_stays_within_the_day(
        self, ledger: Ledger, capped: Earning, member: Member
    ) -> None:
        day = past_monday(ledger, 3)
        earn(ledger, capped, member.address, at(day, 8), at(day, 11))  # 36
        latest = earn(ledger, capped, member.address, at(day, 12), at(day, 14))  # 24: 60
        correction = correct(
            ledger, capped, latest, at(day, 12), at(day, 15), content="多服务一小时", reason="漏记"
        ).record.id

        refused_over_cap(
            ledger,
            capped,
            member.address,
            correction,
            POINTS_PER_DAY,
            60,
            records=[latest, correction],
        )


# --- the scheme's quota ---------------------------------------------------------------------------


class TestQuota:
    def test_a_scheme_never_issues_past_its_quota(self, ledger: Ledger, member: Member) -> None:
        small = earning_scheme(ledger, quota=30)
        day = past_monday(ledger, 2)
        earn(ledger, small, member.address, at(day, 9), at(day, 11))  # 24 of 30
        over = submit(ledger, small, member.address, at(day, 12), at(day, 13)).record.id  # 12
        period = ledger.points.current_period(small.id)
        args = {"schemeId": small.id, "period": period, "requested": 12, "remaining": 6}

        refused_approval(ledger, small, over, QuotaExceeded, "PointsQuotaExceeded", args)
        assert ledger.points.remaining_quota(small.id) == 6
        # what fits is still paid: half an hour at A is 6
        fits = earn(ledger, small, member.address, at(day, 14), at(day, 14.5))
        assert ledger.earning.record(fits).points == 6
        assert ledger.points.remaining_quota(small.id) == 0


# --- four eyes ------------------------------------------------------------------------------------


class TestFourEyes:
    def test_a_reviewer_cannot_review_their_own_service(
        self, ledger: Ledger, vol: Earning, volunteer: Member
    ) -> None:
        grant(ledger, vol.scheme, "reviewer", volunteer.address, issuer=vol.issuer)
        day = past_monday(ledger, 2)
        record_id = submit(ledger, vol, volunteer.address, at(day, 9), at(day, 11)).record.id

        for action in ("approve", "reject"):
            refused_self_review(
                ledger, vol, volunteer.address, record_id, volunteer.account, action
            )

    def test_a_reviewer_cannot_review_a_record_they_submitted(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        staff = funded_member(ledger)
        grant(ledger, vol.scheme, "organiser", staff.address, issuer=vol.issuer)
        grant(ledger, vol.scheme, "reviewer", staff.address, issuer=vol.issuer)
        day = past_monday(ledger, 2)
        record_id = submit(
            ledger, vol, member.address, at(day, 9), at(day, 11), submitter=staff.account
        ).record.id

        refused_self_review(ledger, vol, member.address, record_id, staff.account)
        # another reviewer may
        record = ledger.earning.approve(reviewer=vol.reviewer, record_id=record_id, grade="A")
        assert record.status is RecordStatus.APPROVED

    def test_a_late_record_needs_a_second_reviewer_not_the_first_again(
        self, ledger: Ledger, strict: Earning, member: Member
    ) -> None:
        start = midnight(day_of(now(ledger)) - 10) + 9 * HOUR
        record_id = submit(ledger, strict, member.address, start, start + HOUR).record.id
        first = strict.reviewer
        ledger.earning.approve(reviewer=first, record_id=record_id, grade="B")
        unchanged = state(ledger, strict, member.address, records=[record_id])
        clear_of_boundary(ledger, HOUR)

        args = {"recordId": record_id, "reviewer": first.address}
        refused_approval(
            ledger,
            strict,
            record_id,
            NotAuthorized,
            "RecordsSecondReviewerSame",
            args,
            reviewer=first,
            grade="C",
            reviewers=[first.address],
        )

        # the same approval again is a repeated request: nothing is sent, nothing is refused
        before = unchanged()
        repeat = ledger.earning.approve(reviewer=first, record_id=record_id, grade="B")
        assert repeat.status is RecordStatus.AWAITING_SECOND
        assert unchanged() == before
        # and sent anyway, the chain refuses it
        with reverts(
            NotAuthorized,
            "RecordsSecondReviewerSame",
            {"recordId": record_id, "reviewer": first.address},
        ):
            ledger.records.approve(first, record_id, 1)
        assert unchanged() == before

    def test_the_volunteer_cannot_give_the_second_approval(
        self, ledger: Ledger, strict: Earning, volunteer: Member
    ) -> None:
        grant(ledger, strict.scheme, "reviewer", volunteer.address, issuer=strict.issuer)
        start = midnight(day_of(now(ledger)) - 10) + 9 * HOUR
        record_id = submit(ledger, strict, volunteer.address, start, start + HOUR).record.id
        ledger.earning.approve(reviewer=strict.reviewer, record_id=record_id, grade="B")

        refused_self_review(
            ledger, strict, volunteer.address, record_id, volunteer.account, grade="B"
        )


# --- reviewers' pace ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paced(ledger: Ledger) -> Earning:
    """Reviewers approve at most two records an hour."""
    return earning_scheme(ledger, limits=replace(LOOSE, approvals_per_hour=2))


def new_reviewer(ledger: Ledger, e: Earning) -> Any:
    reviewer = funded_member(ledger).account
    grant(ledger, e.scheme, "reviewer", reviewer.address, issuer=e.issuer)
    return reviewer


def refused_past_pace(
    ledger: Ledger, e: Earning, member: str, record_id: int, reviewer: LocalAccount, cap: int
) -> None:
    """`reviewer` approved `cap` records this hour: approving another is refused."""
    args = {"reviewer": reviewer.address, "cap": cap}
    refused_approval(
        ledger,
        e,
        record_id,
        EarningRefused,
        "RecordsApprovalsPerHour",
        args,
        reviewer=reviewer,
        reviewers=[reviewer.address],
    )


def pending(ledger: Ledger, e: Earning, volunteer: str, count: int) -> list[int]:
    """`count` one-hour records one after another, not yet reviewed."""
    day = past_monday(ledger, 2)
    return [
        submit(ledger, e, volunteer, at(day, 8 + 2 * i), at(day, 9 + 2 * i)).record.id
        for i in range(count)
    ]


class TestReviewerPace:
    def test_a_reviewer_approves_at_most_the_schemes_cap_an_hour(
        self, ledger: Ledger, paced: Earning, member: Member
    ) -> None:
        reviewer, other = new_reviewer(ledger, paced), new_reviewer(ledger, paced)
        records = pending(ledger, paced, member.address, 3)
        clear_of_boundary(ledger, HOUR, margin=300)
        for record_id in records[:2]:
            ledger.earning.approve(reviewer=reviewer, record_id=record_id, grade="A")
        assert ledger.records.reviewer_load(paced.id, reviewer.address) == (2, 2)

        refused_past_pace(ledger, paced, member.address, records[2], reviewer, 2)

        # another reviewer is not held back, and the next hour starts afresh
        ledger.earning.approve(reviewer=other, record_id=records[2], grade="A")
        advance(ledger, HOUR - now(ledger) % HOUR + 1)
        assert ledger.records.reviewer_load(paced.id, reviewer.address) == (0, 2)

    def test_the_issuer_sets_one_reviewers_own_cap(
        self, ledger: Ledger, paced: Earning, member: Member
    ) -> None:
        busy, slow = new_reviewer(ledger, paced), new_reviewer(ledger, paced)
        ledger.earning.set_reviewer_cap(
            issuer=paced.issuer, scheme=paced.id, reviewer=busy.address, per_hour=3
        )
        ledger.earning.set_reviewer_cap(
            issuer=paced.issuer, scheme=paced.id, reviewer=slow.address, per_hour=1
        )
        records = pending(ledger, paced, member.address, 5)
        clear_of_boundary(ledger, HOUR, margin=300)
        for record_id in records[:3]:
            ledger.earning.approve(reviewer=busy, record_id=record_id, grade="A")
        ledger.earning.approve(reviewer=slow, record_id=records[3], grade="A")

        for reviewer, cap in ((busy, 3), (slow, 1)):
            refused_past_pace(ledger, paced, member.address, records[4], reviewer, cap)

        # 0 gives the reviewer the scheme's cap again
        ledger.earning.set_reviewer_cap(
            issuer=paced.issuer, scheme=paced.id, reviewer=busy.address, per_hour=0
        )
        assert ledger.records.reviewer_load(paced.id, busy.address) == (3, 2)

    def test_only_the_issuer_sets_a_reviewers_cap(self, ledger: Ledger, paced: Earning) -> None:
        reviewer = new_reviewer(ledger, paced)

        unchanged = state(ledger, paced, reviewers=[reviewer.address])
        with unauthorized(ledger, paced, paced.organiser, "set-reviewer-cap", unchanged):
            ledger.earning.set_reviewer_cap(
                issuer=paced.organiser, scheme=paced.id, reviewer=reviewer.address, per_hour=100
            )


# --- evidence -------------------------------------------------------------------------------------


class TestEvidence:
    def test_the_same_evidence_never_backs_a_second_record(
        self, ledger: Ledger, vol: Earning, bee: Earning, member: Member
    ) -> None:
        other = new_member(ledger)
        proof = evidence()
        day = past_monday(ledger, 2)
        first = submit(
            ledger, vol, member.address, at(day, 9), at(day, 10), evidence_hash=proof
        ).record.id

        attempts: list[tuple[Earning, str, int, int, str | None]] = [
            (vol, member.address, at(day, 11), at(day, 12), None),  # the same volunteer again
            (vol, other.address, at(day, 9), at(day, 10), None),  # passed to someone else
            (bee, member.address, at(day, 11), at(day, 11), "safety_hazard"),  # another scheme
        ]
        for e, volunteer, start, end, action in attempts:
            with refused_off_chain(
                ledger,
                DuplicateEvidence,
                "already backs record",
                state=state(ledger, e, member.address, other.address, records=[first]),
                actor=e.organiser.address,
                action="submit-record",
            ):
                submit(ledger, e, volunteer, start, end, evidence_hash=proof, action=action)

    def test_a_correction_brings_new_evidence(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        proof = evidence()
        day = past_monday(ledger, 2)
        record_id = earn(ledger, vol, member.address, at(day, 9), at(day, 11), evidence_hash=proof)

        with refused_off_chain(
            ledger,
            DuplicateEvidence,
            "already backs another record",
            state=state(ledger, vol, member.address, records=[record_id]),
            actor=vol.organiser.address,
            action="correct",
        ):
            correct(ledger, vol, record_id, at(day, 9), at(day, 10), evidence_hash=proof)
