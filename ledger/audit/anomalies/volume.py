"""Anomaly rules of volume: more than a person does in a day (``burst``), more registrations by
one registrar than a desk handles (``registration_burst``).

``burst``
    More than ``burst_records`` records, or more than ``burst_hours`` hours of service, of one
    volunteer in one scheme on one service day (the day, China Standard Time, each record's
    service starts; a batch's records each count on their own day). Judged by the service times
    the records state, not by when they were submitted: a batch file submits many days' records
    of every member at once, which is ordinary; nobody serves fourteen hours a day.
``registration_burst``
    More than ``registrations_max`` members registered by one registrar within
    ``registrations_window_seconds``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime

from eth_utils import to_checksum_address

from ledger.audit.anomalies.findings import Finding
from ledger.audit.anomalies.records import ChainRecord, step
from ledger.config import AnomalyThresholds
from ledger.store.index import IndexEvent
from ledger.values import CST


def burst(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    days: dict[tuple[int, str, date], list[ChainRecord]] = defaultdict(list)
    for r in records:
        if r.submitted is not None:
            days[(r.scheme_id, r.volunteer, _service_day(r.start))].append(r)
    findings = []
    for (scheme_id, volunteer, day), rs in sorted(days.items()):
        seconds = sum(max(r.end - r.start, 0) for r in rs)
        if len(rs) <= t.burst_records and seconds <= t.burst_hours * 3_600:
            continue
        rs.sort(key=lambda r: (r.start, r.ref))
        findings.append(
            Finding(
                rule="burst",
                message=(
                    f"{len(rs)} records, {seconds / 3_600:g} hours of service of {volunteer} on "
                    f"{day} (more than {t.burst_records} records or {t.burst_hours} hours a day)"
                ),
                scheme_id=scheme_id,
                accounts=(volunteer,),
                records=tuple(r.ref for r in rs),
                evidence=tuple(
                    r.submitted.evidence(  # type: ignore[union-attr]
                        f"{r.ref} submitted: service {_cst(r.start)}-{_cst(r.end)}"
                    )
                    for r in rs
                ),
            )
        )
    return findings


def _service_day(timestamp: int) -> date:
    """The day (China Standard Time) a service starting at `timestamp` counts on, as the
    ledger's daily caps count it (contracts/utils/ServiceTime.sol)."""
    return datetime.fromtimestamp(timestamp, CST).date()


def _cst(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, CST).strftime("%Y-%m-%d %H:%M")


def registration_burst(events: list[IndexEvent], t: AnomalyThresholds) -> list[Finding]:
    groups: dict[str, list[IndexEvent]] = defaultdict(list)
    for e in events:
        groups[to_checksum_address(json.loads(e.args)["registrar"])].append(e)
    findings = []
    for registrar, es in groups.items():
        es.sort(key=lambda e: (e.timestamp, e.block_number, e.log_index))
        i = 0
        while i < len(es):
            j = i
            while j + 1 < len(es) and (
                es[j + 1].timestamp - es[i].timestamp < t.registrations_window_seconds
            ):
                j += 1
            if j - i + 1 > t.registrations_max:
                run = es[i : j + 1]
                findings.append(
                    Finding(
                        rule="registration_burst",
                        message=(
                            f"{registrar} registered {len(run)} members within "
                            f"{run[-1].timestamp - run[0].timestamp} s (more than "
                            f"{t.registrations_max} in {t.registrations_window_seconds} s)"
                        ),
                        scheme_id=None,
                        accounts=(registrar,),
                        records=(),
                        evidence=tuple(
                            step(e).evidence(
                                f"{to_checksum_address(json.loads(e.args)['member'])} registered"
                            )
                            for e in run
                        ),
                    )
                )
                i = j + 1
            else:
                i += 1
    return findings
