"""ledger.earning.service: the off-chain half of earning. It checks input before sending, keeps the
details whose hash is on chain (what the 2021 rules on volunteer service records require), makes
every write repeatable and refuses evidence that already backs a record. Who may read the details,
and the refused attempts written down for auditors: test_earning_reading.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from ledger.chain.contracts import Limits, RecordStatus, Scheme
from ledger.errors import (
    InputError,
    InvalidAddress,
    InvalidRequest,
    NotAuthorized,
    StateConflict,
)
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.records import (
    RecordDetails,
    canonical_json,
    details_hash,
)
from ledger.values import parse_time, show_time
from tests.earning_helpers import (
    DETAILS,
    HOUR,
    LOOSE,
    WUHAN,
    Earning,
    create_activity,
    earn,
    evidence,
    now,
    open_activity,
    refused,
    refused_off_chain,
    shared_scheme,
    state,
    store_counts,
    submit,
    two_hours_ago,
)
from tests.factories import Member, new_member, new_scheme


def block(ledger: Ledger) -> int:
    return ledger.w3.eth.block_number


# --- limits ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unlimited(ledger: Ledger) -> Scheme:
    """A scheme with a rule but no limits yet."""
    issuer = ledger.operator("issuer-vol")
    scheme = new_scheme(ledger, issuer=issuer.address)
    ledger.publish_duration_rule(issuer=issuer, scheme=scheme.id, points_per_hour=10, grades=WUHAN)
    return scheme


class TestLimits:
    def test_the_issuer_sets_the_limits_and_setting_them_again_sends_nothing(
        self, ledger: Ledger, unlimited: Scheme
    ) -> None:
        issuer = ledger.operator("issuer-vol")
        limits = Limits(5, 480, 200, 800, 30, 10)

        assert ledger.earning.set_limits(issuer=issuer, scheme=unlimited.code, limits=limits) == (
            limits
        )
        height = block(ledger)
        assert ledger.earning.set_limits(issuer=issuer, scheme=unlimited.id, limits=limits) == (
            limits
        )
        assert block(ledger) == height
        assert ledger.earning.limits(unlimited.code) == limits
        assert ledger.earning.limits(unlimited.code).is_set

    @pytest.mark.parametrize(
        "change",
        [
            {"records_per_day": 0},
            {"records_per_day": 64},
            {"minutes_per_day": 0},
            {"minutes_per_day": 1441},
            {"points_per_day": 0},
            {"points_per_day": 2**28},
            {"points_per_week": 0},
            {"points_per_week": 2**36},
            {"approvals_per_hour": 0},
            {"late_working_days": 0},
            {"late_working_days": 61},
        ],
    )
    def test_every_limit_is_required_within_its_bounds(
        self, ledger: Ledger, vol: Earning, change: dict[str, int]
    ) -> None:
        with refused(
            ledger,
            InvalidRequest,
            "RecordsInvalidLimits",
            {},
            actor=vol.issuer.address,
            action="set-limits",
            state=lambda: (ledger.earning.limits(vol.id), store_counts(ledger)),
        ):
            ledger.earning.set_limits(
                issuer=vol.issuer, scheme=vol.id, limits=replace(LOOSE, **change)
            )

    def test_only_the_issuer_sets_limits(self, ledger: Ledger, vol: Earning) -> None:
        with refused(
            ledger,
            NotAuthorized,
            "RecordsUnauthorized",
            {"schemeId": vol.id, "account": vol.organiser.address},
            actor=vol.organiser.address,
            action="set-limits",
            state=lambda: ledger.earning.limits(vol.id),
        ):
            ledger.earning.set_limits(
                issuer=vol.organiser, scheme=vol.id, limits=replace(LOOSE, records_per_day=1)
            )

    def test_a_reviewers_cap_is_checked_before_sending(self, ledger: Ledger, vol: Earning) -> None:
        with refused_off_chain(ledger, InputError, "approvals per hour", state=state(ledger, vol)):
            ledger.earning.set_reviewer_cap(
                issuer=vol.issuer, scheme=vol.id, reviewer=vol.reviewer.address, per_hour=-1
            )


# --- times ----------------------------------------------------------------------------------------


class TestTimes:
    def test_a_time_without_a_zone_is_china_standard_time(self) -> None:
        expected = int(datetime(2026, 11, 20, 1, 0, tzinfo=UTC).timestamp())

        assert parse_time("2026-11-20 09:00") == expected
        assert parse_time("2026/11/20 09:00") == expected
        assert parse_time("2026-11-20T01:00:00+00:00") == expected
        assert parse_time(expected) == expected
        assert show_time(expected) == "2026-11-20 09:00"

    @pytest.mark.parametrize("text", ["yesterday", "2026-13-01 09:00", ""])
    def test_a_time_that_is_not_one_is_refused(self, text: str) -> None:
        with pytest.raises(InputError, match="is not a date and time"):
            parse_time(text)


# --- activity details -----------------------------------------------------------------------------


class TestActivityDetails:
    def test_publishing_the_same_activity_again_returns_it_and_sends_nothing(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        t = now(ledger)
        first = create_activity(ledger, vol, start=t + HOUR, end=t + 2 * HOUR, name="义诊")
        height, count = block(ledger), ledger.activities.count()

        again = create_activity(ledger, vol, start=t + HOUR, end=t + 2 * HOUR, name="义诊")

        assert again == first
        assert (block(ledger), ledger.activities.count()) == (height, count)

    def test_the_chain_holds_the_hash_of_the_details_the_store_keeps(
        self, ledger: Ledger, vol: Earning
    ) -> None:
        view = open_activity(ledger, vol)

        assert view.activity.details_hash == details_hash(view.details)
        assert ledger.earning.activity(view.activity.id) == view
        assert view in ledger.earning.activities(scheme=vol.id, last=5)

    def test_an_activity_names_what_the_rules_require(self, ledger: Ledger, vol: Earning) -> None:
        t = now(ledger)

        details: dict[str, Any] = dict(
            organiser=vol.organiser,
            scheme=vol.id,
            name="义诊",
            place="社区",
            content="测血压",
            organising_unit="社区卫生服务中心",
            person_in_charge="李医生",
            start=t + HOUR,
            end=t + 2 * HOUR,
            capacity=5,
        )

        with refused_off_chain(
            ledger, InputError, "missing details: place", state=state(ledger, vol)
        ):
            ledger.earning.create_activity(**{**details, "place": " "})
        with refused_off_chain(ledger, InputError, "longer than 500", state=state(ledger, vol)):
            ledger.earning.create_activity(**{**details, "name": "义" * 501})
        with refused_off_chain(ledger, InvalidAddress, "requester", state=state(ledger, vol)):
            create_activity(ledger, vol, start=t + HOUR, end=t + 2 * HOUR, requester="0x1234")


# --- record details -------------------------------------------------------------------------------


class TestRecordDetails:
    def test_the_store_keeps_what_the_rules_require_and_the_chain_its_hash(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        proof = evidence()

        view = submit(ledger, vol, member.address, start, end, evidence_hash=proof, content="理发")

        details = view.details
        assert details is not None
        assert {k: details[k] for k in DETAILS} == DETAILS
        assert details["content"] == "理发"
        assert details["volunteer"] == member.address
        assert (details["start"], details["end"]) == (show_time(start), show_time(end))
        assert details["date"] == show_time(start)[:10]
        assert details["hours"] == "2.00"
        assert details["evidence_hash"] == proof
        assert view.record.details_hash == details_hash(details)
        assert view.record.evidence_hash == bytes.fromhex(proof[2:])
        with session(ledger.engine) as db:
            row = db.exec(
                select(RecordDetails).where(RecordDetails.record_id == view.record.id)
            ).one()
        assert json.loads(row.details_json) == details
        assert row.details_json.encode() == canonical_json(details)
        assert (row.start, row.end, row.evidence_hash) == (start, end, proof)

    def test_a_record_of_an_activity_takes_its_name_place_and_organisers(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol)
        start, end = two_hours_ago(ledger)

        view = submit(ledger, vol, member.address, start, end, activity_id=activity.activity.id)

        assert view.details is not None
        assert view.details["activity"] == activity.details["name"]
        for key in ("place", "organising_unit", "person_in_charge"):
            assert view.details[key] == activity.details[key]

    def test_a_repeated_submission_returns_the_record_already_submitted(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        proof = evidence()
        first = submit(ledger, vol, member.address, start, end, evidence_hash=proof)
        rows, count = store_counts(ledger), ledger.records.record_count()

        again = submit(ledger, vol, member.address, start, end, evidence_hash=proof)
        keyed = submit(ledger, vol, member.address, start, end, record_key="VOL-2026-0001")
        keyed_again = submit(ledger, vol, member.address, start, end, record_key="VOL-2026-0001")

        assert again.record == first.record
        assert keyed_again.record == keyed.record
        assert keyed.record.id != first.record.id
        assert keyed.record_key == "VOL-2026-0001"
        assert ledger.records.record_count() == count + 1
        assert store_counts(ledger)["record_details"] == rows["record_details"] + 1

    @pytest.mark.parametrize(
        ("change", "kind", "match"),
        [
            ({"details": {"place": "社区"}}, InputError, "missing details: activity"),
            ({"content": " "}, InputError, "missing details: content"),
            ({"content": "长" * 501}, InputError, "longer than 500"),
            ({"evidence_hash": "0x1234"}, InputError, "32-byte hash"),
            ({"evidence_hash": "0x" + "00" * 32}, InputError, "32-byte hash"),
            ({"evidence_hash": "photo.jpg"}, InputError, "32-byte hash"),
            ({"volunteer": "0xnot-an-address"}, InvalidAddress, "volunteer address"),
            ({"employer": "someone"}, InvalidAddress, "employer address"),
            ({"start": "tomorrow morning"}, InputError, "not a date and time"),
        ],
    )
    def test_bad_input_is_refused_before_anything_is_written(
        self,
        ledger: Ledger,
        vol: Earning,
        member: Member,
        change: dict[str, Any],
        kind: type[InputError],
        match: str,
    ) -> None:
        start, end = two_hours_ago(ledger)
        call: dict[str, Any] = {
            "submitter": vol.organiser,
            "scheme": vol.id,
            "volunteer": member.address,
            "start": start,
            "end": end,
            "evidence_hash": evidence(),
            "content": "送餐",
            "details": dict(DETAILS),
        }
        call.update(change)

        with refused_off_chain(ledger, kind, match, state=state(ledger, vol, member.address)):
            ledger.earning.submit_record(**call)

    def test_a_fixed_point_report_cannot_end_before_it_starts(
        self, ledger: Ledger, member: Member
    ) -> None:
        bee = shared_scheme(ledger, "fixed")
        t = now(ledger)

        with refused_off_chain(
            ledger, InputError, "end is before the start", state=state(ledger, bee, member.address)
        ):
            submit(ledger, bee, member.address, t - 60, t - 61, action="safety_hazard")
        with refused_off_chain(
            ledger, InputError, "at most one day", state=state(ledger, bee, member.address)
        ):
            submit(ledger, bee, member.address, t - 86_401, t, action="safety_hazard")

    def test_a_scheme_without_a_rule_takes_no_records(self, ledger: Ledger, member: Member) -> None:
        scheme = new_scheme(ledger)
        start, end = two_hours_ago(ledger)

        with refused_off_chain(
            ledger,
            InputError,
            "no earning rule yet",
            state=lambda: (ledger.records.record_count(), store_counts(ledger)),
        ):
            ledger.earning.submit_record(
                submitter=ledger.operator("issuer-vol"),
                scheme=scheme.id,
                volunteer=member.address,
                start=start,
                end=end,
                evidence_hash=evidence(),
                content="送餐",
                details=dict(DETAILS),
            )

    def test_a_record_refused_by_the_chain_leaves_nothing_in_the_store(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol, capacity=1).activity
        ledger.earning.assign(
            organiser=vol.organiser, activity_id=activity.id, member=new_member(ledger).address
        )
        start, end = two_hours_ago(ledger)
        proof = evidence()

        with refused(
            ledger,
            StateConflict,
            "ActivityFull",
            {"activityId": activity.id, "capacity": 1},
            actor=vol.organiser.address,
            action="submit-record",
            state=state(ledger, vol, member.address, activities=[activity.id]),
        ):
            submit(
                ledger,
                vol,
                member.address,
                start,
                end,
                activity_id=activity.id,
                evidence_hash=proof,
            )

        # the evidence is free for the record that is right
        view = submit(ledger, vol, member.address, start, end, evidence_hash=proof)
        assert view.record.status is RecordStatus.PENDING

    def test_a_correction_is_a_new_record_and_both_stay_readable(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end, employer=vol.issuer.address)

        correction = ledger.earning.correct(
            submitter=vol.organiser,
            record_id=old_id,
            start=start,
            end=end - HOUR,
            evidence_hash=evidence(),
            content="实际一小时",
            reason="签到表记错",
        )
        ledger.earning.approve(reviewer=vol.reviewer, record_id=correction.record.id, grade="A")

        old = ledger.earning.details(record_id=old_id, viewer=member.address)
        new = ledger.earning.details(record_id=correction.record.id, viewer=member.address)
        assert old["hours"] == "2.00"
        assert (new["hours"], new["corrects"], new["correction_reason"]) == (
            "1.00",
            str(old_id),
            "签到表记错",
        )
        assert (new["place"], new["employer"]) == (DETAILS["place"], vol.issuer.address)
        assert correction.record_key is not None
        assert ledger.earning.view(old_id).record.status is RecordStatus.SUPERSEDED
        assert ledger.earning.view(correction.record.id).record.supersedes == old_id

    def test_a_repeated_correction_returns_the_correction_already_submitted(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end)
        request: dict[str, Any] = {
            "submitter": vol.organiser,
            "record_id": old_id,
            "start": start,
            "end": end - HOUR,
            "evidence_hash": evidence(),
            "content": "实际一小时",
            "reason": "签到表记错",
        }
        first = ledger.earning.correct(**request)
        count = ledger.records.record_count()

        again = ledger.earning.correct(**request)

        assert again.record == first.record
        assert ledger.records.record_count() == count

    def test_a_correction_states_its_reason(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        old_id = earn(ledger, vol, member.address, start, end)

        with refused_off_chain(
            ledger,
            InputError,
            "states its reason",
            state=state(ledger, vol, member.address, records=[old_id]),
        ):
            ledger.earning.correct(
                submitter=vol.organiser,
                record_id=old_id,
                start=start,
                end=end - 60,
                evidence_hash=evidence(),
                content="x",
                reason="  ",
            )
