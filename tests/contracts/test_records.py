"""ServiceRecords: records of service, submitted by the volunteer or an organiser, reviewed once
(一事一评) by a reviewer of the scheme who neither earns nor submitted them; approval mints the
points in the same transaction; late records need a second reviewer; corrections are new,
linked, reviewed records that move the points by the difference. Bad input changes nothing and
leaves evidence for auditors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Participation, Record, RecordStatus
from ledger.chain.contracts.activities import Activity
from ledger.chain.contracts.rules import encode_action
from ledger.chain.contracts.service_records import record_source
from ledger.earning.reading import RecordView
from ledger.errors import (
    ContractRevert,
    EarningRefused,
    InputError,
    InvalidRequest,
    NotAMember,
    StateConflict,
)
from ledger.ledger import Ledger
from tests.contracts.earning import (
    correct,
    decide,
    refused_approval,
    refused_to,
    send_record,
    unauthorized,
)
from tests.contracts.helpers import events
from tests.contracts.refusals import Refusal, points_frozen, reverts, reverts_unchanged
from tests.earning_helpers import (
    DAY,
    HOUR,
    Earning,
    advance,
    clear_of_boundary,
    create_activity,
    day_of,
    earn,
    evidence,
    funded_member,
    midnight,
    now,
    open_activity,
    refused,
    refused_off_chain,
    state,
    submit,
    two_hours_ago,
    working_days_between,
)
from tests.factories import Member, new_scheme


def submit_own(
    ledger: Ledger, e: Earning, volunteer: Member, start: int, end: int, activity_id: int = 0
) -> RecordView:
    """The volunteer submits the record of their own service (of `activity_id`, if any)."""
    return submit(
        ledger,
        e,
        volunteer.address,
        start,
        end,
        submitter=volunteer.account,
        activity_id=activity_id,
    )


def not_pending(record_id: int, status: RecordStatus) -> Refusal:
    """The record is `status`, decided already: no decision on it is taken."""
    return StateConflict, "RecordsNotPending", {"recordId": record_id, "status": status}


def correction_overlap(member: str, start: int, end: int) -> Refusal:
    """The correction from `start` to `end` would overlap a later record of the member's."""
    return EarningRefused, "PointsCorrectionOverlap", {"member": member, "start": start, "end": end}


@pytest.fixture
def record_id(ledger: Ledger, vol: Earning, member: Member) -> int:
    """A record of `member`'s two hours of service that ended an hour ago, not reviewed yet."""
    start, end = two_hours_ago(ledger)
    return submit(ledger, vol, member.address, start, end).record.id


# --- submitting -----------------------------------------------------------------------------------


class TestSubmitting:
    def test_a_volunteer_who_signed_up_submits_their_own_record(
        self, ledger: Ledger, vol: Earning, volunteer: Member, activity: Activity
    ) -> None:
        ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)
        start, end = two_hours_ago(ledger)

        view = submit_own(ledger, vol, volunteer, start, end, activity.id)

        record = view.record
        assert record.status is RecordStatus.PENDING
        assert (record.volunteer, record.submitter) == (volunteer.address, volunteer.address)
        assert (record.scheme_id, record.activity_id) == (vol.id, activity.id)
        assert (record.start, record.end, record.points, record.late) == (start, end, 0, False)
        assert ledger.activities.participation(activity.id, volunteer.address) is (
            Participation.RECORDED
        )
        assert ledger.activities.activity(activity.id).enrolled == 1
        assert ledger.points.balance_of(volunteer.address, vol.id) == 0

    def test_an_organiser_records_attendance_and_assigns_the_volunteer_on_the_way(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol, capacity=3).activity
        start, end = two_hours_ago(ledger)

        record = submit(ledger, vol, member.address, start, end, activity_id=activity.id).record

        assert record.submitter == vol.organiser.address
        assert record.status is RecordStatus.PENDING
        assert ledger.activities.participation(activity.id, member.address) is (
            Participation.RECORDED
        )
        assert ledger.activities.activity(activity.id).enrolled == 1

    def test_a_volunteer_submits_service_they_proposed_themselves(
        self, ledger: Ledger, vol: Earning, volunteer: Member
    ) -> None:
        start, end = two_hours_ago(ledger)

        record = submit_own(ledger, vol, volunteer, start, end).record

        assert (record.activity_id, record.submitter) == (0, volunteer.address)
        assert record.status is RecordStatus.PENDING

    def test_the_record_emits_what_auditors_filter_on(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        proof = evidence()
        view = submit(ledger, vol, member.address, start, end, evidence_hash=proof)

        logs = ledger.records.contract.events.RecordSubmitted().get_logs(
            from_block=0, argument_filters={"recordId": view.record.id}
        )

        assert len(logs) == 1
        args = logs[0]["args"]
        assert (args["schemeId"], args["volunteer"], args["submitter"]) == (
            vol.id,
            member.address,
            vol.organiser.address,
        )
        assert (args["late"], args["supersedes"]) == (False, 0)
        assert bytes(args["record"]["evidenceHash"]) == bytes.fromhex(proof[2:])
        assert bytes(args["record"]["detailsHash"]) == view.record.details_hash


@pytest.fixture
def organiser_refused(ledger: Ledger, vol: Earning, member: Member) -> Callable[..., Any]:
    """Expect what `vol`'s organiser does for `member` (`action`: submit-record, correct) to be
    refused with exactly `error` and `args`, changing nothing of the member, the given `activity`
    and `records`, and to leave evidence (unless `logged` is false)."""

    def expect(
        action: str,
        kind: type[ContractRevert],
        error: str,
        args: dict[str, Any],
        *,
        activity: int | None = None,
        records: Sequence[int] = (),
        logged: bool = True,
    ) -> AbstractContextManager[Any]:
        activities = [] if activity is None else [activity]
        unchanged = state(ledger, vol, member.address, activities=activities, records=records)
        return refused(
            ledger,
            kind,
            error,
            args,
            actor=vol.organiser.address,
            action=action,
            state=unchanged,
            logged=logged,
        )

    return expect


@pytest.fixture
def refused_submission(
    ledger: Ledger, vol: Earning, member: Member, organiser_refused: Any
) -> Callable[..., None]:
    """Expect the record of `member`'s service from `start` to `end` (of `activity_id`, if any)
    that `vol`'s organiser submits to be refused as `organiser_refused` says."""

    def attempt(
        start: int,
        end: int,
        kind: type[ContractRevert],
        error: str,
        args: dict[str, Any],
        activity_id: int = 0,
        *,
        records: Sequence[int] = (),
    ) -> None:
        activity = activity_id or None
        with organiser_refused(
            "submit-record", kind, error, args, activity=activity, records=records
        ):
            submit(ledger, vol, member.address, start, end, activity_id=activity_id)

    return attempt


class TestSubmittingBadInput:
    def test_a_volunteer_who_has_not_joined_cannot_record_the_activity(
        self, ledger: Ledger, vol: Earning, volunteer: Member, activity: Activity
    ) -> None:
        start, end = two_hours_ago(ledger)

        args = {"activityId": activity.id, "member": volunteer.address}
        unchanged = state(ledger, vol, volunteer.address, activities=[activity.id])
        with refused_to(
            ledger, volunteer, "submit-record", unchanged, StateConflict, "ActivityNotJoined", args
        ):
            submit_own(ledger, vol, volunteer, start, end, activity.id)

    def test_only_the_volunteer_or_an_organiser_submits(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        stranger = funded_member(ledger)
        start, end = two_hours_ago(ledger)

        with unauthorized(
            ledger, vol, stranger.account, "submit-record", state(ledger, vol, member.address)
        ):
            submit(ledger, vol, member.address, start, end, submitter=stranger.account)

    def test_a_volunteer_has_one_record_per_activity(
        self, ledger: Ledger, vol: Earning, member: Member, refused_submission: Any
    ) -> None:
        activity = open_activity(ledger, vol).activity
        start, end = two_hours_ago(ledger)
        first = submit(ledger, vol, member.address, start, end, activity_id=activity.id).record.id
        args = {"activityId": activity.id, "member": member.address}

        refused_submission(
            start,
            end - 60,
            StateConflict,
            "ActivityAlreadyRecorded",
            args,
            activity.id,
            records=[first],
        )

    def test_a_record_for_an_unregistered_account_is_refused(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        nobody = Account.create().address
        start, end = two_hours_ago(ledger)

        with refused(
            ledger,
            NotAMember,
            "RecordsMemberNotActive",
            {"member": nobody},
            actor=vol.organiser.address,
            action="submit-record",
            state=state(ledger, vol, nobody),
        ):
            submit(ledger, vol, nobody, start, end)

    def test_a_record_for_a_frozen_member_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, refused_submission: Any
    ) -> None:
        ledger.freeze_member(
            registrar=ledger.operator("registrar"), address=member.address, reason=3
        )
        start, end = two_hours_ago(ledger)

        refused_submission(
            start, end, NotAMember, "RecordsMemberNotActive", {"member": member.address}
        )

    @pytest.mark.parametrize("logged", [False, True], ids=["refused", "leaves evidence"])
    def test_a_record_for_an_unknown_activity_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, organiser_refused: Any, logged: bool
    ) -> None:
        unknown = ledger.activities.count() + 1000
        start, end = two_hours_ago(ledger)

        with organiser_refused(
            "submit-record",
            InvalidRequest,
            "ActivityUnknown",
            {"activityId": unknown},
            logged=logged,
        ):
            submit(ledger, vol, member.address, start, end, activity_id=unknown)

    def test_a_record_that_starts_before_the_activity_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, refused_submission: Any
    ) -> None:
        t = now(ledger)
        activity = create_activity(ledger, vol, start=t - 2 * HOUR, end=t + DAY).activity
        start, end = activity.start - 60, activity.start + HOUR
        args = {"activityId": activity.id, "start": start, "end": end}

        refused_submission(start, end, InvalidRequest, "ActivityOutsideWindow", args, activity.id)

    def test_a_record_that_ends_after_the_activity_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, refused_submission: Any
    ) -> None:
        t = now(ledger)
        activity = create_activity(ledger, vol, start=t - 2 * HOUR, end=t + 90).activity
        ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=member.address
        )
        advance(ledger, max(1, activity.end + 120 - now(ledger)))
        start, end = activity.end - HOUR, activity.end + 60
        args = {"activityId": activity.id, "start": start, "end": end}

        refused_submission(start, end, InvalidRequest, "ActivityOutsideWindow", args, activity.id)

    def test_a_record_against_another_schemes_activity_is_refused(
        self, ledger: Ledger, vol: Earning, bee: Earning, member: Member, refused_submission: Any
    ) -> None:
        activity = open_activity(ledger, bee).activity
        start, end = two_hours_ago(ledger)
        args = {"activityId": activity.id, "schemeId": vol.id}

        refused_submission(start, end, InvalidRequest, "RecordsWrongScheme", args, activity.id)

    def test_a_record_against_a_cancelled_activity_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, refused_submission: Any
    ) -> None:
        activity = open_activity(ledger, vol).activity
        ledger.earning.cancel_activity(organiser=vol.organiser, activity_id=activity.id, reason=2)
        start, end = two_hours_ago(ledger)
        args = {"activityId": activity.id}

        refused_submission(start, end, StateConflict, "ActivityCancelledAlready", args, activity.id)

    def test_service_that_has_not_ended_yet_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, refused_submission: Any
    ) -> None:
        t = now(ledger)
        start, end = t - HOUR, t + HOUR

        refused_submission(start, end, InvalidRequest, "RecordsInFuture", {"end": end})

    @pytest.mark.parametrize(
        ("start_offset", "end_offset", "match"),
        [
            (-HOUR, -2 * HOUR, "at least a minute"),  # end before start
            (-HOUR, -HOUR, "at least a minute"),  # no time at all
            (-HOUR, -HOUR + 59, "at least a minute"),  # under a minute
            (-HOUR - DAY - 60, -HOUR, "at most one day"),  # over a day
        ],
    )
    def test_the_ledger_refuses_times_that_are_no_service_before_sending(
        self,
        ledger: Ledger,
        vol: Earning,
        member: Member,
        start_offset: int,
        end_offset: int,
        match: str,
    ) -> None:
        t = now(ledger)

        with refused_off_chain(ledger, InputError, match, state=state(ledger, vol, member.address)):
            submit(ledger, vol, member.address, t + start_offset, t + end_offset)

    @pytest.mark.parametrize(
        ("start_offset", "end_offset"),
        [(-HOUR, -2 * HOUR), (-HOUR, -HOUR), (-HOUR, -HOUR + 59), (-HOUR - DAY - 1, -HOUR)],
    )
    def test_the_chain_refuses_times_that_are_no_service(
        self, ledger: Ledger, vol: Earning, member: Member, start_offset: int, end_offset: int
    ) -> None:
        t = now(ledger)
        start, end = t + start_offset, t + end_offset
        args = {"start": start, "end": end}

        with reverts_unchanged(
            InvalidRequest, "RecordsInvalidTimes", args, state(ledger, vol, member.address)
        ):
            send_record(ledger, vol, member.address, start, end)

    def test_the_chain_refuses_an_instant_end_before_start_in_a_fixed_point_scheme(
        self, ledger: Ledger, bee: Earning, member: Member
    ) -> None:
        t = now(ledger)
        hazard = encode_action("safety_hazard")

        with reverts(InvalidRequest, "RecordsInvalidTimes", {"start": t - 60, "end": t - 61}):
            send_record(ledger, bee, member.address, t - 60, t - 61, action=hazard)

    @pytest.mark.parametrize("missing", ["details", "evidence"])
    def test_the_chain_requires_the_details_and_evidence_hashes(
        self, ledger: Ledger, vol: Earning, member: Member, missing: str
    ) -> None:
        start, end = two_hours_ago(ledger)

        with reverts(InvalidRequest, "RecordsInvalidHash", {}):
            send_record(ledger, vol, member.address, start, end, **{f"{missing}_hash": bytes(32)})

    def test_a_duration_record_names_no_action_and_a_fixed_point_record_names_one(
        self, ledger: Ledger, vol: Earning, bee: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        action = encode_action("safety_hazard")

        with reverts(InvalidRequest, "RecordsActionNotApplicable", {"action": "0x" + action.hex()}):
            send_record(ledger, vol, member.address, start, end, action=action)
        with reverts(InvalidRequest, "RecordsActionRequired", {}):
            send_record(ledger, bee, member.address, end, end)
        with refused_off_chain(
            ledger, InputError, "names no action", state=state(ledger, vol, member.address)
        ):
            submit(ledger, vol, member.address, start, end, action="safety_hazard")
        with refused_off_chain(
            ledger, InputError, "name the action", state=state(ledger, bee, member.address)
        ):
            submit(ledger, bee, member.address, end, end)

    def test_a_scheme_without_limits_takes_no_records(self, ledger: Ledger, member: Member) -> None:
        issuer = ledger.operator("issuer-vol")
        scheme = new_scheme(ledger, issuer=issuer.address)
        ledger.publish_duration_rule(
            issuer=issuer, scheme=scheme.id, points_per_hour=10, grades={"A": 1}
        )
        start, end = two_hours_ago(ledger)

        with reverts(StateConflict, "RecordsLimitsNotSet", {"schemeId": scheme.id}):
            ledger.earning.submit_record(
                submitter=issuer,
                scheme=scheme.id,
                volunteer=member.address,
                start=start,
                end=end,
                evidence_hash=evidence(),
                content="送餐",
                details={
                    "activity": "a",
                    "place": "p",
                    "organising_unit": "u",
                    "person_in_charge": "p",
                },
            )


# --- review ---------------------------------------------------------------------------------------


class TestReview:
    def test_approval_mints_the_points_and_completes_the_record(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)  # 2 hours x 10 points x B 1.0 = 20
        submitted = submit(ledger, vol, member.address, start, end).record
        supply = ledger.points.total_supply(vol.id)

        record = ledger.earning.approve(reviewer=vol.reviewer, record_id=submitted.id, grade="B")

        assert record.status is RecordStatus.APPROVED
        assert (record.grade, record.points, record.rule_version) == (1, 20, 1)
        assert (record.reviewer, record.first_reviewer) == (vol.reviewer.address, None)
        assert submitted.submitted_at <= record.decided_at <= now(ledger)
        assert (record.supersedes, record.correction, record.reject_reason) == (0, 0, 0)
        assert ledger.points.balance_of(member.address, vol.id) == 20
        assert ledger.points.total_supply(vol.id) == supply + 20
        assert ledger.points.is_paid(record_source(record.id))
        standing = ledger.points.standing(member.address, vol.id)
        assert (standing.balance, standing.last_end, standing.day) == (20, end, day_of(start))
        assert (standing.day_records, standing.day_minutes, standing.day_points) == (1, 120, 20)

    def test_the_approval_event_names_the_reviewer_grade_rule_and_points(
        self, ledger: Ledger, vol: Earning, member: Member, record_id: int
    ) -> None:

        result = ledger.records.approve(vol.reviewer, record_id, 0)  # A: 2 x 10 x 1.2 = 24

        assert events(ledger.records, result, "RecordApproved") == [
            {
                "recordId": record_id,
                "schemeId": vol.id,
                "volunteer": member.address,
                "reviewer": vol.reviewer.address,
                "grade": 0,
                "ruleVersion": 1,
                "points": 24,
            }
        ]
        issued = events(ledger.points, result, "PointsIssued")
        assert [(e["member"], e["source"], e["amount"]) for e in issued] == [
            (member.address, record_source(record_id), 24)
        ]

    @pytest.mark.parametrize(
        ("seconds", "grade", "points"),
        [
            (50 * 60, "C", 6),  # 50 min x 10/h x 0.8 = 6.67 -> 6
            (50 * 60 + 59, "C", 6),  # the odd seconds are no minute
            (90 * 60, "D", 7),  # 1.5 h x 10 x 0.5 = 7.5 -> 7
            (5 * 60, "D", 0),  # 0.42 -> nothing, yet the record is approved
            (3 * HOUR, "A", 36),  # exact
        ],
    )
    def test_points_round_down(
        self, ledger: Ledger, vol: Earning, member: Member, seconds: int, grade: str, points: int
    ) -> None:
        end = now(ledger) - HOUR
        record_id = earn(ledger, vol, member.address, end - seconds, end, grade=grade)

        record = ledger.earning.record(record_id)
        assert (record.status, record.points) == (RecordStatus.APPROVED, points)
        assert ledger.points.balance_of(member.address, vol.id) == points
        assert ledger.points.standing(member.address, vol.id).day_minutes == seconds // 60

    def test_a_fixed_point_action_earns_the_points_of_its_type(
        self, ledger: Ledger, bee: Earning, member: Member
    ) -> None:
        t = now(ledger) - HOUR
        tip = earn(ledger, bee, member.address, t, t, action="security_tip_major")
        hazard = earn(ledger, bee, member.address, t + 1, t + 1, action="safety_hazard")

        assert ledger.earning.record(tip).points == 100
        assert ledger.earning.record(hazard).points == 50
        assert ledger.earning.record(hazard).action == encode_action("safety_hazard")
        assert ledger.points.balance_of(member.address, bee.id) == 150
        standing = ledger.points.standing(member.address, bee.id)
        assert (standing.last_end, standing.day_minutes, standing.day_records) == (t + 1, 0, 2)

    def test_fixed_point_actions_are_not_graded(
        self, ledger: Ledger, bee: Earning, member: Member
    ) -> None:
        t = now(ledger) - HOUR
        record_id = submit(ledger, bee, member.address, t, t, action="safety_hazard").record.id

        args = {"grade": 1}
        refused_approval(
            ledger, bee, record_id, InvalidRequest, "RecordsGradeNotApplicable", args, grade="B"
        )

    def test_an_action_missing_from_the_rule_cannot_be_approved(
        self, ledger: Ledger, bee: Earning, member: Member
    ) -> None:
        t = now(ledger) - HOUR
        with pytest.raises(InputError, match="'graffiti' is not in"):
            submit(ledger, bee, member.address, t, t, action="graffiti")
        # straight to the contract, which takes any action at submission (the rule in force at
        # approval decides), and refuses it at approval
        result = send_record(ledger, bee, member.address, t, t, action=encode_action("graffiti"))
        record_id = ledger.records.submitted_id(result)

        args = {"schemeId": bee.id, "version": 1, "action": "0x" + encode_action("graffiti").hex()}
        refused_approval(ledger, bee, record_id, InvalidRequest, "RulesUnknownAction", args)

    def test_a_grade_the_rule_does_not_have_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, record_id: int
    ) -> None:
        args = {"schemeId": vol.id, "version": 1, "grade": 4}
        refused_approval(
            ledger, vol, record_id, InvalidRequest, "RulesUnknownGrade", args, grade="E"
        )

    @pytest.mark.parametrize("who", ["organiser", "issuer", "other scheme's reviewer"])
    def test_only_a_reviewer_of_the_scheme_decides(
        self, ledger: Ledger, vol: Earning, member: Member, who: str
    ) -> None:
        start, end = two_hours_ago(ledger)
        record_id = submit(ledger, vol, member.address, start, end, submitter=vol.issuer).record.id
        account = {
            "organiser": vol.organiser,
            "issuer": vol.issuer,
            "other scheme's reviewer": ledger.operator("auditor"),
        }[who]

        for action in ("approve", "reject"):
            unchanged = state(ledger, vol, member.address, records=[record_id])
            with unauthorized(ledger, vol, account, action, unchanged):
                decide(ledger, account, record_id, action)

    @pytest.mark.parametrize(
        ("action", "logged"),
        [("reject", True), ("approve", False), ("approve", True)],
        ids=["reject", "approve", "approving leaves evidence"],
    )
    def test_a_record_that_does_not_exist_cannot_be_reviewed(
        self, ledger: Ledger, vol: Earning, action: str, logged: bool
    ) -> None:
        unknown = ledger.records.record_count() + 1000

        with refused(
            ledger,
            InvalidRequest,
            "RecordsUnknown",
            {"recordId": unknown},
            actor=vol.reviewer.address,
            action=action,
            state=state(ledger, vol),
            logged=logged,
        ):
            decide(ledger, vol.reviewer, unknown, action)

    def test_approval_for_a_member_frozen_since_submission_is_refused(
        self, ledger: Ledger, vol: Earning, member: Member, record_id: int
    ) -> None:
        registrar = ledger.operator("registrar")
        ledger.freeze_member(registrar=registrar, address=member.address, reason=3)

        refused_approval(ledger, vol, record_id, *points_frozen(member.address))

        ledger.unfreeze_member(registrar=registrar, address=member.address, reason=1)
        record = ledger.earning.approve(reviewer=vol.reviewer, record_id=record_id, grade="A")
        assert (record.status, record.points) == (RecordStatus.APPROVED, 24)


class TestRejecting:
    def test_a_rejection_keeps_its_reason_and_pays_nothing(
        self, ledger: Ledger, vol: Earning, member: Member, record_id: int
    ) -> None:
        supply = ledger.points.total_supply(vol.id)

        record = ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=4)

        assert (record.status, record.reject_reason, record.points) == (
            RecordStatus.REJECTED,
            4,
            0,
        )
        assert record.reviewer == vol.reviewer.address
        assert record.decided_at >= record.submitted_at
        assert ledger.points.balance_of(member.address, vol.id) == 0
        assert ledger.points.total_supply(vol.id) == supply
        assert ledger.points.standing(member.address, vol.id).last_end == 0

    def test_a_rejection_frees_the_volunteers_place_for_another_record(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol, capacity=1).activity
        start, end = two_hours_ago(ledger)
        first = submit(ledger, vol, member.address, start, end, activity_id=activity.id).record.id

        ledger.earning.reject(reviewer=vol.reviewer, record_id=first, reason=4)

        assert ledger.activities.participation(activity.id, member.address) is (
            Participation.ENROLLED
        )
        second = submit(
            ledger, vol, member.address, start, end - 30 * 60, activity_id=activity.id
        ).record.id
        record = ledger.earning.approve(reviewer=vol.reviewer, record_id=second, grade="B")
        assert (record.status, record.points) == (RecordStatus.APPROVED, 15)
        assert ledger.activities.activity(activity.id).enrolled == 1

    def test_a_rejected_record_cannot_be_approved(
        self, ledger: Ledger, vol: Earning, member: Member, record_id: int
    ) -> None:
        ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=1)

        rejected = not_pending(record_id, RecordStatus.REJECTED)
        refused_approval(ledger, vol, record_id, *rejected, reviewer=vol.reviewers[1])

    def test_an_approved_record_is_never_paid_twice(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        record_id = earn(ledger, vol, member.address, start, end)

        # another reviewer, or the same one changing their mind: a repeat of the very same
        # approval is a retry, which this specification leaves to the ledger
        approved = not_pending(record_id, RecordStatus.APPROVED)
        for reviewer, grade in ((vol.reviewers[1], "A"), (vol.reviewer, "B")):
            refused_approval(ledger, vol, record_id, *approved, reviewer=reviewer, grade=grade)
        with refused(
            ledger,
            *approved,
            actor=vol.reviewer.address,
            action="reject",
            state=state(ledger, vol, member.address, records=[record_id]),
        ):
            ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=2)
        assert ledger.points.balance_of(member.address, vol.id) == 24

    def test_a_rejection_needs_a_known_reason_code(
        self, ledger: Ledger, vol: Earning, member: Member, record_id: int
    ) -> None:
        with refused_off_chain(
            ledger,
            InputError,
            "reason must be one of",
            state=state(ledger, vol, member.address, records=[record_id]),
        ):
            ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=0)
        with reverts(InvalidRequest, "RecordsInvalidReason", {"reason": 0}):
            ledger.records.reject(vol.reviewer, record_id, 0)
        assert ledger.earning.record(record_id).status is RecordStatus.PENDING


# --- late records: a second approval --------------------------------------------------------------


def late_record(ledger: Ledger, e: Earning, volunteer: str) -> Record:
    """A record of service ten days ago (well past two working days), submitted now."""
    start = midnight(day_of(now(ledger)) - 10) + 9 * HOUR
    view = submit(ledger, e, volunteer, start, start + 2 * HOUR)
    assert view.record.late
    return view.record


def awaiting_second(ledger: Ledger, e: Earning, volunteer: str) -> tuple[Record, LocalAccount]:
    """A late record that `e`'s first reviewer approved at grade B; the second reviewer."""
    record = late_record(ledger, e, volunteer)
    first, second = e.reviewers
    ledger.earning.approve(reviewer=first, record_id=record.id, grade="B")
    return record, second


class TestLateRecords:
    def test_a_record_is_late_after_the_allowed_working_days(
        self, ledger: Ledger, strict: Earning, member: Member
    ) -> None:
        clear_of_boundary(ledger, DAY, offset=8 * HOUR, margin=300)
        today = day_of(now(ledger))
        on_time = max(
            d for d in range(today - 14, today + 1) if working_days_between(d, today) == 2
        )
        late = max(d for d in range(today - 14, today + 1) if working_days_between(d, today) == 3)

        first = submit(
            ledger, strict, member.address, midnight(late) + 8 * HOUR, midnight(late) + 9 * HOUR
        ).record
        second = submit(
            ledger,
            strict,
            member.address,
            midnight(on_time) + DAY - HOUR,
            midnight(on_time) + DAY - 60,
        ).record

        assert (first.late, second.late) == (True, False)
        assert ledger.records.working_days_between(late, today) == 3
        assert ledger.records.day_of(midnight(on_time) + DAY - 60) == on_time

    def test_a_late_record_needs_two_reviewers_agreeing_on_the_grade(
        self, ledger: Ledger, strict: Earning, member: Member
    ) -> None:
        record = late_record(ledger, strict, member.address)
        first, second = strict.reviewers

        halfway = ledger.earning.approve(reviewer=first, record_id=record.id, grade="B")

        assert halfway.status is RecordStatus.AWAITING_SECOND
        assert (halfway.first_reviewer, halfway.grade, halfway.points) == (first.address, 1, 0)
        assert ledger.points.balance_of(member.address, strict.id) == 0

        done = ledger.earning.approve(reviewer=second, record_id=record.id, grade="B")

        assert done.status is RecordStatus.APPROVED
        assert (done.first_reviewer, done.reviewer, done.points) == (
            first.address,
            second.address,
            20,
        )
        assert ledger.points.balance_of(member.address, strict.id) == 20

    def test_the_second_approval_must_give_the_same_grade(
        self, ledger: Ledger, strict: Earning, member: Member
    ) -> None:
        record, second = awaiting_second(ledger, strict, member.address)

        args = {"recordId": record.id, "first": 1, "second": 0}
        refused_approval(
            ledger, strict, record.id, InvalidRequest, "RecordsGradeMismatch", args, reviewer=second
        )

    def test_a_late_record_can_be_rejected_after_its_first_approval(
        self, ledger: Ledger, strict: Earning, member: Member
    ) -> None:
        record, second = awaiting_second(ledger, strict, member.address)

        rejected = ledger.earning.reject(reviewer=second, record_id=record.id, reason=6)

        assert (rejected.status, rejected.reject_reason) == (RecordStatus.REJECTED, 6)
        assert ledger.points.balance_of(member.address, strict.id) == 0


# --- corrections ----------------------------------------------------------------------------------


class TestCorrections:
    def test_a_correction_down_supersedes_the_record_and_takes_back_the_difference(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end)  # 24
        burned = ledger.points.burned(vol.id)

        view = correct(
            ledger, vol, old_id, start, start + HOUR, content="实际服务一小时", reason="签到表记错"
        )
        pending = ledger.earning.record(old_id)
        assert (view.record.supersedes, pending.correction) == (old_id, view.record.id)
        assert pending.status is RecordStatus.APPROVED
        assert ledger.points.balance_of(member.address, vol.id) == 24

        new = ledger.earning.approve(reviewer=vol.reviewer, record_id=view.record.id, grade="A")

        old = ledger.earning.record(old_id)
        assert (old.status, old.points, old.correction) == (
            RecordStatus.SUPERSEDED,
            24,
            view.record.id,
        )
        assert (new.status, new.points, new.supersedes) == (RecordStatus.APPROVED, 12, old_id)
        assert ledger.points.balance_of(member.address, vol.id) == 12
        assert ledger.points.burned(vol.id) == burned + 12
        standing = ledger.points.standing(member.address, vol.id)
        assert (standing.last_end, standing.day_minutes, standing.day_points) == (
            start + HOUR,
            60,
            12,
        )

    def test_a_correction_up_of_the_latest_record_pays_the_difference(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        end = now(ledger) - HOUR
        old_id = earn(ledger, vol, member.address, end - HOUR, end, grade="B")  # 10
        issued = ledger.points.issued(vol.id)

        view = correct(
            ledger, vol, old_id, end - HOUR, end + 30 * 60, content="服务延长半小时", reason="漏记"
        )
        new = ledger.earning.approve(reviewer=vol.reviewer, record_id=view.record.id, grade="B")

        assert new.points == 15
        assert ledger.earning.record(old_id).status is RecordStatus.SUPERSEDED
        assert ledger.points.balance_of(member.address, vol.id) == 15
        assert ledger.points.issued(vol.id) == issued + 5
        assert ledger.points.standing(member.address, vol.id).last_end == end + 30 * 60

    def test_a_better_grade_on_correction_pays_the_difference(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end, grade="D")  # 10

        view = correct(ledger, vol, old_id, start, end, content="复评", reason="评级有误")
        ledger.earning.approve(reviewer=vol.reviewer, record_id=view.record.id, grade="A")

        assert ledger.points.balance_of(member.address, vol.id) == 24

    def test_a_correction_cannot_lengthen_an_earlier_record(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        t = now(ledger)
        first = earn(ledger, vol, member.address, t - 5 * HOUR, t - 4 * HOUR)
        second = earn(ledger, vol, member.address, t - 3 * HOUR, t - 2 * HOUR)
        correction = correct(
            ledger, vol, first, t - 5 * HOUR, t - 3 * HOUR + 60, reason="漏记"
        ).record.id

        overlap = correction_overlap(member.address, t - 5 * HOUR, t - 3 * HOUR + 60)
        refused_approval(ledger, vol, correction, *overlap, records=[first, second, correction])

    def test_a_correction_cannot_start_earlier(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end)
        correction = correct(ledger, vol, old_id, start - 60, end, reason="早到一分钟").record.id

        overlap = correction_overlap(member.address, start - 60, end)
        refused_approval(ledger, vol, correction, *overlap, records=[old_id, correction])

    def test_one_correction_at_a_time(
        self, ledger: Ledger, vol: Earning, member: Member, organiser_refused: Any
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end)
        pending = correct(ledger, vol, old_id, start, end - 60).record.id
        args = {"recordId": old_id, "correction": pending}

        with organiser_refused(
            "correct", StateConflict, "RecordsCorrectionPending", args, records=[old_id, pending]
        ):
            correct(ledger, vol, old_id, start, end - 120, content="y")

    @pytest.mark.parametrize("status", ["pending", "rejected"])
    def test_only_an_approved_record_can_be_corrected(
        self, ledger: Ledger, vol: Earning, member: Member, organiser_refused: Any, status: str
    ) -> None:
        start, end = two_hours_ago(ledger)
        record_id = submit(ledger, vol, member.address, start, end).record.id
        if status == "rejected":
            ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=1)
        args = {"recordId": record_id, "status": ledger.earning.record(record_id).status}

        with organiser_refused(
            "correct", StateConflict, "RecordsNotApproved", args, records=[record_id]
        ):
            correct(ledger, vol, record_id, start, end - 60)

    def test_a_rejected_correction_leaves_the_record_as_it_was(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end)
        correction = correct(ledger, vol, old_id, start, end - HOUR).record.id

        ledger.earning.reject(reviewer=vol.reviewer, record_id=correction, reason=3)

        old = ledger.earning.record(old_id)
        assert (old.status, old.correction, old.points) == (RecordStatus.APPROVED, 0, 24)
        assert ledger.points.balance_of(member.address, vol.id) == 24
        again = correct(ledger, vol, old_id, start, end - 30 * 60, content="y").record
        assert again.supersedes == old_id

    def test_the_volunteer_may_ask_for_a_correction_but_a_stranger_may_not(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        volunteer, stranger = funded_member(ledger), funded_member(ledger)
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, volunteer.address, start, end)

        unchanged = state(ledger, vol, volunteer.address, records=[old_id])
        with unauthorized(ledger, vol, stranger.account, "correct", unchanged):
            correct(ledger, vol, old_id, start, end - 60, submitter=stranger.account)
        own = correct(
            ledger, vol, old_id, start, end - 60, submitter=volunteer.account, reason="少记一分钟"
        ).record
        assert (own.submitter, own.supersedes) == (volunteer.address, old_id)
