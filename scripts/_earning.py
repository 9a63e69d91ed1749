"""``vpl limits``, ``vpl activity``, ``vpl record`` and ``vpl issue batch``: earning points."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.chain.contracts import Activity, Limits, RecordStatus
from ledger.chain.contracts.records import REJECT_REASONS
from ledger.earning.batch import DEFAULT_CHUNK, plan_batch, run_batch
from ledger.earning.records import RecordView, activity_data, record_data
from ledger.errors import InputError
from ledger.values import show_time
from scripts._export import ExportOption, check_export, maybe_export
from scripts._output import fields, line, table
from scripts._state import APP_OPTIONS, State, state_of

limits_app = typer.Typer(help="Anti-farming limits per scheme (防刷分).", **APP_OPTIONS)
activity_app = typer.Typer(help="Activities and tasks (活动/任务).", **APP_OPTIONS)
record_app = typer.Typer(help="Service records and their review (服务记录/审核).", **APP_OPTIONS)
issue_app = typer.Typer(help="Issuing points (发放).", **APP_OPTIONS)

SchemeArgument = Annotated[str, typer.Argument(metavar="SCHEME")]
DEFAULT_REVIEWER = "reviewer-1"


# --- limits --------------------------------------------------------------------------------------


def limits_data(limits: Limits) -> dict[str, Any]:
    return {
        "records_per_day": limits.records_per_day,
        "minutes_per_day": limits.minutes_per_day,
        "points_per_day": limits.points_per_day,
        "points_per_week": limits.points_per_week,
        "approvals_per_hour": limits.approvals_per_hour,
        "late_working_days": limits.late_working_days,
    }


def _show_limits(state: State, code: str, limits: Limits) -> None:
    data = limits_data(limits)
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


# --- activities ----------------------------------------------------------------------------------


def _show_activity(state: State, activity: Activity, details: dict[str, Any], head: str) -> None:
    data = activity_data(activity, details)
    rows = [
        ("name", details.get("name")),
        ("place", details.get("place")),
        ("content", details.get("content")),
        ("organising unit", details.get("organising_unit")),
        ("person in charge", details.get("person_in_charge")),
        ("window", f"{data['start']} - {data['end']} (CST)"),
        ("places", f"{activity.places_left} left of {activity.capacity}"),
        ("organiser", state.label(activity.organiser)),
    ]
    if activity.requester:
        rows.append(("requested by", activity.requester))
    if activity.cancelled:
        rows.append(("status", "cancelled"))
    state.out.result(data, fields(f"{head}: {data['kind']} {activity.id}", rows))


@activity_app.command("create")
def activity_create(
    ctx: typer.Context,
    scheme: SchemeArgument,
    name: Annotated[str, typer.Option("--name")],
    place: Annotated[str, typer.Option("--place")],
    content: Annotated[str, typer.Option("--content")],
    organising_unit: Annotated[str, typer.Option("--unit", help="Organising unit (组织单位).")],
    person_in_charge: Annotated[str, typer.Option("--person", help="Person in charge (负责人).")],
    start: Annotated[str, typer.Option("--start", help="e.g. 2026-11-28 09:00 (CST).")],
    end: Annotated[str, typer.Option("--end")],
    capacity: Annotated[int, typer.Option("--capacity", min=1)] = 1,
    requester: Annotated[
        str | None, typer.Option("--requester", help="A task for this resident's request.")
    ] = None,
) -> None:
    """Publish an activity (or, with --requester, a task answering a resident's request)."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    signer = state.issuer_signer(s)
    view = state.ledger.earning.create_activity(
        organiser=signer,
        scheme=s.id,
        name=name,
        place=place,
        content=content,
        organising_unit=organising_unit,
        person_in_charge=person_in_charge,
        start=start,
        end=end,
        capacity=capacity,
        requester=state.account(requester, what="requester") if requester else None,
    )
    _show_activity(state, view.activity, view.details, "published")


@activity_app.command("show")
def activity_show(ctx: typer.Context, activity_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """An activity: its details, window and places."""
    state = state_of(ctx)
    view = state.ledger.earning.activity(activity_id)
    _show_activity(state, view.activity, view.details, "activity")


@activity_app.command("list")
def activity_list(
    ctx: typer.Context,
    scheme: Annotated[str | None, typer.Option("--scheme")] = None,
    last: Annotated[int, typer.Option("--last", min=1, max=1000)] = 50,
) -> None:
    """The latest activities, newest first."""
    state = state_of(ctx)
    views = state.ledger.earning.activities(scheme=scheme, last=last)
    state.out.result(
        [activity_data(v.activity, v.details) for v in views],
        table(
            "activities",
            ["id", "scheme", "name", "window (CST)", "places left", "status"],
            [
                (
                    v.activity.id,
                    v.activity.scheme_id,
                    v.details.get("name", ""),
                    f"{show_time(v.activity.start)} - {show_time(v.activity.end)}",
                    f"{v.activity.places_left}/{v.activity.capacity}",
                    "cancelled" if v.activity.cancelled else "open",
                )
                for v in views
            ],
        ),
    )


@activity_app.command("assign")
def activity_assign(
    ctx: typer.Context,
    activity_id: Annotated[int, typer.Argument(min=1)],
    member: Annotated[str, typer.Argument(metavar="MEMBER")],
) -> None:
    """Assign a member to an activity (派单), as an organiser of its scheme."""
    state = state_of(ctx)
    view = state.ledger.earning.activity(activity_id)
    signer = state.issuer_signer(state.ledger.scheme(view.activity.scheme_id))
    activity = state.ledger.earning.assign(
        organiser=signer, activity_id=activity_id, member=state.account(member, what="member")
    )
    _show_activity(state, activity, view.details, "assigned")


@activity_app.command("cancel")
def activity_cancel(
    ctx: typer.Context,
    activity_id: Annotated[int, typer.Argument(min=1)],
    reason: Annotated[int, typer.Option("--reason", help="1 organiser, 2 weather, 3 too few.")],
) -> None:
    """Cancel an activity; records already submitted for it stay reviewable."""
    state = state_of(ctx)
    view = state.ledger.earning.activity(activity_id)
    signer = state.issuer_signer(state.ledger.scheme(view.activity.scheme_id))
    activity = state.ledger.earning.cancel_activity(
        organiser=signer, activity_id=activity_id, reason=reason
    )
    _show_activity(state, activity, view.details, "cancelled")


# --- records -------------------------------------------------------------------------------------


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
        employer=state.account(employer, what="employer") if employer else None,
        record_key=record_id,
    )
    _show_record(state, view, "submitted")


@record_app.command("approve")
def record_approve(
    ctx: typer.Context,
    record_id: Annotated[int, typer.Argument(min=1)],
    grade: Annotated[str, typer.Option("--grade", help="A, B, ... (A for fixed actions).")] = "A",
) -> None:
    """Approve a record with a grade; the final approval mints its points."""
    state = state_of(ctx)
    reviewer = state.sign_as(DEFAULT_REVIEWER)
    state.ledger.earning.approve(reviewer=reviewer, record_id=record_id, grade=grade)
    _show_record(state, state.ledger.earning.view(record_id, viewer=reviewer.address), "approved")


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
    state = state_of(ctx)
    reviewer = state.sign_as(DEFAULT_REVIEWER)
    state.ledger.earning.reject(reviewer=reviewer, record_id=record_id, reason=reason)
    _show_record(state, state.ledger.earning.view(record_id, viewer=reviewer.address), "rejected")


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
    who = (
        state.account(viewer, what="viewer") if viewer else state.sign_as(DEFAULT_REVIEWER).address
    )
    _show_record(state, state.ledger.earning.view(record_id, viewer=who), "record")


@record_app.command("list")
def record_list(
    ctx: typer.Context,
    scheme: Annotated[str | None, typer.Option("--scheme")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, approved, ...")] = None,
    last: Annotated[int, typer.Option("--last", min=1, max=1000)] = 50,
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
    last: Annotated[int, typer.Option("--last", min=1, max=1000)] = 50,
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


# --- batch issuance ------------------------------------------------------------------------------


@issue_app.command("batch")
def issue_batch(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE.csv", help="Approved records (docs/issuers-cli.md).")
    ],
    scheme: Annotated[str, typer.Option("--scheme")],
    organiser: Annotated[
        str | None, typer.Option("--organiser", help="Operator that submits (default: issuer).")
    ] = None,
    reviewer: Annotated[
        str, typer.Option("--reviewer", help="Operator that approves.")
    ] = DEFAULT_REVIEWER,
    chunk: Annotated[int, typer.Option("--chunk", min=1, max=1000)] = DEFAULT_CHUNK,
    only_good_rows: Annotated[
        bool, typer.Option("--only-good-rows", help="Pay the good rows even if some are bad.")
    ] = False,
    check: Annotated[bool, typer.Option("--check", help="Check the file; write nothing.")] = False,
) -> None:
    """Pay a file of approved records in chunks: all or nothing unless --only-good-rows; run it
    again after an interruption and it pays each record exactly once."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    organiser_account = state.ledger.operator(organiser) if organiser else state.issuer_signer(s)
    reviewer_account = state.ledger.operator(reviewer)
    started = time.perf_counter()
    plan = plan_batch(
        state.ledger,
        file,
        scheme=s.id,
        organiser=organiser_account.address,
        reviewer=reviewer_account.address,
    )
    for skipped in plan.skipped[:20]:
        state.out.note(f"skipped line {skipped.line} ({skipped.record_id}): {skipped.reason}")
    if len(plan.skipped) > 20:
        state.out.note(f"... and {len(plan.skipped) - 20} more rows already paid")
    for changed in plan.normalised[:20]:
        state.out.note(f"normalised {changed}")
    if len(plan.normalised) > 20:
        state.out.note(f"... and {len(plan.normalised) - 20} more rows normalised")
    normalised = [
        {"line": n.line, "record_id": n.record_id, "changes": list(n.changes)}
        for n in plan.normalised
    ]
    if check:
        plan.raise_if_bad()
        state.out.result(
            {
                "file": str(file),
                "rows": plan.total_rows,
                "good": len(plan.rows),
                "skipped": len(plan.skipped),
                "normalised": normalised,
                "points": plan.points,
                "written": False,
            },
            line(
                f"{file.name}: {len(plan.rows)} rows to pay ({plan.points} points), "
                f"{len(plan.skipped)} already paid; nothing written (--check)"
            ),
        )
        return
    if only_good_rows:
        for error in plan.errors:
            state.out.note(f"left out: {error}")
    # bad rows without --only-good-rows: run_batch writes them down as refused and stops
    if state.out.json_mode or not plan.rows or (plan.errors and not only_good_rows):
        report = run_batch(
            state.ledger,
            plan,
            organiser=organiser_account,
            reviewer=reviewer_account,
            chunk_size=chunk,
            only_good_rows=only_good_rows,
        )
    else:
        with Progress(
            TextColumn("paying"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records ETA"),
            TimeRemainingColumn(),
            console=state.out.err,
        ) as bar:
            task = bar.add_task("pay", total=len(plan.rows))

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = run_batch(
                state.ledger,
                plan,
                organiser=organiser_account,
                reviewer=reviewer_account,
                chunk_size=chunk,
                only_good_rows=only_good_rows,
                progress=progress,
            )
    seconds = time.perf_counter() - started
    data = {
        "job": report.job_id,
        "scheme": s.code,
        "file": str(file),
        "rows": plan.total_rows,
        "paid": report.paid_records,
        "points": report.points,
        "batches": report.batches,
        "resumed_chunks": report.resumed_chunks,
        "skipped": [
            {"line": k.line, "record_id": k.record_id, "reason": k.reason} for k in report.skipped
        ],
        "left_out": [
            {"line": e.line, "record_id": e.record_id, "error": e.message} for e in report.bad_rows
        ],
        "normalised": normalised,
        "seconds": round(seconds, 2),
        "gas_used": report.gas_used,
    }
    rate = report.paid_records / seconds if seconds > 0 else 0
    state.out.result(
        data,
        line(
            f"paid {report.paid_records} records ({report.points} points of {s.code}) in "
            f"{len(report.batches)} batches, {seconds:.1f}s ({rate:.0f} records/s); "
            f"skipped {len(report.skipped)} already paid, left out {len(report.bad_rows)} bad rows",
            "bold",
        ),
    )
