"""Planning a batch run: every row of the file read and checked against everything the chain will
check (member active, time order and caps per volunteer, activity window and places, rule, quota,
four eyes) plus what only the store can check (record ids and evidence never reused); nothing is
written."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from web3 import Web3

from ledger.chain.contracts import DurationRule, FixedRule
from ledger.chain.contracts.rules import GRADE_LETTERS
from ledger.earning.batch.chain_checks import against_chain, check_people, within_caps
from ledger.earning.batch.file import (
    MAX_ROWS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    checksum,
    decode,
    normalise,
)
from ledger.earning.batch.parts import BatchParts
from ledger.earning.batch.rows import BatchPlan, Normalised, Row, RowError
from ledger.earning.batch.store_checks import against_store
from ledger.earning.details import REQUIRED_DETAILS, service_details
from ledger.earning.parts import current_rule
from ledger.errors import InputError, InvalidRows
from ledger.store.records import details_hash, file_sha256
from ledger.values import (
    day_of,
    parse_hash,
    parse_time,
    show_time,
    shown_address,
    working_days_between,
)


def plan_batch(
    ledger: BatchParts,
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
    text, bad_lines = decode(raw)
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
    rule = current_rule(ledger, s.id)
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
        changes = normalise(values)
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
            volunteer = checksum(values.get("volunteer", ""))
        except ValueError:
            problems.append(
                f"volunteer {shown_address(values.get('volunteer', ''))} is not an address"
            )
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
                problems.append(f"employer {shown_address(values['employer'])} is not an address")
        if problems:
            errors.append(RowError(line, record_id, "; ".join(problems)))
            continue
        fields = {k: v for k, v in details.items() if v}
        fields["record_id"] = record_id
        fields.update(
            service_details(
                scheme=s.code, volunteer=volunteer, start=start, end=end, evidence=evidence
            )
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

    skipped = against_store(ledger, s.id, rows, errors)
    rows = [r for r in rows if r.line not in {e.line for e in errors}]
    errors += check_people(ledger, s.id, s.issuer, organiser, reviewer)
    rows = against_chain(
        ledger, s.id, limits, duration=isinstance(rule, DurationRule), rows=rows, errors=errors
    )
    rows = within_caps(ledger, s.id, reviewer, rows, errors)
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


def _activity(ledger: BatchParts, activity_id: int) -> tuple[Any, dict[str, Any]] | None:
    if activity_id <= 0 or activity_id > ledger.activities.count():
        return None
    view = ledger.earning.activity(activity_id)
    return view.activity, view.details
