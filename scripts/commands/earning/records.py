"""``vpl limits`` and ``vpl record``: a scheme's anti-farming limits, and service records and
their review."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from ledger.chain.contracts import Limits, RecordStatus
from ledger.chain.contracts.service_records import REJECT_REASONS
from ledger.earning.reading import RecordView, record_data
from ledger.errors import InputError
from ledger.values import show_time
from scripts.export import ExportOption, check_export, maybe_export
from scripts.options import REVIEWER, LastOption, SchemeArgument
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

limits_app = typer.Typer(help="Anti-farming limits per scheme (防刷分).", **APP_OPTIONS)
record_app = typer.Typer(help="Service records and their review (服务记录/审核).", **APP_OPTIONS)


def _show_limits(state: State, code: str, limits: Limits) -> None:
    data = asdict(limits)
    state.out.result(
        {"scheme": code, **data},
        fields(f"{code}: anti-farming limits", [(k.replace("_", " "), v) for k, v in data.items()]),
    )


@limits_app.command("set")
def limits_set(
    ctx: typer.Context,
    scheme: SchemeArgument,
    records_per_day: Annotated[int, typer.Option("--records-per-day", min=1, max=63)],
    minutes_per_day: Annotated[int, typer.Option("--minutes-per-day", min=1, max=1440)],
    points_per_day: Annotated[int, typer.Option("--points-per-day", min=1)],
    points_per_week: Annotated[int, typer.Option("--points-per-week", min=1)],
    approvals_per_hour: Annotated[int, typer.Option("--approvals-per-hour", min=1)],
    late_working_days: Annotated[int, typer.Option("--late-working-days", min=1, max=60)] = 10,
) -> None:
    """Set a scheme's limits per volunteer (per day and week) and per reviewer (per hour)."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    limits = Limits(
        records_per_day,
        minutes_per_day,
        points_per_day,
        points_per_week,
        approvals_per_hour,
        late_working_days,
    )
    result = state.ledger.earning.set_limits(
        issuer=state.issuer_signer(s), scheme=s.id, limits=limits
    )
    _show_limits(state, s.code, result)


@limits_app.command("show")
def limits_show(ctx: typer.Context, scheme: SchemeArgument) -> None:
    """A scheme's limits."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    _show_limits(state, s.code, state.ledger.earning.limits(s.id))


@limits_app.command("reviewer")
def limits_reviewer(
    ctx: typer.Context,
    scheme: SchemeArgument,
    reviewer: Annotated[str, typer.Argument(metavar="REVIEWER", help="Address or operator name.")],
    per_hour: Annotated[int, typer.Option("--per-hour", min=0, help="0: the scheme's cap.")],
) -> None:
    """Give one reviewer (e.g. a batch-approval account) their own approvals-per-hour cap."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    address = state.account(reviewer, what="reviewer")
    state.ledger.earning.set_reviewer_cap(
        issuer=state.issuer_signer(s), scheme=s.id, reviewer=address, per_hour=per_hour
    )
    used, cap = state.ledger.records.reviewer_load(s.id, address)
    state.out.result(
        {"scheme": s.code, "reviewer": address, "approvals_per_hour": cap, "this_hour": used},
        line(f"{state.label(address)} may approve {cap} records of {s.code} per hour"),
    )


def _show_record(state: State, view: RecordView, head: str) -> None:
    record = view.record
    data = record_data(record, view.details)
    rows: list[tuple[str, Any]] = [
        ("status", data["status"]),
        ("volunteer", record.volunteer),
        ("service", f"{data['start']} - {data['end']} (CST), {record.minutes} minutes"),
        ("points", record.points if record.status >= RecordStatus.APPROVED else "-"),
    ]
    if data["action"]:
        rows.append(("action", data["action"]))
    if data["grade"]:
        rows.append(("grade", data["grade"]))
    rows.append(("submitted by", state.label(record.submitter)))
    if record.reviewer:
        rows.append(("reviewed by", state.label(record.reviewer)))
    if record.late:
        rows.append(("late entry", f"second approval needed (first: {record.first_reviewer})"))
    if record.supersedes:
        rows.append(("corrects record", record.supersedes))
    if record.correction:
        rows.append(("corrected by", record.correction))
    if data["reject_reason"]:
        rows.append(("rejected because", data["reject_reason"]))
    for key, value in (view.details or {}).items():
        rows.append((key.replace("_", " "), value))
    state.out.result(data, fields(f"{head}: record {record.id}", rows))


@record_app.command("submit")
def record_submit(
    ctx: typer.Context,
    scheme: SchemeArgument,
    volunteer: Annotated[str, typer.Option("--volunteer")],
    start: Annotated[str, typer.Option("--start", help="e.g. 2026-11-20 09:00 (CST).")],
    end: Annotated[str, typer.Option("--end")],
    content: Annotated[str, typer.Option("--content", help="Service content (服务内容).")],
    evidence: Annotated[str, typer.Option("--evidence", help="Evidence hash (0x + 64 hex).")],
    activity: Annotated[int, typer.Option("--activity", min=0)] = 0,
    action: Annotated[str | None, typer.Option("--action")] = None,
    activity_name: Annotated[str | None, typer.Option("--activity-name")] = None,
    place: Annotated[str | None, typer.Option("--place")] = None,
    organising_unit: Annotated[str | None, typer.Option("--unit")] = None,
    person_in_charge: Annotated[str | None, typer.Option("--person")] = None,
    employer: Annotated[str | None, typer.Option("--employer")] = None,
    record_id: Annotated[str | None, typer.Option("--record-id", help="Your own id.")] = None,
) -> None:
    """Submit a service record for review (as an organiser of the scheme; --as to choose)."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    details = {
        "activity": activity_name,
        "place": place,
        "organising_unit": organising_unit,
        "person_in_charge": person_in_charge,
    }
    view = state.ledger.earning.submit_record(
        submitter=state.issuer_signer(s),
        scheme=s.id,
        volunteer=state.account(volunteer, what="volunteer"),
        start=start,
        end=end,
        evidence_hash=evidence,
        content=content,
        activity_id=activity,
        action=action,
        details={k: v for k, v in details.items() if v},
        employer=state.optional_account(employer, what="employer"),
        record_key=record_id,
    )
    _show_record(state, view, "submitted")


def _review(ctx: typer.Context, record_id: int, *, approve: bool, **decision: Any) -> None:
    """A reviewer's decision (--as, default reviewer-1), then the record as they see it."""
    state = state_of(ctx)
    reviewer = state.sign_as(REVIEWER)
    earning = state.ledger.earning
    decide = earning.approve if approve else earning.reject
    decide(reviewer=reviewer, record_id=record_id, **decision)
    head = "approved" if approve else "rejected"
    _show_record(state, earning.view(record_id, viewer=reviewer.address), head)


@record_app.command("approve")
def record_approve(
    ctx: typer.Context,
    record_id: Annotated[int, typer.Argument(min=1)],
    grade: Annotated[str, typer.Option("--grade", help="A, B, ... (A for fixed actions).")] = "A",
) -> None:
    """Approve a record with a grade; the final approval mints its points."""
    _review(ctx, record_id, approve=True, grade=grade)


@record_app.command("reject")
def record_reject(
    ctx: typer.Context,
    record_id: Annotated[int, typer.Argument(min=1)],
    reason: Annotated[
        int,
        typer.Option("--reason", help=", ".join(f"{k} {v}" for k, v in REJECT_REASONS.items())),
    ],
) -> None:
    """Reject a record with a reason code."""
    _review(ctx, record_id, approve=False, reason=reason)


@record_app.command("correct")
def record_correct(
    ctx: typer.Context,
    record: Annotated[
        str,
        typer.Argument(metavar="RECORD", help="A record id, or BATCH#INDEX for a batch record."),
    ],
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str, typer.Option("--end")],
    content: Annotated[str, typer.Option("--content")],
    evidence: Annotated[str, typer.Option("--evidence")],
    reason: Annotated[str, typer.Option("--reason", help="Why the record is corrected.")],
    action: Annotated[str | None, typer.Option("--action")] = None,
) -> None:
    """Submit a correction of an approved record (reviewed like any record)."""
    state = state_of(ctx)
    record_id = _record_id(state, record)
    old = state.ledger.earning.record(record_id)
    view = state.ledger.earning.correct(
        submitter=state.issuer_signer(state.ledger.scheme(old.scheme_id)),
        record_id=record_id,
        start=start,
        end=end,
        evidence_hash=evidence,
        content=content,
        reason=reason,
        action=action,
    )
    _show_record(state, view, "correction submitted")


def _record_id(state: State, text: str) -> int:
    """A record id from ``7``, or from ``3#5`` (record 5 of batch 3, given an id of its own)."""
    batch, _, index = text.strip().partition("#")
    try:
        if not index:
            return int(batch)
        batch_id, position = int(batch), int(index)
    except ValueError:
        raise InputError(f"{text!r} is neither a record id nor BATCH#INDEX") from None
    scheme = state.ledger.scheme(state.ledger.records.batch(batch_id).scheme_id)
    return state.ledger.earning.import_batch_record(
        account=state.issuer_signer(scheme), batch_id=batch_id, index=position
    )


@record_app.command("show")
def record_show(
    ctx: typer.Context,
    record_id: Annotated[int, typer.Argument(min=1)],
    viewer: Annotated[
        str | None, typer.Option("--viewer", help="Who reads the details (default: the signer).")
    ] = None,
) -> None:
    """A record from the chain, with its details if the viewer may see them (三方可见)."""
    state = state_of(ctx)
    who = state.account(viewer, what="viewer") if viewer else state.sign_as(REVIEWER).address
    _show_record(state, state.ledger.earning.view(record_id, viewer=who), "record")


@record_app.command("list")
def record_list(
    ctx: typer.Context,
    scheme: Annotated[str | None, typer.Option("--scheme")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, approved, ...")] = None,
    last: LastOption = 50,
) -> None:
    """The latest records, newest first."""
    state = state_of(ctx)
    wanted = None
    if status:
        names = {s.label: s for s in RecordStatus if s is not RecordStatus.NONE}
        if status.lower() not in names:
            raise InputError(f"status must be one of {', '.join(names)}")
        wanted = names[status.lower()]
    records = state.ledger.earning.records_of(scheme=scheme, status=wanted, last=last)
    state.out.result(
        [record_data(r) for r in records],
        table(
            "service records",
            ["id", "scheme", "volunteer", "service (CST)", "status", "points"],
            [
                (
                    r.id,
                    r.scheme_id,
                    r.volunteer,
                    f"{show_time(r.start)} - {show_time(r.end)[11:]}",
                    r.status.label,
                    r.points,
                )
                for r in records
            ],
        ),
    )


@record_app.command("refusals")
def record_refusals(
    ctx: typer.Context,
    last: LastOption = 50,
    export: ExportOption = None,
) -> None:
    """Refused attempts (who tried what, and why), newest first: evidence for auditors."""
    check_export(export)
    state = state_of(ctx)
    rows = state.ledger.earning.refusals(last=last)
    data = [r.model_dump() for r in rows]
    maybe_export(ctx, export, data, data)
    state.out.result(
        data,
        table(
            "refused attempts",
            ["when (UTC)", "who", "what", "on", "why"],
            [
                (r.at.strftime("%Y-%m-%d %H:%M:%S"), r.actor, r.action, r.subject, r.message)
                for r in rows
            ],
        ),
    )
