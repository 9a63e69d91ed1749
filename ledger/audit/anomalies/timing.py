"""Anomaly rules of timing: service outside its activity (``outside_window``), review faster than
a person reviews (``fast_review``).

``outside_window``
    A record of an activity whose service time is not within the activity's window, or that was
    approved after the activity was cancelled. The contracts refuse the first at submission; the
    rule checks it anyway (older deployments, upgraded contracts).
``fast_review``
    A record approved less than ``min_review_seconds`` after it was submitted (a batch: after the
    batch was submitted), and runs of ``fast_run`` or more approvals by one reviewer each less
    than ``min_review_seconds`` after the one before: faster than a person can review.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ledger.audit.anomalies.findings import Finding, one_scheme
from ledger.audit.anomalies.records import ChainRecord
from ledger.config import AnomalyThresholds


def outside_window(
    records: list[ChainRecord], activities: dict[int, dict[str, Any]]
) -> list[Finding]:
    findings = []
    for r in records:
        a = activities.get(r.activity_id)
        if not r.activity_id or a is None or "start" not in a:
            continue
        steps = [s for s in (r.submitted, r.approved) if s is not None]
        if r.start < a["start"] or r.end > a["end"]:
            findings.append(
                Finding(
                    rule="outside_window",
                    message=(
                        f"{r.ref}: service {r.start}-{r.end} is outside activity {r.activity_id}'s "
                        f"window {a['start']}-{a['end']}"
                    ),
                    scheme_id=r.scheme_id,
                    accounts=(r.volunteer,),
                    records=(r.ref,),
                    evidence=(
                        a["created"].evidence(f"activity {r.activity_id} created"),
                        *(s.evidence(f"{r.ref}") for s in steps),
                    ),
                )
            )
        cancelled = a.get("cancelled")
        if (
            cancelled is not None
            and r.approved is not None
            and ((r.approved.block, r.approved.timestamp) >= (cancelled.block, cancelled.timestamp))
        ):
            findings.append(
                Finding(
                    rule="outside_window",
                    message=f"{r.ref} was approved after activity {r.activity_id} was cancelled",
                    scheme_id=r.scheme_id,
                    accounts=(r.volunteer, r.reviewer or ""),
                    records=(r.ref,),
                    evidence=(
                        cancelled.evidence(f"activity {r.activity_id} cancelled"),
                        r.approved.evidence(f"{r.ref} approved"),
                    ),
                )
            )
    return findings


def fast_review(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    findings = []
    approvals: dict[str, list[ChainRecord]] = defaultdict(list)
    seen_batches: set[str] = set()
    for r in records:
        if r.approved is None or r.submitted is None:
            continue
        unit = r.ref.split("#")[0]  # a batch is reviewed once, as a whole
        if unit in seen_batches:
            continue
        seen_batches.add(unit)
        approvals[r.reviewer or ""].append(r)
        took = r.approved.timestamp - r.submitted.timestamp
        if took < t.min_review_seconds:
            findings.append(
                Finding(
                    rule="fast_review",
                    message=(
                        f"{unit} approved by {r.reviewer} {took} s after it was submitted "
                        f"(under {t.min_review_seconds} s)"
                    ),
                    scheme_id=r.scheme_id,
                    accounts=(r.reviewer or "",),
                    records=(unit,),
                    evidence=(
                        r.submitted.evidence(f"{unit} submitted"),
                        r.approved.evidence(f"{unit} approved"),
                    ),
                )
            )
    for reviewer, rs in approvals.items():
        rs.sort(key=lambda r: (r.approved.block, r.approved.timestamp))  # type: ignore[union-attr]
        run: list[ChainRecord] = []
        upcoming: list[ChainRecord | None] = [*rs, None]
        for nxt in upcoming:
            if (
                nxt is not None
                and run
                and (
                    nxt.approved.timestamp - run[-1].approved.timestamp < t.min_review_seconds  # type: ignore[union-attr]
                )
            ):
                run.append(nxt)
                continue
            if len(run) >= t.fast_run:
                units = [x.ref.split("#")[0] for x in run]
                findings.append(
                    Finding(
                        rule="fast_review",
                        message=(
                            f"{reviewer} approved {len(run)} records or batches in a row, each "
                            f"under {t.min_review_seconds} s after the one before"
                        ),
                        scheme_id=one_scheme(x.scheme_id for x in run),
                        accounts=(reviewer,),
                        records=tuple(units),
                        evidence=tuple(
                            x.approved.evidence(f"{u} approved")  # type: ignore[union-attr]
                            for x, u in zip(run, units, strict=True)
                        ),
                    )
                )
            run = [nxt] if nxt is not None else []
    return findings
