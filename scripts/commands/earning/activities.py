"""``vpl activity``: activities and tasks (活动/任务) members are assigned to."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.chain.contracts import Activity
from ledger.earning.activities import activity_data
from ledger.values import show_time
from scripts.options import LastOption, SchemeArgument
from scripts.output import fields, table
from scripts.state import APP_OPTIONS, State, state_of

activity_app = typer.Typer(help="Activities and tasks (活动/任务).", **APP_OPTIONS)


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
        requester=state.optional_account(requester, what="requester"),
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
    last: LastOption = 50,
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
