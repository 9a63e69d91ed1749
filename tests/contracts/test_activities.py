"""Activities (活动) and tasks: an issuer's organisers publish them with a time window and a
capacity; members sign up or are assigned (派单), and leave before any record is made; a resident's
request for help becomes a task for one helper who is never the requester. Places are enrolments
plus batch records and never exceed the capacity. Bad input changes nothing and leaves evidence."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from ledger.chain.contracts import Participation, RecordStatus
from ledger.chain.contracts.activities import Activity
from ledger.earning.reading import RecordView
from ledger.errors import InputError, InvalidRequest, NotAMember, StateConflict
from ledger.ledger import Ledger
from ledger.store.records import details_hash
from tests.contracts.earning import refused_to, unauthorized
from tests.contracts.helpers import events
from tests.contracts.refusals import reverts
from tests.earning_helpers import (
    DAY,
    HOUR,
    Earning,
    advance,
    create_activity,
    evidence,
    funded_member,
    now,
    open_activity,
    refused,
    refused_off_chain,
    snapshot,
    state,
    submit,
)
from tests.factories import Member, new_member

#: The Activities contract's errors for an account that holds no role in the activity's scheme,
#: for an account that is no active member, for an activity cancelled already or unknown, for a
#: requester who would serve their own task, and for a member whose service is recorded already.
ACTIVITY, INACTIVE, CANCELLED, UNKNOWN, REQUESTER, RECORDED = (
    "ActivityUnauthorized",
    "ActivityMemberNotActive",
    "ActivityCancelledAlready",
    "ActivityUnknown",
    "ActivityRequesterCannotServe",
    "ActivityAlreadyRecorded",
)


def publication_state(ledger: Ledger, e: Earning) -> Any:
    """What a refused publication must leave as it was, except the store's activity rows: the
    ledger leaves one behind (see test_an_activity_that_has_ended_cannot_be_published, which
    checks that a refusal on chain leaves no row)."""

    def read() -> Any:
        s = snapshot(ledger, e.id, ())
        s["store"].pop("activity_details")
        return s

    return read


def tomorrow(ledger: Ledger) -> tuple[int, int]:
    """A window from an hour ahead to a day ahead."""
    t = now(ledger)
    return t + HOUR, t + DAY


def joining_refused(
    ledger: Ledger,
    e: Earning,
    volunteer: Member,
    activity_id: int,
    error: str,
    args: dict[str, Any],
    *others: str,
) -> None:
    """Neither may `volunteer` sign up for the activity nor may `e`'s organiser assign them: both
    are refused with the StateConflict `error` and `args`, change nothing of the activity, the
    volunteer and `others`, and leave evidence."""
    unchanged = state(ledger, e, volunteer.address, *others, activities=[activity_id])
    with refused(
        ledger,
        StateConflict,
        error,
        args,
        actor=volunteer.address,
        action="sign-up",
        state=unchanged,
    ):
        ledger.earning.sign_up(member=volunteer.account, activity_id=activity_id)
    with refused_to(ledger, e.organiser, "assign", unchanged, StateConflict, error, args):
        ledger.earning.assign(
            organiser=e.organiser, activity_id=activity_id, member=volunteer.address
        )


def record_in(ledger: Ledger, e: Earning, volunteer: str, activity_id: int) -> RecordView:
    """The organiser records `volunteer`'s service in the activity, two hours to an hour ago."""
    t = now(ledger)
    return submit(ledger, e, volunteer, t - 2 * HOUR, t - HOUR, activity_id=activity_id)


# --- publishing -----------------------------------------------------------------------------------


class TestPublishing:
    def test_an_organiser_publishes_an_activity_whose_details_stay_off_chain(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        start, end = tomorrow(ledger)
        count = ledger.activities.count()

        view = create_activity(ledger, vol, start=start, end=end, capacity=20, name="河道清洁")

        a = view.activity
        assert a.id == count + 1 == ledger.activities.count()
        assert (a.scheme_id, a.capacity, a.enrolled, a.batch_records, a.places_left) == (
            vol.id,
            20,
            0,
            0,
            20,
        )
        assert (a.start, a.end, a.cancelled) == (start, end, False)
        assert (a.organiser, a.requester, a.is_task) == (vol.organiser.address, None, False)
        assert view.details["name"] == "河道清洁"
        assert view.details["kind"] == "activity"
        assert {"place", "content", "organising_unit", "person_in_charge"} <= view.details.keys()
        assert a.details_hash == details_hash(view.details)

    def test_the_issuer_publishes_too(self, ledger: Ledger, vol: Earning) -> None:
        start, end = tomorrow(ledger)

        view = create_activity(ledger, vol, start=start, end=end, organiser=vol.issuer)

        assert view.activity.organiser == vol.issuer.address

    def test_an_activity_may_have_begun_already(self, ledger: Ledger, vol: Earning) -> None:
        t = now(ledger)

        view = create_activity(ledger, vol, start=t - 3 * DAY, end=t + HOUR)

        assert view.activity.start == t - 3 * DAY

    @pytest.mark.parametrize("who", ["reviewer", "member"])
    def test_only_the_issuer_or_an_organiser_publishes(
        self, ledger: Ledger, vol: Earning, who: str
    ) -> None:
        account = vol.reviewer if who == "reviewer" else funded_member(ledger).account
        start, end = tomorrow(ledger)

        with unauthorized(
            ledger, vol, account, "create-activity", publication_state(ledger, vol), error=ACTIVITY
        ):
            create_activity(ledger, vol, start=start, end=end, organiser=account)

    @pytest.mark.parametrize(
        "store_rows", [False, True], ids=["refused", "a refused publication leaves no row"]
    )
    def test_an_activity_that_has_ended_cannot_be_published(
        self, ledger: Ledger, vol: Earning, store_rows: bool
    ) -> None:
        t = now(ledger)

        with refused(
            ledger,
            InvalidRequest,
            "ActivityInvalidWindow",
            {"start": t - 2 * HOUR, "end": t - HOUR},
            actor=vol.organiser.address,
            action="create-activity",
            state=state(ledger, vol) if store_rows else publication_state(ledger, vol),
        ):
            create_activity(ledger, vol, start=t - 2 * HOUR, end=t - HOUR)

    @pytest.mark.parametrize(
        ("start", "end", "capacity", "match"),
        [
            (2 * HOUR, HOUR, 5, "ends after it starts"),
            (HOUR, HOUR, 5, "ends after it starts"),
            (HOUR, DAY, 0, "capacity must be"),
            (HOUR, DAY, 100_001, "capacity must be"),
        ],
    )
    def test_the_ledger_refuses_bad_windows_and_capacities_before_sending(
        self, ledger: Ledger, vol: Earning, start: int, end: int, capacity: int, match: str
    ) -> None:
        t = now(ledger)

        with refused_off_chain(ledger, InputError, match, state=state(ledger, vol)):
            create_activity(ledger, vol, start=t + start, end=t + end, capacity=capacity)

    @pytest.mark.parametrize(
        ("start", "end", "capacity", "error", "args"),
        [
            (2 * HOUR, HOUR, 5, "ActivityInvalidWindow", None),
            (HOUR, HOUR, 5, "ActivityInvalidWindow", None),
            (HOUR, HOUR + 366 * DAY + 1, 5, "ActivityInvalidWindow", None),
            (HOUR, DAY, 0, "ActivityInvalidCapacity", {"capacity": 0, "maxCapacity": 100_000}),
            (
                HOUR,
                DAY,
                100_001,
                "ActivityInvalidCapacity",
                {"capacity": 100_001, "maxCapacity": 100_000},
            ),
        ],
    )
    def test_the_chain_refuses_bad_windows_and_capacities(
        self,
        ledger: Ledger,
        vol: Earning,
        start: int,
        end: int,
        capacity: int,
        error: str,
        args: dict[str, int] | None,
    ) -> None:
        t = now(ledger)
        before = snapshot(ledger, vol.id, ())

        with reverts(
            InvalidRequest,
            error,
            args if args is not None else {"start": t + start, "end": t + end},
        ):
            ledger.activities.create_activity(
                vol.organiser, vol.id, t + start, t + end, capacity, bytes.fromhex(evidence()[2:])
            )
        assert snapshot(ledger, vol.id, ()) == before

    def test_the_chain_requires_the_details_hash(self, ledger: Ledger, vol: Earning) -> None:
        start, end = tomorrow(ledger)

        with reverts(InvalidRequest, "ActivityInvalidDetails", {}):
            ledger.activities.create_activity(vol.organiser, vol.id, start, end, 5, bytes(32))


# --- tasks ----------------------------------------------------------------------------------------


class TestTasks:
    def test_a_residents_request_becomes_a_task_for_one_helper(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        resident, helper, other = new_member(ledger), new_member(ledger), new_member(ledger)
        start, end = tomorrow(ledger)

        view = create_activity(
            ledger, vol, start=start, end=end, capacity=5, requester=resident.address
        )
        task = view.activity
        ledger.earning.assign(organiser=vol.organiser, activity_id=task.id, member=helper.address)

        assert (task.capacity, task.requester, task.is_task) == (1, resident.address, True)
        assert view.details["kind"] == "task"
        assert view.details["capacity"] == "1"
        args = {"activityId": task.id, "capacity": 1}
        unchanged = state(ledger, vol, other.address, activities=[task.id])
        with refused_to(
            ledger, vol.organiser, "assign", unchanged, StateConflict, "ActivityFull", args
        ):
            ledger.earning.assign(
                organiser=vol.organiser, activity_id=task.id, member=other.address
            )

    def test_the_requester_cannot_serve_their_own_task(self, ledger: Ledger, vol: Earning) -> None:
        resident = funded_member(ledger)
        start, end = tomorrow(ledger)
        task = create_activity(
            ledger, vol, start=start, end=end, requester=resident.address
        ).activity
        args = {"activityId": task.id, "member": resident.address}

        joining_refused(ledger, vol, resident, task.id, REQUESTER, args)

    def test_the_requester_cannot_be_recorded_as_the_helper(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        resident = new_member(ledger)
        t = now(ledger)
        task = create_activity(
            ledger, vol, start=t - DAY, end=t + DAY, requester=resident.address
        ).activity

        args = {"activityId": task.id, "member": resident.address}
        unchanged = state(ledger, vol, resident.address, activities=[task.id])
        with refused_to(
            ledger, vol.organiser, "submit-record", unchanged, StateConflict, REQUESTER, args
        ):
            record_in(ledger, vol, resident.address, task.id)

    def test_a_task_answers_a_member_only(self, ledger: Ledger, vol: Earning) -> None:
        nobody = Account.create().address
        start, end = tomorrow(ledger)

        unchanged, args = publication_state(ledger, vol), {"member": nobody}
        with refused_to(
            ledger, vol.organiser, "create-activity", unchanged, NotAMember, INACTIVE, args
        ):
            create_activity(ledger, vol, start=start, end=end, requester=nobody)


# --- joining --------------------------------------------------------------------------------------


class TestJoining:
    def test_a_member_signs_up(self, ledger: Ledger, vol: Earning, volunteer: Member) -> None:
        activity = create_activity(ledger, vol, start=now(ledger) + HOUR, end=now(ledger) + DAY)

        result = ledger.earning.sign_up(member=volunteer.account, activity_id=activity.activity.id)

        assert (result.enrolled, result.places_left) == (1, 9)
        assert ledger.activities.participation(result.id, volunteer.address) is (
            Participation.ENROLLED
        )
        logs = ledger.activities.contract.events.ParticipantJoined().get_logs(
            from_block=0, argument_filters={"activityId": result.id}
        )
        assert [(e["args"]["member"], e["args"]["by"]) for e in logs] == [
            (volunteer.address, volunteer.address)
        ]

    @pytest.mark.parametrize("who", ["organiser", "issuer"])
    def test_an_organiser_or_the_issuer_assigns_a_member(
        self, ledger: Ledger, vol: Earning, member: Member, who: str
    ) -> None:
        account = vol.organiser if who == "organiser" else vol.issuer
        activity = open_activity(ledger, vol).activity

        result = ledger.earning.assign(
            organiser=account, activity_id=activity.id, member=member.address
        )

        assert result.enrolled == 1
        assert ledger.activities.participation(activity.id, member.address) is (
            Participation.ENROLLED
        )

    def test_nobody_else_assigns(
        self, ledger: Ledger, vol: Earning, member: Member, activity: Activity
    ) -> None:

        unchanged = state(ledger, vol, member.address, activities=[activity.id])
        with unauthorized(ledger, vol, vol.reviewer, "assign", unchanged, error=ACTIVITY):
            ledger.earning.assign(
                organiser=vol.reviewer, activity_id=activity.id, member=member.address
            )

    def test_a_member_joins_once(
        self, ledger: Ledger, vol: Earning, volunteer: Member, activity: Activity
    ) -> None:
        ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)
        args = {"activityId": activity.id, "member": volunteer.address}

        joining_refused(ledger, vol, volunteer, activity.id, "ActivityAlreadyJoined", args)

    def test_a_full_activity_takes_nobody_more(self, ledger: Ledger, vol: Earning) -> None:
        first, late = new_member(ledger), funded_member(ledger)
        activity = open_activity(ledger, vol, capacity=1).activity
        ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=first.address
        )
        args = {"activityId": activity.id, "capacity": 1}

        joining_refused(ledger, vol, late, activity.id, "ActivityFull", args, first.address)

    def test_nobody_joins_an_activity_that_has_ended(
        self, ledger: Ledger, vol: Earning, volunteer: Member
    ) -> None:
        t = now(ledger)
        activity = create_activity(ledger, vol, start=t - HOUR, end=t + 90).activity
        advance(ledger, max(1, activity.end + 60 - now(ledger)))

        args = {"activityId": activity.id, "end": activity.end}
        unchanged = state(ledger, vol, volunteer.address, activities=[activity.id])
        with refused_to(
            ledger, volunteer, "sign-up", unchanged, StateConflict, "ActivityEnded", args
        ):
            ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)

    def test_only_active_members_join(self, ledger: Ledger, vol: Earning) -> None:
        frozen = new_member(ledger)
        ledger.freeze_member(
            registrar=ledger.operator("registrar"), address=frozen.address, reason=3
        )
        activity = open_activity(ledger, vol).activity

        for account in (Account.create().address, frozen.address):
            unchanged, args = (
                state(ledger, vol, account, activities=[activity.id]),
                {"member": account},
            )
            with refused_to(ledger, vol.organiser, "assign", unchanged, NotAMember, INACTIVE, args):
                ledger.earning.assign(
                    organiser=vol.organiser, activity_id=activity.id, member=account
                )

    def test_an_unknown_activity_cannot_be_joined(
        self, ledger: Ledger, vol: Earning, volunteer: Member
    ) -> None:
        unknown = ledger.activities.count() + 1000

        unchanged = state(ledger, vol, volunteer.address)
        args = {"activityId": unknown}
        with refused_to(ledger, volunteer, "sign-up", unchanged, InvalidRequest, UNKNOWN, args):
            ledger.earning.sign_up(member=volunteer.account, activity_id=unknown)
        args = {"activityId": 0}
        with refused_to(
            ledger, vol.organiser, "assign", state(ledger, vol), InvalidRequest, UNKNOWN, args
        ):
            ledger.earning.assign(organiser=vol.organiser, activity_id=0, member=volunteer.address)


# --- leaving --------------------------------------------------------------------------------------


class TestLeaving:
    def test_a_volunteer_leaves_and_frees_the_place(self, ledger: Ledger, vol: Earning) -> None:
        volunteer, next_one = funded_member(ledger), new_member(ledger)
        activity = open_activity(ledger, vol, capacity=1).activity
        ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)

        left = ledger.earning.leave(
            account=volunteer.account, activity_id=activity.id, member=volunteer.address
        )

        assert (left.enrolled, left.places_left) == (0, 1)
        assert ledger.activities.participation(activity.id, volunteer.address) is (
            Participation.NONE
        )
        taken = ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=next_one.address
        )
        assert taken.enrolled == 1

    def test_an_organiser_removes_a_participant(
        self, ledger: Ledger, vol: Earning, member: Member, activity: Activity
    ) -> None:
        ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=member.address
        )

        result = ledger.earning.leave(
            account=vol.organiser, activity_id=activity.id, member=member.address
        )

        assert result.enrolled == 0
        logs = ledger.activities.contract.events.ParticipantLeft().get_logs(
            from_block=0, argument_filters={"activityId": activity.id}
        )
        assert [(e["args"]["member"], e["args"]["by"]) for e in logs] == [
            (member.address, vol.organiser.address)
        ]

    def test_another_member_cannot_remove_a_participant(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        stranger = funded_member(ledger)
        activity = open_activity(ledger, vol).activity
        ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=member.address
        )

        unchanged = state(ledger, vol, member.address, activities=[activity.id])
        with unauthorized(ledger, vol, stranger.account, "leave", unchanged, error=ACTIVITY):
            ledger.earning.leave(
                account=stranger.account, activity_id=activity.id, member=member.address
            )

    def test_only_a_participant_leaves(
        self, ledger: Ledger, vol: Earning, member: Member, activity: Activity
    ) -> None:

        args = {"activityId": activity.id, "member": member.address}
        unchanged = state(ledger, vol, member.address, activities=[activity.id])
        with refused_to(
            ledger, vol.organiser, "leave", unchanged, StateConflict, "ActivityNotJoined", args
        ):
            ledger.earning.leave(
                account=vol.organiser, activity_id=activity.id, member=member.address
            )

    def test_a_volunteer_with_a_record_cannot_leave(
        self, ledger: Ledger, vol: Earning, member: Member, activity: Activity
    ) -> None:
        record = record_in(ledger, vol, member.address, activity.id).record
        args = {"activityId": activity.id, "member": member.address}
        unchanged = state(
            ledger, vol, member.address, activities=[activity.id], records=[record.id]
        )

        with refused_to(ledger, vol.organiser, "leave", unchanged, StateConflict, RECORDED, args):
            ledger.earning.leave(
                account=vol.organiser, activity_id=activity.id, member=member.address
            )


# --- cancelling -----------------------------------------------------------------------------------


class TestCancelling:
    def test_an_organiser_cancels_with_a_reason_and_nobody_joins_after(
        self, ledger: Ledger, vol: Earning, member: Member, activity: Activity
    ) -> None:

        cancelled = ledger.earning.cancel_activity(
            organiser=vol.organiser, activity_id=activity.id, reason=2
        )

        assert cancelled.cancelled
        logs = ledger.activities.contract.events.ActivityCancelled().get_logs(
            from_block=0, argument_filters={"activityId": activity.id}
        )
        assert [(e["args"]["by"], e["args"]["reason"]) for e in logs] == [
            (vol.organiser.address, 2)
        ]
        args = {"activityId": activity.id}
        unchanged = state(ledger, vol, member.address, activities=[activity.id])
        with refused_to(ledger, vol.organiser, "assign", unchanged, StateConflict, CANCELLED, args):
            ledger.earning.assign(
                organiser=vol.organiser, activity_id=activity.id, member=member.address
            )
        with refused(
            ledger,
            StateConflict,
            CANCELLED,
            args,
            actor=vol.issuer.address,
            action="cancel-activity",
            state=state(ledger, vol, activities=[activity.id]),
        ):
            ledger.earning.cancel_activity(organiser=vol.issuer, activity_id=activity.id, reason=1)

    def test_records_submitted_before_cancellation_stay_reviewable(
        self, ledger: Ledger, vol: Earning, member: Member, activity: Activity
    ) -> None:
        record_id = record_in(ledger, vol, member.address, activity.id).record.id
        ledger.earning.cancel_activity(organiser=vol.organiser, activity_id=activity.id, reason=3)

        record = ledger.earning.approve(reviewer=vol.reviewer, record_id=record_id, grade="B")

        assert (record.status, record.points) == (RecordStatus.APPROVED, 10)
        assert ledger.points.balance_of(member.address, vol.id) == 10

    def test_only_an_organiser_cancels(
        self, ledger: Ledger, vol: Earning, activity: Activity
    ) -> None:

        unchanged = state(ledger, vol, activities=[activity.id])
        with unauthorized(ledger, vol, vol.reviewer, "cancel-activity", unchanged, error=ACTIVITY):
            ledger.earning.cancel_activity(
                organiser=vol.reviewer, activity_id=activity.id, reason=1
            )

    def test_a_cancellation_states_a_known_reason(
        self, ledger: Ledger, vol: Earning, activity: Activity
    ) -> None:

        with refused_off_chain(
            ledger,
            InputError,
            "reason must be one of",
            state=state(ledger, vol, activities=[activity.id]),
        ):
            ledger.earning.cancel_activity(
                organiser=vol.organiser, activity_id=activity.id, reason=0
            )
        with reverts(InvalidRequest, "ActivityInvalidReason", {"reason": 0}):
            ledger.activities.cancel(vol.organiser, activity.id, 0)
        assert not ledger.activities.activity(activity.id).cancelled


# --- places taken by records ----------------------------------------------------------------------


class TestPlacesAndRecords:
    def test_a_record_by_the_organiser_takes_a_free_place(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        first, second = new_member(ledger), new_member(ledger)
        activity = open_activity(ledger, vol, capacity=1).activity
        record_in(ledger, vol, first.address, activity.id)

        assert ledger.activities.activity(activity.id).places_left == 0
        args = {"activityId": activity.id, "capacity": 1}
        unchanged = state(ledger, vol, first.address, second.address, activities=[activity.id])
        with refused_to(
            ledger, vol.organiser, "submit-record", unchanged, StateConflict, "ActivityFull", args
        ):
            record_in(ledger, vol, second.address, activity.id)

    def test_after_a_rejection_the_volunteer_may_leave_and_free_the_place(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        other = new_member(ledger)
        activity = open_activity(ledger, vol, capacity=1).activity
        record_id = record_in(ledger, vol, member.address, activity.id).record.id

        ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=3)
        ledger.earning.leave(account=vol.organiser, activity_id=activity.id, member=member.address)

        assert ledger.activities.activity(activity.id).places_left == 1
        record_in(ledger, vol, other.address, activity.id)
        assert ledger.activities.participation(activity.id, other.address) is (
            Participation.RECORDED
        )

    def test_joined_events_name_who_assigned(self, ledger: Ledger, vol: Earning) -> None:
        member = new_member(ledger)
        activity = open_activity(ledger, vol).activity

        result = ledger.activities.assign(vol.organiser, activity.id, member.address)

        assert events(ledger.activities, result, "ParticipantJoined") == [
            {"activityId": activity.id, "member": member.address, "by": vol.organiser.address}
        ]
