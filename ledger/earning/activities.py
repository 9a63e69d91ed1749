"""Activities and tasks: an organiser publishes an activity (or a task answering a resident's
request) whose details stay off chain and whose hash goes on chain; members sign up, are assigned
and leave; an organiser cancels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from ledger.chain.contracts import Activity
from ledger.chain.contracts.activities import CANCEL_REASONS
from ledger.chain.tx import Signer
from ledger.earning.parts import ActivityParts
from ledger.earning.refusals import RefusalLog
from ledger.errors import ContractRevert, InputError
from ledger.store import session, utcnow
from ledger.store.records import ActivityDetails, canonical_json, details_hash
from ledger.values import check_text_fields, parse_address, parse_time, show_time


@dataclass(frozen=True)
class ActivityView:
    activity: Activity
    details: dict[str, Any]


class ActivityBoard:
    """Activities and tasks: on chain, with their details in the store."""

    def __init__(self, parts: ActivityParts, refusals: RefusalLog) -> None:
        self.parts, self.refusals = parts, refusals

    def create_activity(
        self,
        *,
        organiser: Signer,
        scheme: str | int,
        name: str,
        place: str,
        content: str,
        organising_unit: str,
        person_in_charge: str,
        start: str | int | datetime,
        end: str | int | datetime,
        capacity: int,
        requester: str | None = None,
    ) -> ActivityView:
        """Publish an activity (or, with `requester`, a task answering a resident's request).

        The details stay off chain; their hash goes on chain. Publishing the same details again
        returns the activity already published (also after an interruption).
        """
        s = self.parts.scheme(scheme)
        start_ts, end_ts = parse_time(start, what="start"), parse_time(end, what="end")
        if end_ts <= start_ts:
            raise InputError("an activity ends after it starts")
        if requester is not None:
            requester = parse_address(requester, what="requester address")
        if not 1 <= capacity <= 100_000:
            raise InputError(f"capacity must be 1-100000 (got {capacity})")
        details = check_text_fields(
            {
                "kind": "task" if requester else "activity",
                "scheme": s.code,
                "name": name,
                "place": place,
                "content": content,
                "organising_unit": organising_unit,
                "person_in_charge": person_in_charge,
                "start": show_time(start_ts),
                "end": show_time(end_ts),
                "capacity": str(1 if requester else capacity),
            },
            ("name", "place", "content", "organising_unit", "person_in_charge"),
        )
        digest = details_hash(details)
        with session(self.parts.engine) as db:
            row = db.exec(
                select(ActivityDetails).where(ActivityDetails.details_hash == "0x" + digest.hex())
            ).first()
        if row is not None and row.activity_id is not None:
            return self.activity(row.activity_id)
        if row is not None:
            found = self._find_created(organiser.address, digest)
            if found is not None:
                self._set_activity_id(digest, found)
                return self.activity(found)
        else:
            with session(self.parts.engine) as db:
                db.add(
                    ActivityDetails(
                        scheme_id=s.id,
                        details_hash="0x" + digest.hex(),
                        details_json=canonical_json(details).decode(),
                        created_at=utcnow(),
                    )
                )
        try:
            with self.refusals.attempt(organiser.address, "create-activity", s.code):
                if requester is None:
                    result = self.parts.activities.create_activity(
                        organiser, s.id, start_ts, end_ts, capacity, digest
                    )
                else:
                    result = self.parts.activities.create_task(
                        organiser, s.id, requester, start_ts, end_ts, digest
                    )
        except ContractRevert:
            with session(self.parts.engine) as db:
                pending = db.exec(
                    select(ActivityDetails).where(
                        ActivityDetails.details_hash == "0x" + digest.hex(),
                        col(ActivityDetails.activity_id).is_(None),
                    )
                ).first()
                if pending is not None:
                    db.delete(pending)
            raise
        activity_id = self.parts.activities.created_id(result)
        self._set_activity_id(digest, activity_id)
        return self.activity(activity_id)

    def _find_created(self, organiser: str, digest: bytes) -> int | None:
        """An activity this organiser created with these details (an interrupted run)."""
        event = self.parts.activities.contract.events.ActivityCreated()
        for entry in event.get_logs(from_block=0, argument_filters={"organiser": organiser}):
            if bytes(entry["args"]["detailsHash"]) == digest:
                return int(entry["args"]["activityId"])
        return None

    def _set_activity_id(self, digest: bytes, activity_id: int) -> None:
        with session(self.parts.engine) as db:
            row = db.exec(
                select(ActivityDetails).where(ActivityDetails.details_hash == "0x" + digest.hex())
            ).one()
            row.activity_id = activity_id
            db.add(row)

    def activity(self, activity_id: int) -> ActivityView:
        activity = self.parts.activities.activity(activity_id)
        with session(self.parts.engine) as db:
            row = db.exec(
                select(ActivityDetails).where(ActivityDetails.activity_id == activity_id)
            ).first()
        details = json.loads(row.details_json) if row is not None else {}
        return ActivityView(activity=activity, details=details)

    def activities(self, *, scheme: str | int | None = None, last: int = 100) -> list[ActivityView]:
        scheme_id = self.parts.scheme(scheme).id if scheme is not None else None
        count = self.parts.activities.count()
        out: list[ActivityView] = []
        for activity_id in range(count, 0, -1):
            view = self.activity(activity_id)
            if scheme_id is None or view.activity.scheme_id == scheme_id:
                out.append(view)
            if len(out) >= last:
                break
        return out

    def sign_up(self, *, member: Signer, activity_id: int) -> Activity:
        with self.refusals.attempt(member.address, "sign-up", f"activity {activity_id}"):
            self.parts.activities.sign_up(member, activity_id)
        return self.parts.activities.activity(activity_id)

    def assign(self, *, organiser: Signer, activity_id: int, member: str) -> Activity:
        member = parse_address(member, what="member address")
        with self.refusals.attempt(organiser.address, "assign", f"activity {activity_id}"):
            self.parts.activities.assign(organiser, activity_id, member)
        return self.parts.activities.activity(activity_id)

    def leave(self, *, account: Signer, activity_id: int, member: str) -> Activity:
        member = parse_address(member, what="member address")
        with self.refusals.attempt(account.address, "leave", f"activity {activity_id}"):
            self.parts.activities.leave(account, activity_id, member)
        return self.parts.activities.activity(activity_id)

    def cancel_activity(self, *, organiser: Signer, activity_id: int, reason: int) -> Activity:
        if reason not in CANCEL_REASONS:
            raise InputError(
                "reason must be one of "
                + ", ".join(f"{k} ({v})" for k, v in CANCEL_REASONS.items())
            )
        with self.refusals.attempt(organiser.address, "cancel-activity", f"activity {activity_id}"):
            self.parts.activities.cancel(organiser, activity_id, reason)
        return self.parts.activities.activity(activity_id)


def activity_data(activity: Activity, details: dict[str, Any]) -> dict[str, Any]:
    """An activity as the CLI and the API show it."""
    return {
        "id": activity.id,
        "scheme_id": activity.scheme_id,
        "kind": "task" if activity.is_task else "activity",
        "start": show_time(activity.start),
        "end": show_time(activity.end),
        "capacity": activity.capacity,
        "enrolled": activity.enrolled,
        "batch_records": activity.batch_records,
        "places_left": activity.places_left,
        "cancelled": activity.cancelled,
        "organiser": activity.organiser,
        "requester": activity.requester,
        "details_hash": activity.details_hash,
        "details": details,
    }
