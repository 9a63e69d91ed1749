"""``vpl issue batch``: a file of approved records paid in chunks, exactly once."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.earning.batch.pay import DEFAULT_CHUNK, run_batch
from ledger.earning.batch.plan import plan_batch
from scripts.options import REVIEWER
from scripts.output import line
from scripts.state import APP_OPTIONS, state_of

issue_app = typer.Typer(help="Issuing points (发放).", **APP_OPTIONS)


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
    reviewer: Annotated[str, typer.Option("--reviewer", help="Operator that approves.")] = REVIEWER,
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
    pay = partial(
        run_batch,
        state.ledger,
        plan,
        organiser=organiser_account,
        reviewer=reviewer_account,
        chunk_size=chunk,
        only_good_rows=only_good_rows,
    )
    # bad rows without --only-good-rows: run_batch writes them down as refused and stops
    if state.out.json_mode or not plan.rows or (plan.errors and not only_good_rows):
        report = pay()
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

            report = pay(progress=progress)
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
