"""``vpl audit``: auditors' checks (``ledger.audit.checks``), traces (``ledger.audit.trace``) and
anomaly rules (``ledger.audit.anomalies``) over the chain and the event index; the store's anchors
(``scripts.commands.audit.anchors``) join the group."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.audit.anomalies.detect import RULES, detect
from ledger.audit.anomalies.findings import finding_rows
from ledger.audit.checks.members import event_rows, member_file
from ledger.audit.checks.quota import quota_data, quota_use
from ledger.audit.checks.supply import reconcile, reconciliation_data
from ledger.audit.export import plain
from ledger.audit.index.follow import Indexer
from ledger.audit.trace.batches import trace_batch
from ledger.audit.trace.records import RecordTrace, trace_record
from ledger.audit.trace.rows import batch_rows, record_rows, transaction_rows
from ledger.audit.trace.store import StoreCheck
from ledger.audit.trace.transactions import trace_transaction
from ledger.earning.certificates.verify import verification_data, verify_certificate
from ledger.errors import InputError
from ledger.values import show_time
from scripts.commands.audit.anchors import anchors_app
from scripts.export import ExportOption, check_export, maybe_export
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, state_of

audit_app = typer.Typer(
    help="Auditors' checks and queries over the chain and the event index; every answer can be "
    "exported (--export FILE.csv or FILE.json).",
    **APP_OPTIONS,
)
audit_app.add_typer(anchors_app)  # its commands join this group, after these


@audit_app.command("reconcile")
def reconcile_command(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(help="Scheme code or id.")],
    block: Annotated[
        int | None,
        typer.Option("--block", min=0, help="At this block (default: as far as the index holds)."),
    ] = None,
    export: ExportOption = None,
) -> None:
    """A scheme's supply on chain (issued + minted - burned = total, part held) against what the
    index's movements add up to; exits 1 when they differ, with each difference."""
    check_export(export)
    state = state_of(ctx)
    ledger = state.ledger
    r = reconcile(ledger, Indexer(ledger), int(scheme) if scheme.isdigit() else scheme, block=block)
    state.out.result(
        reconciliation_data(r),
        fields(
            f"supply of {r.scheme} at block {r.block}",
            [
                ("on chain", f"issued {r.issued} + minted {r.minted} - burned {r.burned} "
                 f"= {r.total_supply} (held {r.held})"),
                ("by the index", f"created {r.created} - destroyed {r.destroyed}; in accounts "
                 f"{r.in_accounts} ({r.holders} holders), in holds {r.in_holds}"),
                ("result", "balanced" if r.balanced else "; ".join(r.findings)),
            ],
        ),
    )  # fmt: skip
    data = reconciliation_data(r)
    maybe_export(ctx, export, data, [data])
    if not r.balanced:
        raise typer.Exit(1)


# --- trace, quota, member, verify ----------------------------------------------------------------

_TARGET_HELP = "record:12 (or 12), batch:3, or a transaction hash (0x and 64 hex digits)."


def parse_target(text: str) -> tuple[str, int | str]:
    """What an auditor names: ("record", 12), ("batch", 3) or ("tx", "0x...")."""
    value = text.strip()
    kind, sep, rest = value.partition(":")
    if not sep:
        kind, rest = ("record", value.lstrip("#")) if value.lstrip("#").isdigit() else ("", value)
    if kind in ("record", "batch") and rest.isdigit() and int(rest) > 0:
        return kind, int(rest)
    if value.startswith("0x") and len(value) == 66:
        return "tx", value
    raise InputError(f"trace what? {text[:80]!r} is not {_TARGET_HELP}", target=text[:80])


@audit_app.command("trace")
def trace_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="TARGET", help=_TARGET_HELP)],
    volunteer: Annotated[
        str | None, typer.Option("--volunteer", help="Of a batch, only this member's records.")
    ] = None,
    export: ExportOption = None,
) -> None:
    """Trace points to the service behind them: a record (its activity, submitter, reviewers,
    events and points), a batch (its records read back from the approving transaction), or every
    movement of a transaction; each with its off-chain details checked against the chain. Exits 1
    when something that must never happen, or a store that disagrees, is found."""
    check_export(export)
    state = state_of(ctx)
    ledger = state.ledger
    kind, value = parse_target(target)
    index = Indexer(ledger)
    if kind == "record":
        t = trace_record(ledger, index, int(value))
        data, rows, problems = plain(t), record_rows(t), t.problems
        views: list[Any] = [
            fields(
                f"record {t.record_id} ({t.scheme}, {t.status})",
                [
                    ("volunteer", state.label(t.volunteer)),
                    ("submitted by", state.label(t.submitter)),
                    ("first approval", state.label(t.first_reviewer)),
                    ("decided by", state.label(t.reviewer)),
                    ("service", f"{show_time(t.start)} - {show_time(t.end)}"),
                    ("points", t.points),
                    ("activity", _activity_line(t) if t.activity else None),
                    ("from batch", f"{t.batch['batch_id']}#{t.batch['index']}" if t.batch else None),
                    ("supersedes / superseded by", f"{t.supersedes or '-'} / {t.superseded_by or '-'}"),
                    ("off-chain details", _store_line(t.store)),
                ],
            ),
            table("timeline", ["step", "block", "tx", "account", "amount"],
                  [(r["step"], r["block"], r["tx_hash"], state.label(r["account"]), r["amount"])
                   for r in rows]),
        ]  # fmt: skip
    elif kind == "batch":
        who = state.optional_account(volunteer, what="volunteer")
        b = trace_batch(ledger, index, int(value), volunteer=who)
        data, rows, problems = plain(b), batch_rows(b), b.problems
        views = [
            fields(
                f"batch {b.batch_id} ({b.scheme}, {b.status})",
                [
                    ("submitted by", state.label(b.submitter)),
                    ("approved by", state.label(b.reviewer)),
                    ("records", b.count),
                    ("points", b.points),
                    ("records hash", b.records_hash),
                    ("approval", next((f"block {e.block}, tx {e.tx_hash}" for e in b.events
                                       if e.event == "BatchApproved"), None)),
                ],
            ),
            table("records", ["#", "volunteer", "service", "record", "off-chain details"],
                  [(r.index, r.volunteer, f"{show_time(r.start)} - {show_time(r.end)}",
                    r.record_id or None, _store_line(r.store)) for r in b.records]),
        ]  # fmt: skip
    else:
        tx = trace_transaction(ledger, index, str(value))
        data, rows = plain(tx), transaction_rows(tx)
        problems = tuple(p for r in rows for p in r["problems"])
        views = [
            fields(f"transaction {tx.tx_hash}", [
                ("block", f"{tx.block} ({tx.timestamp.isoformat()})"),
                ("events", ", ".join(e.event for e in tx.events)),
            ]),
            table("points moved", ["kind", "from", "to", "amount", "for", "approved by"],
                  [(r["kind"], state.label(r["from"]), state.label(r["to"]), r["amount"],
                    r["reference"], state.label(r["reviewer"])) for r in rows]),
        ]  # fmt: skip
    views.append(line("problems: " + "; ".join(problems) if problems else "no problems found"))
    state.out.result(data, *views)
    maybe_export(ctx, export, data, rows)
    if problems:
        raise typer.Exit(1)


def _activity_line(t: RecordTrace) -> str:
    a = t.activity
    assert a is not None
    cancelled = ", cancelled" if a.cancelled else ""
    return f"{a.id}: {show_time(a.start)} - {show_time(a.end)}, organiser {a.organiser}{cancelled}"


def _store_line(check: StoreCheck) -> str:
    if not check.found:
        return "not in this store"
    return "match the chain" if check.matches else "DIFFER: " + "; ".join(check.problems)


@audit_app.command("quota")
def quota_command(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(help="Scheme code or id.")],
    since: Annotated[
        str | None, typer.Option("--since", help="From this time (default: 12 windows back).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this time (default: the indexed block).")
    ] = None,
    export: ExportOption = None,
) -> None:
    """Points a scheme issued per quota window, against the quota in force, with the chain's
    count for the current window; exits 1 when they disagree or a window is over its quota."""
    check_export(export)
    state = state_of(ctx)
    ledger = state.ledger
    q = quota_use(
        ledger, Indexer(ledger), int(scheme) if scheme.isdigit() else scheme,
        since=since, until=until,
    )  # fmt: skip
    data = quota_data(q)
    state.out.result(
        data,
        table(
            f"quota use of {q.scheme} (quota {q.quota} per {q.quota_period_seconds} s)",
            ["window", "from", "to", "issued", "quota", "used", "records", "batch records",
             "corrections"],
            [(p.period, p.start.isoformat(), p.end.isoformat(), p.issued, p.quota,
              f"{p.used_percent}%", p.records, p.batch_records, p.corrections)
             for p in q.periods],
        ),
        line(f"on chain, current window {q.chain_current_period}: {q.chain_quota_used} used, "
             f"{q.chain_remaining} left"),
        line("; ".join(q.findings) if q.findings else "the index agrees with the chain"),
    )  # fmt: skip
    maybe_export(ctx, export, data, data["periods"])
    if q.findings:
        raise typer.Exit(1)


@audit_app.command("member")
def member_command(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(metavar="MEMBER", help="Address or operator name.")],
    cursor: Annotated[str | None, typer.Option("--cursor", help="next_cursor of a page.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Events per page (at most 500).")] = 50,
    export: ExportOption = None,
) -> None:
    """A member's standing and balances on chain, and every event that names them (newest
    first, by pages). No personal data: the vault is not read."""
    check_export(export)
    state = state_of(ctx)
    ledger = state.ledger
    f = member_file(
        ledger, Indexer(ledger), state.account(member, what="member"), cursor=cursor, limit=limit
    )
    rows = event_rows(f.events)
    data = plain(f)
    state.out.result(
        data,
        fields(f"member {f.address}", [
            ("status", f.status + (f" (reason {f.frozen_reason})" if f.frozen_reason else "")),
            ("registered by", state.label(f.registrar)),
            ("registered at", show_time(f.registered_at) if f.registered_at else None),
            ("recovered to", f.successor),
            ("balances", ", ".join(f"{k} {v}" for k, v in f.balances.items()) or "none"),
            ("points came from / went to", "; ".join(
                f"{code} {kind} +{v['in']} -{v['out']} ({v['count']})"
                for code, kinds in f.flows.items() for kind, v in kinds.items()) or "nothing"),
            ("index", f"up to block {f.events.indexed_block} ({f.events.blocks_behind} behind)"),
        ]),
        table("events", ["block", "tx", "event", "contract"],
              [(r["block"], r["tx_hash"], r["event"], r["contract"]) for r in rows]),
        line(f"more: --cursor {f.events.next_cursor}" if f.events.next_cursor else "no more"),
    )  # fmt: skip
    maybe_export(ctx, export, data, rows)


@audit_app.command("verify")
def verify_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET",
            help="record:12, batch:3, or a certificate's verification code or .json/.html file.",
        ),
    ],
    export: ExportOption = None,
) -> None:
    """Check off-chain data against the chain: a record's or a batch's stored details (their
    hash, volunteer, times, evidence), or a certificate (its code, signer and every line).
    Exits 1 when anything differs or is missing from the store."""
    check_export(export)
    state = state_of(ctx)
    ledger = state.ledger
    kind = target.partition(":")[0] if ":" in target else ""
    if kind in ("record", "batch"):
        kind_, value = parse_target(target)
        index = Indexer(ledger)
        if kind_ == "record":
            t = trace_record(ledger, index, int(value))
            checks = [(f"record {t.record_id}", t.store)]
            if t.activity is not None:
                checks.append((f"activity {t.activity.id}", t.activity.store))
        else:
            b = trace_batch(ledger, index, int(value))
            checks = [(f"batch {b.batch_id} record {r.index}", r.store) for r in b.records]
        rows = [
            {"what": what, "found": c.found, "matches": c.matches, "record_key": c.record_key,
             "problems": list(c.problems)}
            for what, c in checks
        ]  # fmt: skip
        # details missing from the store are not verified: as much a failure as details differing
        ok_ = all(c.found and c.matches for _, c in checks)
        data: dict[str, Any] = {"target": target, "valid": ok_, "checks": rows}
        state.out.result(
            data,
            table(f"{target} against the chain", ["what", "off-chain details"],
                  [(what, _store_line(c)) for what, c in checks]),
        )  # fmt: skip
    else:
        result = verify_certificate(ledger, target)
        data = verification_data(result)
        ok_ = result.ok
        rows = [{"code": result.code, "valid": result.ok, "problem": p} for p in result.problems]
        rows = rows or [{"code": result.code, "valid": result.ok, "problem": None}]
        state.out.result(
            data,
            line(f"certificate {result.code or target}: " + ("valid" if ok_ else "NOT valid")),
            *(line(f"  - {p}") for p in result.problems),
        )
    maybe_export(ctx, export, data, rows)
    if not ok_:
        raise typer.Exit(1)


@audit_app.command("anomalies")
def anomalies_command(
    ctx: typer.Context,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help=f"Only this rule (again for more): {', '.join(RULES)}."),
    ] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Only this scheme.")] = None,
    from_block: Annotated[int | None, typer.Option("--from-block", min=0)] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", min=0)] = None,
    export: ExportOption = None,
) -> None:
    """Farming and collusion patterns (docs/auditors.md, "Anomaly rules"; thresholds in audit.json) over a
    range of blocks (default: the newest the index holds), each finding with its evidence; exits
    1 when there are findings."""
    check_export(export)
    state = state_of(ctx)
    ledger = state.ledger
    report = detect(
        ledger, Indexer(ledger), rules=rule, from_block=from_block, to_block=to_block,
        scheme=(int(scheme) if scheme.isdigit() else scheme) if scheme else None,
    )  # fmt: skip
    data = plain(report)
    rows = finding_rows(report)
    state.out.result(
        data,
        table(
            f"anomalies, blocks {report.from_block}-{report.to_block} ({report.records} records, "
            f"{report.registrations} registrations)",
            ["rule", "finding", "records", "blocks"],
            [(f.rule, f.message, ", ".join(f.records[:6]) + (" ..." if len(f.records) > 6 else ""),
              f"{f.first_block}-{f.last_block}") for f in report.findings],
        ),
        line(f"{len(report.findings)} findings" if report.findings else "no findings"),
    )  # fmt: skip
    maybe_export(ctx, export, data, rows)
    if report.findings:
        raise typer.Exit(1)
