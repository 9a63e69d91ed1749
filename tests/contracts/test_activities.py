"""Activities (活动) and tasks: an issuer's organisers publish them with a time window and a
capacity; members sign up or are assigned (派单), and leave before any record is made; a resident's
request for help becomes a task for one helper who is never the requester. Places are enrolments
plus batch records and never exceed the capacity. Bad input changes nothing and leaves evidence."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from ledger.chain.contracts import Participation, RecordStatus
from ledger.errors import InputError, InvalidRequest, NotAMember, NotAuthorized, StateConflict
from ledger.ledger import Ledger
from ledger.store.records import details_hash
from tests.contracts.helpers import events, reverts
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
    shared_scheme,
    snapshot,
    state,
    submit,
)
from tests.factories import Member, new_member


@pytest.fixture(scope="module")
def vol(ledger: Ledger) -> Earning:
    return shared_scheme(ledger, "duration")


@pytest.fixture
def member(ledger: Ledger) -> Member:
    return new_member(ledger)


def publication_state(ledger: Ledger, e: Earning) -> Any:
    """What a refused publication must leave as it was, except the store's activity rows: the
    ledger leaves one behind (see test_a_refused_publication_leaves_no_row_in_the_store)."""

    def read() -> Any:
        s = snapshot(ledger, e.id, ())
        s["store"].pop("activity_details")
        return s

    return read


def tomorrow(ledger: Ledger) -> tuple[int, int]:
    """A window from an hour ahead to a day ahead."""
    t = now(ledger)
    return t + HOUR, t + DAY


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

        with refused(
            ledger,
            NotAuthorized,
            "ActivityUnauthorized",
            {"schemeId": vol.id, "account": account.address},
            actor=account.address,
            action="create-activity",
            state=publication_state(ledger, vol),
        ):
            create_activity(ledger, vol, start=start, end=end, organiser=account)

    def test_an_activity_that_has_ended_cannot_be_published(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        t = now(ledger)

        with refused(
            ledger,
            InvalidRequest,
            "ActivityInvalidWindow",
            {"start": t - 2 * HOUR, "end": t - HOUR},
            actor=vol.organiser.address,
            action="create-activity",
            state=publication_state(ledger, vol),
        ):
            create_activity(ledger, vol, start=t - 2 * HOUR, end=t - HOUR)

    def test_a_refused_publication_leaves_no_row_in_the_store(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        t = now(ledger)

        with refused(
            ledger,
            InvalidRequest,
            "ActivityInvalidWindow",
            {"start": t - 2 * HOUR, "end": t - HOUR},
            actor=vol.organiser.address,
            action="create-activity",
            state=state(ledger, vol),
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
        with refused(
            ledger,
            StateConflict,
            "ActivityFull",
            {"activityId": task.id, "capacity": 1},
            actor=vol.organiser.address,
            action="assign",
            state=state(ledger, vol, other.address, activities=[task.id]),
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
        unchanged = state(ledger, vol, resident.address, activities=[task.id])

        with refused(
            ledger,
            StateConflict,
            "ActivityRequesterCannotServe",
            args,
            actor=vol.organiser.address,
            action="assign",
            state=unchanged,
        ):
            ledger.earning.assign(
                organiser=vol.organiser, activity_id=task.id, member=resident.address
            )
        with refused(
            ledger,
            StateConflict,
            "ActivityRequesterCannotServe",
            args,
            actor=resident.address,
            action="sign-up",
            state=unchanged,
        ):
            ledger.earning.sign_up(member=resident.account, activity_id=task.id)

    def test_the_requester_cannot_be_recorded_as_the_helper(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        resident = new_member(ledger)
        t = now(ledger)
        task = create_activity(
            ledger, vol, start=t - DAY, end=t + DAY, requester=resident.address
        ).activity

        with refused(
            ledger,
            StateConflict,
            "ActivityRequesterCannotServe",
            {"activityId": task.id, "member": resident.address},
            actor=vol.organiser.address,
            action="submit-record",
            state=state(ledger, vol, resident.address, activities=[task.id]),
        ):
            submit(ledger, vol, resident.address, t - 2 * HOUR, t - HOUR, activity_id=task.id)

    def test_a_task_answers_a_member_only(self, ledger: Ledger, vol: Earning) -> None:
        nobody = Account.create().address
        start, end = tomorrow(ledger)

        with refused(
            ledger,
            NotAMember,
            "ActivityMemberNotActive",
            {"member": nobody},
            actor=vol.organiser.address,
            action="create-activity",
            state=publication_state(ledger, vol),
        ):
            create_activity(ledger, vol, start=start, end=end, requester=nobody)


# --- joining --------------------------------------------------------------------------------------


class TestJoining:
    def test_a_member_signs_up(self, ledger: Ledger, vol: Earning) -> None:
        volunteer = funded_member(ledger)
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

    def test_nobody_else_assigns(self, ledger: Ledger, vol: Earning, member: Member) -> None:
        activity = open_activity(ledger, vol).activity

        with refused(
            ledger,
            NotAuthorized,
            "ActivityUnauthorized",
            {"schemeId": vol.id, "account": vol.reviewer.address},
            actor=vol.reviewer.address,
            action="assign",
            state=state(ledger, vol, member.address, activities=[activity.id]),
        ):
            ledger.earning.assign(
                organiser=vol.reviewer, activity_id=activity.id, member=member.address
            )

    def test_a_member_joins_once(self, ledger: Ledger, vol: Earning) -> None:
        volunteer = funded_member(ledger)
        activity = open_activity(ledger, vol).activity
        ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)
        args = {"activityId": activity.id, "member": volunteer.address}
        unchanged = state(ledger, vol, volunteer.address, activities=[activity.id])

        with refused(
            ledger,
            StateConflict,
            "ActivityAlreadyJoined",
            args,
            actor=volunteer.address,
            action="sign-up",
            state=unchanged,
        ):
            ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)
        with refused(
            ledger,
            StateConflict,
            "ActivityAlreadyJoined",
            args,
            actor=vol.organiser.address,
            action="assign",
            state=unchanged,
        ):
            ledger.earning.assign(
                organiser=vol.organiser, activity_id=activity.id, member=volunteer.address
            )

    def test_a_full_activity_takes_nobody_more(self, ledger: Ledger, vol: Earning) -> None:
        first, late = new_member(ledger), funded_member(ledger)
        activity = open_activity(ledger, vol, capacity=1).activity
        ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=first.address
        )
        args = {"activityId": activity.id, "capacity": 1}
        unchanged = state(ledger, vol, first.address, late.address, activities=[activity.id])

        with refused(
            ledger,
            StateConflict,
            "ActivityFull",
            args,
            actor=late.address,
            action="sign-up",
            state=unchanged,
        ):
            ledger.earning.sign_up(member=late.account, activity_id=activity.id)
        with refused(
            ledger,
            StateConflict,
            "ActivityFull",
            args,
            actor=vol.organiser.address,
            action="assign",
            state=unchanged,
        ):
            ledger.earning.assign(
                organiser=vol.organiser, activity_id=activity.id, member=late.address
            )

    def test_nobody_joins_an_activity_that_has_ended(self, ledger: Ledger, vol: Earning) -> None:
        volunteer = funded_member(ledger)
        t = now(ledger)
        activity = create_activity(ledger, vol, start=t - HOUR, end=t + 90).activity
        advance(ledger, max(1, activity.end + 60 - now(ledger)))

        with refused(
            ledger,
            StateConflict,
            "ActivityEnded",
            {"activityId": activity.id, "end": activity.end},
            actor=volunteer.address,
            action="sign-up",
            state=state(ledger, vol, volunteer.address, activities=[activity.id]),
        ):
            ledger.earning.sign_up(member=volunteer.account, activity_id=activity.id)

    def test_only_active_members_join(self, ledger: Ledger, vol: Earning) -> None:
        frozen = new_member(ledger)
        ledger.freeze_member(
            registrar=ledger.operator("registrar"), address=frozen.address, reason=3
        )
        activity = open_activity(ledger, vol).activity

        for account in (Account.create().address, frozen.address):
            with refused(
                ledger,
                NotAMember,
                "ActivityMemberNotActive",
                {"member": account},
                actor=vol.organiser.address,
                action="assign",
                state=state(ledger, vol, account, activities=[activity.id]),
            ):
                ledger.earning.assign(
                    organiser=vol.organiser, activity_id=activity.id, member=account
                )

    def test_an_unknown_activity_cannot_be_joined(self, ledger: Ledger, vol: Earning) -> None:
        volunteer = funded_member(ledger)
        unknown = ledger.activities.count() + 1000

        with refused(
            ledger,
            InvalidRequest,
            "ActivityUnknown",
            {"activityId": unknown},
            actor=volunteer.address,
            action="sign-up",
            state=state(ledger, vol, volunteer.address),
        ):
            ledger.earning.sign_up(member=volunteer.account, activity_id=unknown)
        with refused(
            ledger,
            InvalidRequest,
            "ActivityUnknown",
            {"activityId": 0},
            actor=vol.organiser.address,
            action="assign",
            state=state(ledger, vol),
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
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol).activity
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

        with refused(
            ledger,
            NotAuthorized,
            "ActivityUnauthorized",
            {"schemeId": vol.id, "account": stranger.address},
            actor=stranger.address,
            action="leave",
            state=state(ledger, vol, member.address, activities=[activity.id]),
        ):
            ledger.earning.leave(
                account=stranger.account, activity_id=activity.id, member=member.address
            )

    def test_only_a_participant_leaves(self, ledger: Ledger, vol: Earning, member: Member) -> None:
        activity = open_activity(ledger, vol).activity

        with refused(
            ledger,
            StateConflict,
            "ActivityNotJoined",
            {"activityId": activity.id, "member": member.address},
            actor=vol.organiser.address,
            action="leave",
            state=state(ledger, vol, member.address, activities=[activity.id]),
        ):
            ledger.earning.leave(
                account=vol.organiser, activity_id=activity.id, member=member.address
            )

    def test_a_volunteer_with_a_record_cannot_leave(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol).activity
        t = now(ledger)
        record = submit(
            ledger, vol, member.address, t - 2 * HOUR, t - HOUR, activity_id=activity.id
        ).record

        with refused(
            ledger,
            StateConflict,
            "ActivityAlreadyRecorded",
            {"activityId": activity.id, "member": member.address},
            actor=vol.organiser.address,
            action="leave",
            state=state(ledger, vol, member.address, activities=[activity.id], records=[record.id]),
        ):
            ledger.earning.leave(
                account=vol.organiser, activity_id=activity.id, member=member.address
            )


# --- cancelling -----------------------------------------------------------------------------------


class TestCancelling:
    def test_an_organiser_cancels_with_a_reason_and_nobody_joins_after(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol).activity

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
        with refused(
            ledger,
            StateConflict,
            "ActivityCancelledAlready",
            {"activityId": activity.id},
            actor=vol.organiser.address,
            action="assign",
            state=state(ledger, vol, member.address, activities=[activity.id]),
        ):
            ledger.earning.assign(
                organiser=vol.organiser, activity_id=activity.id, member=member.address
            )
        with refused(
            ledger,
            StateConflict,
            "ActivityCancelledAlready",
            {"activityId": activity.id},
            actor=vol.issuer.address,
            action="cancel-activity",
            state=state(ledger, vol, activities=[activity.id]),
        ):
            ledger.earning.cancel_activity(organiser=vol.issuer, activity_id=activity.id, reason=1)

    def test_records_submitted_before_cancellation_stay_reviewable(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol).activity
        t = now(ledger)
        record_id = submit(
            ledger, vol, member.address, t - 2 * HOUR, t - HOUR, activity_id=activity.id
        ).record.id
        ledger.earning.cancel_activity(organiser=vol.organiser, activity_id=activity.id, reason=3)

        record = ledger.earning.approve(reviewer=vol.reviewer, record_id=record_id, grade="B")

        assert (record.status, record.points) == (RecordStatus.APPROVED, 10)
        assert ledger.points.balance_of(member.address, vol.id) == 10

    def test_only_an_organiser_cancels(self, ledger: Ledger, vol: Earning) -> None:
        activity = open_activity(ledger, vol).activity

        with refused(
            ledger,
            NotAuthorized,
            "ActivityUnauthorized",
            {"schemeId": vol.id, "account": vol.reviewer.address},
            actor=vol.reviewer.address,
            action="cancel-activity",
            state=state(ledger, vol, activities=[activity.id]),
        ):
            ledger.earning.cancel_activity(
                organiser=vol.reviewer, activity_id=activity.id, reason=1
            )

    def test_a_cancellation_states_a_known_reason(self, ledger: Ledger, vol: Earning) -> None:
        activity = open_activity(ledger, vol).activity

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
        t = now(ledger)
        submit(ledger, vol, first.address, t - 2 * HOUR, t - HOUR, activity_id=activity.id)

        assert ledger.activities.activity(activity.id).places_left == 0
        with refused(
            ledger,
            StateConflict,
            "ActivityFull",
            {"activityId": activity.id, "capacity": 1},
            actor=vol.organiser.address,
            action="submit-record",
            state=state(ledger, vol, first.address, second.address, activities=[activity.id]),
        ):
            submit(ledger, vol, second.address, t - 2 * HOUR, t - HOUR, activity_id=activity.id)

    def test_after_a_rejection_the_volunteer_may_leave_and_free_the_place(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        other = new_member(ledger)
        activity = open_activity(ledger, vol, capacity=1).activity
        t = now(ledger)
        record_id = submit(
            ledger, vol, member.address, t - 2 * HOUR, t - HOUR, activity_id=activity.id
        ).record.id

        ledger.earning.reject(reviewer=vol.reviewer, record_id=record_id, reason=3)
        ledger.earning.leave(account=vol.organiser, activity_id=activity.id, member=member.address)

        assert ledger.activities.activity(activity.id).places_left == 1
        submit(ledger, vol, other.address, t - 2 * HOUR, t - HOUR, activity_id=activity.id)
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
