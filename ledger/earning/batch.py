"""Batch issuance from a CSV file: `vpl issue batch FILE.csv`, the issuer's daily work.

1. ``plan_batch`` reads the whole file and checks every row against everything the chain will
   check (member active, time order and caps per volunteer, activity window and places, rule,
   quota, four eyes) plus what only the store can check (record ids and evidence never reused). It
   reports every bad row with its line number.
2. ``run_batch`` writes nothing if any row is bad (unless told to pay only the good rows), then
   pays the rows in chunks: per chunk the organiser submits the hash of its records and a reviewer
   approves it with the records, in one transaction each, which mints all their points.

It is idempotent and resumable: each record is written to the store with the hash of its chunk
before that chunk goes on chain, so a run killed at any point and started again finds every chunk
on chain by its hash, approves what was submitted, skips what was paid, and pays each record once.

The file format is in docs/issuers-cli.md ("Batch issuance"); an example is
scripts/examples/batch-records.csv.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
import time
import unicodedata
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector
from sqlalchemy import insert
from sqlmodel import col, select
from web3 import Web3

from ledger.chain.connection import batch_calls
from ledger.chain.contracts import DurationRule, FixedRule, Limits, MemberStatus
from ledger.chain.contracts.records import (
    MAX_BATCH,
    BatchStatus,
    PackedRecord,
    pack_records,
    records_hash,
)
from ledger.chain.contracts.rules import GRADE_LETTERS
from ledger.chain.roles import role
from ledger.chain.tx import Sent, Signer, TxResult
from ledger.earning.chunks import link_approved_chunks, mark_chunk_paid
from ledger.earning.records import REQUIRED_DETAILS
from ledger.errors import (
    ChainError,
    InputError,
    InvalidRows,
    LedgerError,
    RetryableChainError,
)
from ledger.store import session, utcnow
from ledger.store.records import (
    BatchChunk,
    BatchJob,
    RecordDetails,
    RefusedAttempt,
    canonical_json,
    details_hash,
    file_sha256,
)
from ledger.values import day_of, parse_hash, parse_time, show_time, working_days_between

if TYPE_CHECKING:
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("record_id", "volunteer", "start", "end", "content", "evidence_hash")
OPTIONAL_COLUMNS = (
    "grade",
    "action",
    "activity_id",
    "activity",
    "place",
    "organising_unit",
    "person_in_charge",
    "employer",
    "scheme",
)
MAX_ROWS = 200_000
DEFAULT_CHUNK = 200
_STATUS = function_signature_to_4byte_selector("statusOf(address)")
_STANDING = function_signature_to_4byte_selector("standing(uint256,address)")


@dataclass(frozen=True)
class RowError:
    line: int
    record_id: str
    message: str

    def __str__(self) -> str:
        label = f" ({self.record_id})" if self.record_id else ""
        return f"line {self.line}{label}: {self.message}"


@dataclass
class Row:
    line: int
    record_id: str
    volunteer: str
    activity_id: int
    start: int
    end: int
    code: int
    points: int
    details: dict[str, str]
    details_hash: bytes
    evidence_hash: bytes
    employer: str | None
    #: The chunk this record was planned into by an earlier run, if any.
    chunk_hash: str | None = None

    def packed(self) -> PackedRecord:
        return PackedRecord(
            volunteer=self.volunteer,
            activity_id=self.activity_id,
            start=self.start,
            end=self.end,
            code=self.code,
            details_hash=self.details_hash,
            evidence_hash=self.evidence_hash,
        )


@dataclass(frozen=True)
class Skipped:
    line: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class Normalised:
    """A row whose values were rewritten as read: which fields, and how (dates shown)."""

    line: int
    record_id: str
    changes: tuple[str, ...]

    def __str__(self) -> str:
        label = f" ({self.record_id})" if self.record_id else ""
        return f"line {self.line}{label}: {'; '.join(self.changes)}"


@dataclass
class BatchPlan:
    scheme_id: int
    scheme_code: str
    path: Path
    file_sha256: str
    rule_version: int
    rows: list[Row]
    errors: list[RowError]
    skipped: list[Skipped]
    total_rows: int
    #: Rows whose values were normalised as read (full-width characters, Excel's date forms).
    normalised: list[Normalised] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.rows)

    def raise_if_bad(self) -> None:
        if self.errors:
            shown = "\n".join(f"  {e}" for e in self.errors[:200])
            more = f"\n  ... and {len(self.errors) - 200} more" if len(self.errors) > 200 else ""
            raise InvalidRows(
                f"{len(self.errors)} bad row(s) in {self.path.name}; nothing was written:\n"
                f"{shown}{more}",
                rows=[
                    {"line": e.line, "record_id": e.record_id, "error": e.message}
                    for e in self.errors
                ],
            )


@dataclass
class BatchReport:
    job_id: int
    scheme_code: str
    paid_records: int
    points: int
    batches: list[int]
    skipped: list[Skipped]
    bad_rows: list[RowError]
    seconds: float
    resumed_chunks: int = 0
    gas_used: int = 0
    transactions: list[str] = field(default_factory=list)

    @property
    def records_per_second(self) -> float:
        return self.paid_records / self.seconds if self.seconds > 0 else 0.0


# --- reading and checking the file ------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _checksum(text: str) -> str:
    return Web3.to_checksum_address(text)


def _decode(raw: bytes) -> tuple[str, set[int]]:
    """The text of the file and the line numbers that are not UTF-8."""
    bad: set[int] = set()
    lines = raw.split(b"\n")
    decoded = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            bad.add(number)
            decoded.append(line.decode("utf-8", errors="replace"))
    text = "\n".join(decoded)
    return text.removeprefix("\ufeff"), bad


#: Columns holding values, not prose: read after Unicode NFKC (full-width digits and letters, as
#: spreadsheets in zh-CN may write them, become ASCII). Free text keeps its full-width punctuation.
_VALUE_COLUMNS = frozenset(
    ("record_id", "volunteer", "start", "end", "grade", "action", "activity_id",
     "evidence_hash", "employer", "scheme")
)  # fmt: skip
#: Excel's date forms (zh-CN exports write 2026/12/2 7:00): year, month, day, hour, minute and
#: perhaps seconds, without leading zeros.
_EXCEL_TIME = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _normalise(values: dict[str, str]) -> list[str]:
    """Rewrite `values` in place: NFKC for value columns, Excel's date forms as ISO 8601; what
    changed, for the report (dates shown, other values named only)."""
    changes = []
    for name in sorted(values.keys() & _VALUE_COLUMNS):
        before = values[name]
        after = unicodedata.normalize("NFKC", before).strip()
        if name in ("start", "end") and (m := _EXCEL_TIME.match(after)):
            year, month, day, hour, minute, second = m.groups()
            after = f"{year}-{int(month):02d}-{int(day):02d} {int(hour):02d}:{minute}"
            after += f":{second}" if second else ""
        if after != before:
            values[name] = after
            shown = (
                f"{before!r} read as {after!r}"
                if name in ("start", "end")
                else "full-width characters read as plain ones"
            )
            changes.append(f"{name} {shown}")
    return changes


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


def plan_batch(
    ledger: Ledger,
    path: Path,
    *,
    scheme: str | int,
    organiser: str,
    reviewer: str,
) -> BatchPlan:
    """Read and check every row of `path`; nothing is written."""
    s = ledger.scheme(scheme)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    text, bad_lines = _decode(raw)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not header:
        raise InvalidRows(f"{path.name} is empty: it needs a header line", rows=[])
    if missing:
        raise InvalidRows(
            f"{path.name} lacks the column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(REQUIRED_COLUMNS)} (and may name {', '.join(OPTIONAL_COLUMNS)})",
            rows=[{"line": 1, "record_id": "", "error": f"missing columns: {', '.join(missing)}"}],
        )
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    rule = ledger._current_rule(s.id)
    if rule is None:
        raise InputError(f"scheme {s.code} has no earning rule yet; its issuer publishes one")
    limits = ledger.records.limits(s.id)
    if not limits.is_set:
        raise InputError(f"scheme {s.code} has no anti-farming limits yet (`vpl limits set`)")
    organiser = Web3.to_checksum_address(organiser)
    reviewer = Web3.to_checksum_address(reviewer)
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    today = day_of(now)

    errors: list[RowError] = []
    normalised: list[Normalised] = []
    if unknown:
        errors.append(RowError(1, "", f"unknown column(s) {', '.join(unknown)}"))
    rows: list[Row] = []
    seen_ids: dict[str, int] = {}
    seen_evidence: dict[bytes, int] = {}
    activity_cache: dict[int, Any] = {}
    total = 0
    for record in reader:
        total += 1
        line = reader.line_num
        if total > MAX_ROWS:
            raise InputError(f"a file holds at most {MAX_ROWS} rows; split {path.name}")
        values = {k.strip(): (v or "").strip() for k, v in record.items() if k}
        changes = _normalise(values)
        record_id = values.get("record_id", "")
        if changes:
            normalised.append(Normalised(line, record_id, tuple(changes)))
        problems: list[str] = []
        if line in bad_lines:
            problems.append("not UTF-8 text (save the file as UTF-8)")
        if None in record:
            problems.append("more fields than the header names")
        if not record_id:
            problems.append("record_id is empty")
        elif record_id in seen_ids:
            problems.append(
                f"duplicate row: record_id {record_id} is also on line {seen_ids[record_id]}"
            )
        else:
            seen_ids[record_id] = line
        if values.get("scheme") and values["scheme"].upper() != s.code:
            problems.append(f"scheme {values['scheme']} is not {s.code}, the scheme of this run")
        volunteer = ""
        try:
            volunteer = _checksum(values.get("volunteer", ""))
        except ValueError:
            problems.append(f"volunteer {values.get('volunteer')!r} is not an address")
        if volunteer and volunteer in (organiser, reviewer):
            problems.append(
                "the volunteer is the organiser or the reviewer of this run (four eyes)"
            )
        start = end = 0
        try:
            start = parse_time(values.get("start", ""), what="start")
            end = parse_time(values.get("end", ""), what="end")
        except InputError as exc:
            problems.append(str(exc))
        duration = isinstance(rule, DurationRule)
        if start and end:
            if end < start or (duration and end - start < 60):
                problems.append("the service must last at least a minute: end after start")
            elif end - start > 86400:
                problems.append("a record covers at most one day of service")
            if end > now:
                problems.append(f"the service ends {show_time(end)}, in the future")
            elif working_days_between(day_of(end), today) > limits.late_working_days:
                problems.append(
                    f"entered late (more than {limits.late_working_days} working days after "
                    "the service): submit it on its own for a second approval"
                )
        code, points = 0, 0
        minutes = (end - start) // 60 if duration and end > start else 0
        if isinstance(rule, DurationRule):
            letter = values.get("grade", "").upper()
            if values.get("action"):
                problems.append(f"scheme {s.code} pays by duration: leave action empty")
            if letter not in rule.grades:
                problems.append(
                    f"grade {letter or '(empty)'} is not one of {', '.join(rule.grades)}"
                )
            else:
                code = GRADE_LETTERS.index(letter)
                points = rule.points(minutes, letter) if minutes else 0
        elif isinstance(rule, FixedRule):
            action = values.get("action", "")
            if action not in rule.actions:
                problems.append(
                    f"action {action or '(empty)'} is not one of {', '.join(rule.actions)}"
                )
            else:
                code = list(rule.actions).index(action)
                points = rule.actions[action]
        activity_id = 0
        if values.get("activity_id"):
            try:
                activity_id = int(values["activity_id"])
            except ValueError:
                problems.append(f"activity_id {values['activity_id']!r} is not a number")
        details = {
            k: values.get(k, "")
            for k in ("activity", "place", "organising_unit", "person_in_charge")
        }
        if activity_id:
            if activity_id not in activity_cache:
                activity_cache[activity_id] = _activity(ledger, activity_id)
            found = activity_cache[activity_id]
            if found is None:
                problems.append(f"there is no activity {activity_id}")
            else:
                activity, stored = found
                if activity.scheme_id != s.id:
                    problems.append(f"activity {activity_id} is not an activity of {s.code}")
                if activity.cancelled:
                    problems.append(f"activity {activity_id} is cancelled")
                if start and end and (start < activity.start or end > activity.end):
                    problems.append(
                        f"the service {show_time(start)}-{show_time(end)} is outside activity "
                        f"{activity_id}'s window ({show_time(activity.start)}-{show_time(activity.end)})"
                    )
                for key_from, key_to in (
                    ("name", "activity"),
                    ("place", "place"),
                    ("organising_unit", "organising_unit"),
                    ("person_in_charge", "person_in_charge"),
                ):
                    details[key_to] = details[key_to] or stored.get(key_from, "")
        details["content"] = values.get("content", "")
        empty = [k for k in REQUIRED_DETAILS if not details.get(k)]
        if empty:
            problems.append(f"missing details: {', '.join(empty)}")
        long_fields = [k for k, v in details.items() if len(v) > 500]
        if long_fields:
            problems.append(f"longer than 500 characters: {', '.join(long_fields)}")
        evidence = b""
        try:
            evidence = parse_hash(values.get("evidence_hash", ""), what="evidence_hash")
        except InputError as exc:
            problems.append(str(exc))
        if evidence:
            if evidence in seen_evidence:
                problems.append(f"the same evidence_hash is also on line {seen_evidence[evidence]}")
            else:
                seen_evidence[evidence] = line
        employer = None
        if values.get("employer"):
            try:
                employer = Web3.to_checksum_address(values["employer"])
            except ValueError:
                problems.append(f"employer {values['employer']!r} is not an address")
        if problems:
            errors.append(RowError(line, record_id, "; ".join(problems)))
            continue
        fields = {k: v for k, v in details.items() if v}
        fields.update(
            {
                "record_id": record_id,
                "scheme": s.code,
                "volunteer": volunteer,
                "date": show_time(start)[:10],
                "start": show_time(start),
                "end": show_time(end),
                "hours": f"{(end - start) / 3600:.2f}",
                "evidence_hash": "0x" + evidence.hex(),
            }
        )
        if not duration:
            fields["action"] = values["action"]
        if employer:
            fields["employer"] = employer
        rows.append(
            Row(
                line=line,
                record_id=record_id,
                volunteer=volunteer,
                activity_id=activity_id,
                start=start,
                end=end,
                code=code,
                points=points,
                details=fields,
                details_hash=details_hash(fields),
                evidence_hash=evidence,
                employer=employer,
            )
        )

    skipped = _against_store(ledger, s.id, rows, errors)
    rows = [r for r in rows if r.line not in {e.line for e in errors}]
    errors += _people(ledger, s.id, s.issuer, organiser, reviewer)
    rows = _against_chain(
        ledger, s.id, limits, duration=isinstance(rule, DurationRule), rows=rows, errors=errors
    )
    rows = _within_caps(ledger, s.id, reviewer, rows, errors)
    errors.sort(key=lambda e: e.line)
    version = rule.version
    return BatchPlan(
        scheme_id=s.id,
        scheme_code=s.code,
        path=path,
        file_sha256=file_sha256(raw),
        rule_version=version,
        rows=rows,
        errors=errors,
        skipped=skipped,
        total_rows=total,
        normalised=normalised,
    )


def _activity(ledger: Ledger, activity_id: int) -> tuple[Any, dict[str, Any]] | None:
    if activity_id <= 0 or activity_id > ledger.activities.count():
        return None
    view = ledger.earning.activity(activity_id)
    return view.activity, view.details


def _against_store(
    ledger: Ledger, scheme_id: int, rows: list[Row], errors: list[RowError]
) -> list[Skipped]:
    """Rows already paid are skipped; rows planned by an earlier run keep their chunk; evidence
    that backs another record is refused."""
    skipped: list[Skipped] = []
    keep: list[Row] = []
    by_key: dict[str, RecordDetails] = {}
    by_evidence: dict[str, RecordDetails] = {}
    keys = [r.record_id for r in rows]
    evidences = ["0x" + r.evidence_hash.hex() for r in rows]
    with session(ledger.engine) as db:
        for first in range(0, len(keys), 500):
            for found in db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id,
                    col(RecordDetails.record_key).in_(keys[first : first + 500]),
                )
            ):
                by_key[found.record_key] = found
            for found in db.exec(
                select(RecordDetails).where(
                    col(RecordDetails.evidence_hash).in_(evidences[first : first + 500])
                )
            ):
                by_evidence[found.evidence_hash] = found
    elsewhere: dict[str, list[RecordDetails]] = defaultdict(list)
    if rows:
        volunteers = sorted({r.volunteer for r in rows})
        earliest, latest = min(r.start for r in rows), max(r.end for r in rows)
        with session(ledger.engine) as db:
            for first in range(0, len(volunteers), 500):
                for found in db.exec(
                    select(RecordDetails).where(
                        col(RecordDetails.volunteer).in_(volunteers[first : first + 500]),
                        RecordDetails.scheme_id != scheme_id,
                        col(RecordDetails.start) < latest,
                        col(RecordDetails.end) > earliest,
                        col(RecordDetails.end) > col(RecordDetails.start),
                    )
                ):
                    elsewhere[found.volunteer].append(found)
    # Chunks approved on chain whose run was killed before the store recorded it: linked now.
    unlinked = {
        r.chunk_hash
        for r in by_key.values()
        if r.chunk_hash and r.batch_id is None and r.record_id is None
    }
    paid_as: dict[str, int] = {}
    for link in link_approved_chunks(ledger.engine, ledger.records, unlinked) if unlinked else []:
        paid_as[link.chunk.records_hash] = link.chunk.batch_id
        for found in by_key.values():
            if found.id in link.rows:
                found.batch_id = link.chunk.batch_id
    chunk_status: dict[str, BatchStatus] = {}
    for row in rows:
        stored = by_key.get(row.record_id)
        other = by_evidence.get("0x" + row.evidence_hash.hex())
        if other is not None and (
            other.scheme_id != scheme_id or other.record_key != row.record_id
        ):
            if ledger.earning.is_rejected(other):
                ledger.earning._release_evidence(other)
            else:
                errors.append(
                    RowError(
                        row.line,
                        row.record_id,
                        f"this evidence already backs record {other.record_key}",
                    )
                )
                continue
        clash = next(
            (
                o
                for o in elsewhere.get(row.volunteer, ())
                if o.start < row.end and o.end > row.start and not ledger.earning.is_rejected(o)
            ),
            None,
        )
        if clash is not None and row.end > row.start:
            errors.append(
                RowError(
                    row.line,
                    row.record_id,
                    f"the volunteer already has record {clash.record_key} in another scheme for "
                    f"{show_time(clash.start)}-{show_time(clash.end)}; the same hours are paid once",
                )
            )
            continue
        if stored is None:
            keep.append(row)
            continue
        if stored.record_id is not None and stored.chunk_hash is None:
            skipped.append(
                Skipped(row.line, row.record_id, f"submitted singly as record {stored.record_id}")
            )
            continue
        if stored.details_hash != "0x" + row.details_hash.hex():
            errors.append(
                RowError(
                    row.line,
                    row.record_id,
                    "record_id was already used for a record with other details",
                )
            )
            continue
        if stored.chunk_hash:
            if stored.chunk_hash not in chunk_status:
                batch_id = ledger.records.batch_of(bytes.fromhex(stored.chunk_hash[2:]))
                chunk_status[stored.chunk_hash] = (
                    ledger.records.batch(batch_id).status if batch_id else BatchStatus.NONE
                )
            status = chunk_status[stored.chunk_hash]
            if status is BatchStatus.APPROVED:
                if stored.batch_id is not None:
                    reason = f"already paid (batch {stored.batch_id})"
                else:
                    batch_id = paid_as.get(stored.chunk_hash, 0)
                    reason = (
                        f"already paid (batch {batch_id}), but the store's row differs from the "
                        f"record paid on chain: `vpl audit verify batch:{batch_id}` shows how"
                    )
                skipped.append(Skipped(row.line, row.record_id, reason))
                continue
            if status is not BatchStatus.REJECTED:
                row.chunk_hash = stored.chunk_hash
        keep.append(row)
    rows[:] = keep
    return skipped


def _against_chain(
    ledger: Ledger,
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


def _people(
    ledger: Ledger, scheme_id: int, issuer: str, organiser: str, reviewer: str
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


def _within_caps(
    ledger: Ledger, scheme_id: int, reviewer: str, rows: list[Row], errors: list[RowError]
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


# --- paying ----------------------------------------------------------------------------------


def refuse_bad_rows(
    ledger: Ledger, plan: BatchPlan, *, actor: str, only_good_rows: bool = False
) -> None:
    """Every bad row of `plan` written down as a refused attempt, as a single record's refusal
    is (`vpl record refusals`); then, unless only the good rows are to be paid, InvalidRows
    (nothing written on chain)."""
    if not plan.errors:
        return
    at = utcnow()
    with session(ledger.engine) as db:
        db.execute(
            insert(RefusedAttempt),
            [
                {
                    "at": at,
                    "actor": actor,
                    "action": "issue-batch",
                    "subject": f"{plan.path.name} line {e.line}"
                    + (f" ({e.record_id})" if e.record_id else ""),
                    "code": InvalidRows.code,
                    "error": None,
                    "message": e.message[:1000],
                }
                for e in plan.errors
            ],
        )
    if not only_good_rows:
        plan.raise_if_bad()


def run_batch(
    ledger: Ledger,
    plan: BatchPlan,
    *,
    organiser: Signer | None,
    reviewer: Signer,
    chunk_size: int = DEFAULT_CHUNK,
    only_good_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Pay the plan's rows in chunks (see the module docstring). Without an `organiser`, every
    chunk must have been submitted already (``submit_chunks``): the reviewer only approves."""
    if not 1 <= chunk_size <= MAX_BATCH:
        raise InputError(f"chunk size must be 1-{MAX_BATCH} (got {chunk_size})")
    if organiser is None:  # the organiser's step (submit_chunks) wrote the refusals down
        if plan.errors and not only_good_rows:
            plan.raise_if_bad()
    else:
        refuse_bad_rows(ledger, plan, actor=organiser.address, only_good_rows=only_good_rows)
    started = time.perf_counter()
    job_id = _job(ledger, plan)
    chunks = _chunks(ledger, plan, job_id, chunk_size)
    total = sum(len(rows) for _, rows in chunks)
    report = BatchReport(
        job_id=job_id,
        scheme_code=plan.scheme_code,
        paid_records=0,
        points=0,
        batches=[],
        skipped=list(plan.skipped),
        bad_rows=list(plan.errors),
        seconds=0.0,
    )
    if progress:
        progress(0, total)
    try:
        _pay(ledger, plan, chunks, organiser, reviewer, report, progress, total)
    except RetryableChainError as exc:
        raise _node_lost(exc, report, total - report.paid_records) from None
    with session(ledger.engine) as db:
        job = db.get(BatchJob, job_id)
        if job is not None:
            job.finished_at = utcnow()
            db.add(job)
    report.seconds = time.perf_counter() - started
    log.info(
        "batch job %d: %d records, %d points, %d batches in %.1fs",
        job_id,
        report.paid_records,
        report.points,
        len(report.batches),
        report.seconds,
    )
    return report


@dataclass
class Submission:
    """What ``submit_chunks`` did: the store's job, and each chunk's batch on chain."""

    job_id: int
    batches: list[int]
    transactions: list[str]
    resumed_chunks: int


def submit_chunks(
    ledger: Ledger,
    plan: BatchPlan,
    *,
    organiser: Signer,
    chunk_size: int = DEFAULT_CHUNK,
    only_good_rows: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Submission:
    """The organiser's half of ``run_batch``: submit every chunk's hash (each once, found again
    by its hash when run again), so that a reviewer can later approve with ``run_batch`` alone."""
    if not 1 <= chunk_size <= MAX_BATCH:
        raise InputError(f"chunk size must be 1-{MAX_BATCH} (got {chunk_size})")
    refuse_bad_rows(ledger, plan, actor=organiser.address, only_good_rows=only_good_rows)
    job_id = _job(ledger, plan)
    chunks = _chunks(ledger, plan, job_id, chunk_size)
    out = Submission(job_id=job_id, batches=[], transactions=[], resumed_chunks=0)
    if progress:
        progress(0, len(chunks))
    ids = _submitted_ids(ledger, chunks)
    out.resumed_chunks = sum(1 for batch_id in ids if batch_id)
    flight = _Flight(ledger)
    waiting = deque(i for i, batch_id in enumerate(ids) if not batch_id)
    while waiting or flight.pending:
        while waiting and flight.room():
            index = waiting.popleft()
            chunk_hash, rows = chunks[index]
            flight.send(
                ("submit", index),
                partial(
                    ledger.records.start_submit_batch,
                    organiser,
                    plan.scheme_id,
                    chunk_hash,
                    len(rows),
                ),
                actor=organiser.address,
                action="submit-batch",
                subject="0x" + chunk_hash.hex(),
            )
        if not flight.pending:
            break
        for (_, index), result in flight.landed():
            ids[index] = ledger.records.submitted_batch_id(result)
            out.transactions.append(result.tx_hash)
            if progress:
                progress(sum(1 for batch_id in ids if batch_id), len(chunks))
    flight.raise_first_refusal()
    out.batches = ids
    return out


def _pay(
    ledger: Ledger,
    plan: BatchPlan,
    chunks: list[tuple[bytes, list[Row]]],
    organiser: Signer | None,
    reviewer: Signer,
    report: BatchReport,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    """Submit the chunks not on chain yet and approve every submitted one, in order, with up to
    ``IN_FLIGHT`` transactions in flight: a chunk's approval is sent as soon as its submission
    is mined (the approval's own confirmations cover both), while later chunks are still being
    submitted."""
    records = ledger.records
    ids = _submitted_ids(ledger, chunks)
    waiting = deque(i for i, batch_id in enumerate(ids) if not batch_id)
    if waiting and organiser is None:
        chunk_hash, rows = chunks[waiting[0]]
        raise InputError(
            f"chunk {chunk_hash.hex()[:10]}... of {len(rows)} records is not submitted yet: its "
            "organiser submits it first"
        )
    report.resumed_chunks = len(chunks) - len(waiting)
    flight = _Flight(ledger)
    approving = 0  # the chunks before this one are approved or on their way

    def paid(index: int, batch_id: int) -> None:
        chunk_hash, rows = chunks[index]
        points = records.batch(batch_id).points
        mark_chunk_paid(ledger.engine, "0x" + chunk_hash.hex(), batch_id, points)
        report.batches.append(batch_id)
        report.paid_records += len(rows)
        report.points += points
        if progress:
            progress(report.paid_records, total)

    while True:
        while approving < len(chunks) and ids[approving] and flight.room():
            index, batch_id = approving, ids[approving]
            approving += 1
            batch = records.batch(batch_id)
            rows = chunks[index][1]
            if batch.status is BatchStatus.SUBMITTED:
                flight.send(
                    ("approve", index),
                    partial(
                        records.start_approve_batch,
                        reviewer,
                        batch_id,
                        plan.rule_version,
                        pack_records(r.packed() for r in rows),
                        gas=_approval_gas(len(rows)),
                    ),
                    actor=reviewer.address,
                    action="approve-batch",
                    subject=f"batch {batch_id}",
                )
            elif batch.status is BatchStatus.REJECTED:
                flight.fail(
                    ChainError(
                        f"batch {batch_id} (records of lines {rows[0].line}...) was rejected on "
                        f"chain (reason {batch.reject_reason}); fix those rows and run again"
                    )
                )
            else:
                paid(index, batch_id)
        while waiting and organiser is not None and flight.room():
            index = waiting.popleft()
            chunk_hash, rows = chunks[index]
            flight.send(
                ("submit", index),
                partial(
                    records.start_submit_batch, organiser, plan.scheme_id, chunk_hash, len(rows)
                ),
                actor=organiser.address,
                action="submit-batch",
                subject="0x" + chunk_hash.hex(),
            )
        if not flight.pending:
            break
        for (kind, index), result in flight.landed():
            report.gas_used += result.gas_used
            report.transactions.append(result.tx_hash)
            if kind == "submit":
                ids[index] = records.submitted_batch_id(result)
            else:
                paid(index, ids[index])
    flight.raise_first_refusal()


#: Transactions one batch run keeps in flight (a validator's pool holds thousands per sender).
IN_FLIGHT = 64


class _Flight:
    """The transactions of one batch run that are sent and not yet landed, by key.

    A refusal, at simulation or mined, is written down as a refused attempt; after it nothing
    new is sent, but the transactions already in flight land and are recorded (they are paid,
    nothing is lost), and then the first refusal is raised."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.pending: dict[tuple[str, int], tuple[Sent, tuple[str, str, str]]] = {}
        self.refusal: LedgerError | None = None

    def room(self) -> bool:
        return self.refusal is None and len(self.pending) < IN_FLIGHT

    def send(
        self,
        key: tuple[str, int],
        start: Callable[[], Sent],
        *,
        actor: str,
        action: str,
        subject: str,
    ) -> None:
        try:
            with self.ledger.earning._attempt(actor, action, subject):
                sent = start()
                if key[0] == "submit":
                    # its approval follows as soon as it is mined and is confirmed itself
                    sent.confirmations = 0
                self.pending[key] = (sent, (actor, action, subject))
        except LedgerError as exc:
            self.fail(exc)

    def fail(self, exc: LedgerError) -> None:
        self.refusal = self.refusal or exc

    def landed(self) -> list[tuple[tuple[str, int], TxResult]]:
        """Wait until some of the pending transactions land; those that succeeded, by key."""
        outcomes = self.ledger.sender.wait_some([sent for sent, _ in self.pending.values()])
        succeeded = []
        for key in sorted(self.pending):
            sent, (actor, action, subject) = self.pending[key]
            if sent.tx_hash not in outcomes:
                continue
            del self.pending[key]
            outcome = outcomes[sent.tx_hash]
            if isinstance(outcome, TxResult):
                succeeded.append((key, outcome))
                continue
            try:
                with self.ledger.earning._attempt(actor, action, subject):
                    raise outcome
            except LedgerError as exc:
                self.fail(exc)
        return succeeded

    def raise_first_refusal(self) -> None:
        if self.refusal is not None:
            raise self.refusal


def _submitted_ids(ledger: Ledger, chunks: list[tuple[bytes, list[Row]]]) -> list[int]:
    """The batch id of each chunk on chain, 0 for a chunk not submitted yet."""
    return ledger.records.batches_of([chunk_hash for chunk_hash, _ in chunks])


def _node_lost(exc: RetryableChainError, report: BatchReport, left: int) -> RetryableChainError:
    """The node stopped answering during a run: what was paid before, and what was not."""
    paid = (
        f"{report.paid_records} records ({report.points} points) were paid, in batches "
        + ", ".join(map(str, report.batches))
        if report.batches
        else "no record was paid by this run"
    )
    return RetryableChainError(
        f"{exc.message}. Before that, {paid}; {left} records were not paid (the chunk being "
        "sent may have been: the chain has it or not). Run the same file again once the node "
        "answers: it finds what was done and pays each record exactly once",
        **exc.details,
        paid_records=report.paid_records,
        paid_points=report.points,
        batches=list(report.batches),
        unpaid_records=left,
    )


def _approval_gas(count: int) -> int:
    """A gas limit for approving `count` checked records without simulating first: a record costs
    about 15,000 gas for a member who holds points and 36,000 for one who does not yet (a new
    storage word); unused gas is not charged. If the chain still refuses, the transaction fails
    as a whole and its reason is decoded (nothing is paid)."""
    return min(60_000 * count + 500_000, 29_000_000)


def _job(ledger: Ledger, plan: BatchPlan) -> int:
    with session(ledger.engine) as db:
        job = db.exec(
            select(BatchJob).where(
                BatchJob.file_sha256 == plan.file_sha256,
                BatchJob.scheme_id == plan.scheme_id,
                col(BatchJob.finished_at).is_(None),
            )
        ).first()
        if job is None:
            job = BatchJob(
                scheme_id=plan.scheme_id,
                file_sha256=plan.file_sha256,
                file_name=plan.path.name,
                rows=plan.total_rows,
                created_at=utcnow(),
            )
            db.add(job)
            db.flush()
        assert job.id is not None
        return job.id


def _chunks(
    ledger: Ledger, plan: BatchPlan, job_id: int, size: int
) -> list[tuple[bytes, list[Row]]]:
    """The chunks to pay, in order; each record is in the store with its chunk's hash before the
    chunk goes on chain."""
    out: list[tuple[bytes, list[Row]]] = []
    pinned: dict[str, list[Row]] = defaultdict(list)
    fresh: list[Row] = []
    for row in plan.rows:
        if row.chunk_hash:
            pinned[row.chunk_hash].append(row)
        else:
            fresh.append(row)
    with session(ledger.engine) as db:
        for hash_hex, rows in pinned.items():
            stored = {
                r.record_key: r.batch_index
                for r in db.exec(select(RecordDetails).where(RecordDetails.chunk_hash == hash_hex))
            }
            rows.sort(key=lambda r: stored.get(r.record_id) or 0)
            data = pack_records(r.packed() for r in rows)
            if "0x" + records_hash(data).hex() != hash_hex:
                raise ChainError(
                    f"the records planned into chunk {hash_hex[:10]}... by an earlier run differ "
                    "from this file's; run the original file again to finish that chunk"
                )
            out.append((bytes.fromhex(hash_hex[2:]), rows))
        position = len(out)
        for first in range(0, len(fresh), size):
            rows = fresh[first : first + size]
            data = pack_records(r.packed() for r in rows)
            digest = records_hash(data)
            hash_hex = "0x" + digest.hex()
            existing = db.exec(
                select(BatchChunk).where(BatchChunk.records_hash == hash_hex)
            ).first()
            if existing is None:
                db.add(
                    BatchChunk(
                        job_id=job_id, position=position, records_hash=hash_hex, count=len(rows)
                    )
                )
            now = utcnow()
            db.execute(
                insert(RecordDetails),
                [
                    {
                        "scheme_id": plan.scheme_id,
                        "record_key": row.record_id,
                        "volunteer": row.volunteer,
                        "batch_index": index,
                        "chunk_hash": hash_hex,
                        "activity_id": row.activity_id,
                        "start": row.start,
                        "end": row.end,
                        "details_hash": "0x" + row.details_hash.hex(),
                        "evidence_hash": "0x" + row.evidence_hash.hex(),
                        "details_json": canonical_json(row.details).decode(),
                        "employer": row.employer,
                        "created_at": now,
                    }
                    for index, row in enumerate(rows)
                ],
            )
            out.append((digest, rows))
            position += 1
    return out
