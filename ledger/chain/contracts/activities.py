"""Client of the Activities contract: the activities and tasks of a scheme, and who joined them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger.chain.contracts.base import ContractClient, from_struct
from ledger.chain.tx import Signer, TxResult

#: Reason codes for cancelling an activity.
CANCEL_REASONS: dict[int, str] = {
    1: "cancelled by the organiser",
    2: "weather or safety",
    3: "not enough participants",
    99: "other",
}


class Participation(IntEnum):
    NONE = 0
    ENROLLED = 1
    RECORDED = 2


@dataclass(frozen=True)
class Activity:
    """An activity or a task (IActivities.Activity; the fields after `id` in its order)."""

    id: int
    scheme_id: int
    capacity: int
    enrolled: int
    batch_records: int
    start: int
    end: int
    cancelled: bool
    organiser: str
    requester: str | None
    details_hash: bytes

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.enrolled - self.batch_records, 0)

    @property
    def is_task(self) -> bool:
        return self.requester is not None


class ActivitiesClient(ContractClient):
    def create_activity(
        self,
        account: Signer,
        scheme_id: int,
        start: int,
        end: int,
        capacity: int,
        details_hash: bytes,
    ) -> TxResult:
        return self._write(account, "createActivity", scheme_id, start, end, capacity, details_hash)

    def create_task(
        self,
        account: Signer,
        scheme_id: int,
        requester: str,
        start: int,
        end: int,
        details_hash: bytes,
    ) -> TxResult:
        return self._write(account, "createTask", scheme_id, requester, start, end, details_hash)

    def created_id(self, result: TxResult) -> int:
        return int(self._events(result, "ActivityCreated")[0]["args"]["activityId"])

    def cancel(self, account: Signer, activity_id: int, reason: int) -> TxResult:
        return self._write(account, "cancelActivity", activity_id, reason)

    def sign_up(self, account: Signer, activity_id: int) -> TxResult:
        return self._write(account, "signUp", activity_id)

    def assign(self, account: Signer, activity_id: int, member: str) -> TxResult:
        return self._write(account, "assign", activity_id, member)

    def leave(self, account: Signer, activity_id: int, member: str) -> TxResult:
        return self._write(account, "leave", activity_id, member)

    def activity(self, activity_id: int) -> Activity:
        raw = self._read("activity", activity_id)
        return from_struct(Activity, raw, id=activity_id)

    def count(self) -> int:
        return int(self._read("activityCount"))

    def participation(self, activity_id: int, member: str) -> Participation:
        return Participation(int(self._read("participation", activity_id, member)))
