"""Reading what was earned through ``ledger.earning``: a record's details shown only to the
volunteer, the community that reviews it and the employer the volunteer names (三方可见), each
read logged; refused attempts written down for auditors without personal data; records listed by
scheme, status and volunteer."""

from __future__ import annotations

import pytest
from eth_account import Account
from sqlmodel import select

from ledger.chain.contracts import RecordStatus
from ledger.errors import AccessDenied, RecordNotFound, StateConflict
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.records import DetailsAccess
from tests.earning_helpers import (
    HOUR,
    Earning,
    earn,
    evidence,
    now,
    open_activity,
    submit,
    two_hours_ago,
)
from tests.factories import Member, new_member


def accesses(ledger: Ledger, record_id: int) -> list[tuple[str, str]]:
    with session(ledger.engine) as db:
        rows = db.exec(select(DetailsAccess).where(DetailsAccess.record == record_id)).all()
    return [(r.viewer, r.capacity) for r in rows]


# --- who may read the details (三方可见) ------------------------------------------------------------


class TestVisibility:
    @pytest.fixture
    def record(self, ledger: Ledger, vol: Earning, member: Member) -> tuple[int, str]:
        """A record naming an employer organisation (here: a fresh account)."""
        employer = Account.create().address
        start, end = two_hours_ago(ledger)
        view = submit(ledger, vol, member.address, start, end, employer=employer)
        return view.record.id, employer

    @pytest.mark.parametrize("who", ["volunteer", "employer", "issuer", "reviewer", "organiser"])
    def test_the_three_parties_read_the_details_and_each_read_is_logged(
        self,
        ledger: Ledger,
        vol: Earning,
        member: Member,
        record: tuple[int, str],
        who: str,
    ) -> None:
        record_id, employer = record
        viewer = {
            "volunteer": member.address,
            "employer": employer,
            "issuer": vol.issuer.address,
            "reviewer": vol.reviewer.address,
            "organiser": vol.organiser.address,
        }[who]

        details = ledger.earning.details(record_id=record_id, viewer=viewer)

        assert details["employer"] == employer
        assert details["volunteer"] == member.address
        assert accesses(ledger, record_id) == [(viewer, who)]
        assert ledger.earning.view(record_id, viewer=viewer).details == details

    @pytest.mark.parametrize(
        "who", ["another member", "auditor", "other scheme's staff", "stranger"]
    )
    def test_nobody_else_reads_them(
        self, ledger: Ledger, vol: Earning, record: tuple[int, str], who: str
    ) -> None:
        record_id, _ = record
        viewer = {
            "another member": new_member(ledger).address,
            "auditor": ledger.operator("auditor").address,
            "other scheme's staff": ledger.operator("issuer-traffic").address,
            "stranger": Account.create().address,
        }[who]

        with pytest.raises(AccessDenied, match="visible to the volunteer"):
            ledger.earning.details(record_id=record_id, viewer=viewer)

        assert accesses(ledger, record_id) == []
        view = ledger.earning.view(record_id, viewer=viewer)
        assert view.details is None
        assert view.record.id == record_id

    def test_every_read_of_the_details_is_logged(
        self, ledger: Ledger, member: Member, record: tuple[int, str]
    ) -> None:
        record_id, _ = record

        details = ledger.earning.view(record_id, viewer=member.address).details

        assert details is not None
        assert accesses(ledger, record_id) == [(member.address, "volunteer")]

    def test_without_an_employer_named_no_employer_reads(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        record_id = submit(ledger, vol, member.address, start, end).record.id
        someone = Account.create().address

        with pytest.raises(AccessDenied):
            ledger.earning.details(record_id=record_id, viewer=someone)
        assert "employer" not in ledger.earning.details(record_id=record_id, viewer=member.address)

    def test_a_record_whose_details_the_store_lacks_says_so(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        result = ledger.records.submit_record(
            vol.organiser,
            scheme_id=vol.id,
            activity_id=0,
            volunteer=member.address,
            start=start,
            end=end,
            action=bytes(32),
            details_hash=bytes.fromhex(evidence()[2:]),
            evidence_hash=bytes.fromhex(evidence()[2:]),
        )
        record_id = ledger.records.submitted_id(result)

        with pytest.raises(RecordNotFound):
            ledger.earning.details(record_id=record_id, viewer=member.address)
        assert ledger.earning.view(record_id, viewer=member.address).details is None


# --- evidence for auditors ------------------------------------------------------------------------


class TestRefusals:
    def test_a_refusal_says_who_tried_what_on_what_and_why_without_personal_data(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        start, end = two_hours_ago(ledger)
        record_id = earn(ledger, vol, member.address, start, end)

        with pytest.raises(StateConflict) as info:
            ledger.earning.approve(reviewer=vol.reviewers[1], record_id=record_id, grade="A")

        row = ledger.earning.refusals(last=1)[0]
        assert (row.actor, row.action, row.subject) == (
            vol.reviewers[1].address,
            "approve",
            f"record {record_id}",
        )
        assert (row.code, row.error) == ("state_conflict", "RecordsNotPending")
        assert row.message == str(info.value)
        assert f"record {record_id} is approved" in row.message
        personal = (member.personal.name, member.personal.id_number, member.personal.phone)
        for secret in filter(None, personal):
            assert secret not in row.message

    def test_refusals_are_listed_newest_first(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        activity = open_activity(ledger, vol).activity
        for _ in range(2):
            with pytest.raises(StateConflict):
                ledger.earning.leave(
                    account=vol.organiser, activity_id=activity.id, member=member.address
                )

        rows = ledger.earning.refusals(last=2)
        assert len(rows) == 2
        assert rows[0].id is not None and rows[1].id is not None
        assert rows[0].id > rows[1].id
        assert rows[0].at >= rows[1].at
        assert {r.error for r in rows} == {"ActivityNotJoined"}


class TestListing:
    def test_records_of_a_scheme_by_status_newest_first(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        t = now(ledger)
        approved = earn(ledger, vol, member.address, t - 5 * HOUR, t - 4 * HOUR)
        pending = submit(ledger, vol, member.address, t - 3 * HOUR, t - 2 * HOUR).record.id

        latest = ledger.earning.records_of(scheme=vol.id, last=2)
        only_approved = ledger.earning.records_of(
            scheme=vol.id, status=RecordStatus.APPROVED, last=1
        )

        assert [r.id for r in latest] == [pending, approved]
        assert [r.id for r in only_approved] == [approved]
        assert all(r.scheme_id == vol.id for r in ledger.earning.records_of(scheme=vol.id, last=5))

    def test_a_volunteers_records_and_who_may_read_their_details(
        self, ledger: Ledger, vol: Earning, member: Member
    ) -> None:
        t = now(ledger)
        employer = Account.create().address
        mine = earn(ledger, vol, member.address, t - 5 * HOUR, t - 4 * HOUR, employer=employer)
        other = new_member(ledger)
        earn(ledger, vol, other.address, t - 5 * HOUR, t - 4 * HOUR)

        assert [r.id for r in ledger.earning.records_of(volunteer=member.address)] == [mine]
        record = ledger.earning.existing(mine)
        ledger.earning.view(mine, viewer=employer)
        seen = ledger.earning.visibility(record)
        assert (seen.volunteer, seen.employer, seen.issuer) == (
            member.address,
            employer,
            vol.issuer.address,
        )
        assert seen.details_kept and [(r.viewer, r.capacity) for r in seen.reads] == [
            (employer, "employer")
        ]
        with pytest.raises(RecordNotFound, match="no service record"):
            ledger.earning.existing(10**12)
