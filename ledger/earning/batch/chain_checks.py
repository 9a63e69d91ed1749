"""A plan's rows checked against the chain before anything is sent: members active, each
volunteer's time order and caps from their standing, places left in each activity, the two people
of the run, and the reviewer's hourly cap and the scheme's quota."""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from ledger.chain.connection import batch_calls
from ledger.chain.contracts import Limits, MemberStatus
from ledger.chain.roles import role
from ledger.earning.batch.parts import BatchParts
from ledger.earning.batch.rows import Row, RowError
from ledger.values import day_of, show_time

_STATUS = function_signature_to_4byte_selector("statusOf(address)")
_STANDING = function_signature_to_4byte_selector("standing(uint256,address)")


class _Standing:
    """A volunteer's standing as the ledger keeps it, advanced row by row (IPointsLedger._earn)."""

    def __init__(self, word: Sequence[int]) -> None:
        (
            _,
            self.last_end,
            self.day,
            self.day_records,
            self.day_minutes,
            self.day_points,
            self.week_points,
            _,
        ) = word

    def apply(self, limits: Limits, start: int, end: int, minutes: int, points: int) -> str | None:
        if start < self.last_end or (start == end and start == self.last_end and self.last_end):
            return (
                f"starts {show_time(start)}, before the end of this volunteer's previous paid "
                f"service ({show_time(self.last_end)}): a volunteer's records are paid in time "
                "order and never overlap"
            )
        day = day_of(start)
        same_day = day == self.day
        same_week = (day + 3) // 7 == (self.day + 3) // 7
        day_records = 1 + (self.day_records if same_day else 0)
        day_minutes = minutes + (self.day_minutes if same_day else 0)
        day_points = points + (self.day_points if same_day else 0)
        week_points = points + (self.week_points if same_week else 0)
        for value, cap, what in (
            (day_records, limits.records_per_day, "records per day"),
            (day_minutes, limits.minutes_per_day, "minutes of service per day"),
            (day_points, limits.points_per_day, "points per day"),
            (week_points, limits.points_per_week, "points per week"),
        ):
            if value > cap:
                return f"over the scheme's limit of {cap} {what} for this volunteer"
        self.last_end, self.day = end, day
        self.day_records, self.day_minutes, self.day_points = day_records, day_minutes, day_points
        self.week_points = week_points
        return None


def against_chain(
    ledger: BatchParts,
    scheme_id: int,
    limits: Limits,
    *,
    duration: bool,
    rows: list[Row],
    errors: list[RowError],
) -> list[Row]:
    """Members active; per volunteer, time order and caps from their standing on chain; places
    left in each activity; the scheme's quota. Returns the rows in the order they will be paid."""
    volunteers = sorted({r.volunteer for r in rows})
    members = ledger.members.address
    points = ledger.points.address
    calls: list[tuple[str, bytes]] = []
    for v in volunteers:
        calls.append((members, _STATUS + bytes(12) + bytes.fromhex(v[2:])))
        calls.append(
            (points, _STANDING + scheme_id.to_bytes(32, "big") + bytes(12) + bytes.fromhex(v[2:]))
        )
    answers = batch_calls(ledger.w3, calls)
    status: dict[str, MemberStatus] = {}
    standing: dict[str, _Standing] = {}
    for i, v in enumerate(volunteers):
        status[v] = MemberStatus(int.from_bytes(answers[2 * i], "big"))
        standing[v] = _Standing(abi_decode(["uint256"] * 8, answers[2 * i + 1]))
    ordered = _payment_order(rows)
    good: list[Row] = []
    places: dict[int, int] = {}
    for row in ordered:
        problem = None
        if status[row.volunteer] is MemberStatus.NONE:
            problem = "the volunteer is not a registered member"
        elif status[row.volunteer] is MemberStatus.FROZEN:
            problem = "the volunteer's account is frozen"
        elif status[row.volunteer] is not MemberStatus.ACTIVE:
            problem = "the volunteer's account was recovered to another address"
        if problem is None and row.activity_id:
            if row.activity_id not in places:
                places[row.activity_id] = ledger.activities.activity(row.activity_id).places_left
            if places[row.activity_id] <= 0:
                problem = f"activity {row.activity_id} has no places left"
            else:
                places[row.activity_id] -= 1
        if problem is None:
            minutes = (row.end - row.start) // 60 if duration else 0
            problem = standing[row.volunteer].apply(limits, row.start, row.end, minutes, row.points)
        if problem is not None:
            errors.append(RowError(row.line, row.record_id, problem))
            continue
        good.append(row)
    return good


def check_people(
    ledger: BatchParts, scheme_id: int, issuer: str, organiser: str, reviewer: str
) -> list[RowError]:
    """What ServiceRecords checks of the two people of a run (submitBatch, approveBatch)."""
    problems = []
    if organiser == reviewer:
        problems.append(
            f"the organiser and the reviewer are the same account ({organiser}): a batch is "
            "approved by another person than the one who submits it (four eyes)"
        )
    if organiser != issuer and not ledger.schemes.has_scheme_role(
        scheme_id, role("organiser").id, organiser
    ):
        problems.append(
            f"{organiser} is neither the scheme's issuer nor one of its organisers, so cannot "
            "submit its batches (`vpl role grant organiser`)"
        )
    if not ledger.schemes.has_scheme_role(scheme_id, role("reviewer").id, reviewer):
        problems.append(
            f"{reviewer} is not a reviewer of the scheme, so cannot approve its batches "
            "(`vpl role grant reviewer`)"
        )
    return [RowError(1, "", p) for p in problems]


def within_caps(
    ledger: BatchParts, scheme_id: int, reviewer: str, rows: list[Row], errors: list[RowError]
) -> list[Row]:
    """The rows (in payment order) that fit both the reviewer's approvals left this hour and the
    scheme's quota left, read from the contracts that enforce them; each row past either is
    left out with a reason, so nothing is submitted that the approval would refuse. A chunk
    planned by an earlier run stays whole."""
    used, cap = ledger.records.reviewer_load(scheme_id, reviewer)
    quota = ledger.points.remaining_quota(scheme_id)
    units: list[list[Row]] = []
    for row in rows:
        if row.chunk_hash and units and units[-1][0].chunk_hash == row.chunk_hash:
            units[-1].append(row)
        else:
            units.append([row])
    kept: list[Row] = []
    over_cap: list[Row] = []
    over_quota: list[Row] = []
    approvals, points = 0, 0
    for unit in units:
        n, earned = len(unit), sum(r.points for r in unit)
        if used + approvals + n > cap:
            over_cap += unit
        elif points + earned > quota:
            over_quota += unit
        else:
            kept += unit
            approvals, points = approvals + n, points + earned
    if over_cap:
        need = len(rows)
        errors.append(
            RowError(
                1,
                "",
                f"the reviewer {reviewer} has used {used} of their {cap} approvals this hour "
                f"(the scheme's anti-farming cap) and the {need} records to pay need {need} "
                f"more, {used + need - cap} over the cap: pay {max(cap - used, 0)} now and the "
                "rest next hour, or name another reviewer",
            )
        )
        errors += [
            RowError(r.line, r.record_id, "over the reviewer's approvals this hour (see line 1)")
            for r in over_cap
        ]
    if over_quota:
        total = sum(r.points for r in rows) - sum(r.points for r in over_cap)
        errors.append(
            RowError(
                1,
                "",
                f"the rows earn {total} points but the scheme has {quota} points of quota left "
                "in this period",
            )
        )
        errors += [
            RowError(r.line, r.record_id, "over the scheme's quota left (see line 1)")
            for r in over_quota
        ]
    return kept


def _payment_order(rows: list[Row]) -> list[Row]:
    """Chunks planned by an earlier run first (in their order), then the rest by start time."""
    planned = [r for r in rows if r.chunk_hash]
    fresh = sorted((r for r in rows if not r.chunk_hash), key=lambda r: (r.start, r.end, r.line))
    return planned + fresh
