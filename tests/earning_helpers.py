"""Shared by the earning specifications: schemes ready to earn in, chain time in China Standard
Time, funding members so they can sign, and asserting that a refusal changed nothing and left
evidence for auditors."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import func, select
from web3 import Web3

from ledger.chain.contracts import Limits, Scheme
from ledger.earning.activities import ActivityView
from ledger.earning.reading import RecordView
from ledger.errors import ContractRevert, LedgerError
from ledger.ledger import Ledger
from ledger.store import session
from ledger.store.records import ActivityDetails, DetailsAccess, RecordDetails
from ledger.store.refusals import RefusedAttempt
from ledger.values import CST
from tests.contracts.helpers import spare
from tests.contracts.refusals import reverts
from tests.factories import Member, new_member, new_scheme

HOUR = 3600
DAY = 86_400
#: China Standard Time is UTC+8 all year.
CST_OFFSET = 8 * HOUR
#: The grade coefficients of Wuhan's per-service evaluation (一事一评).
WUHAN = {"A": "1.2", "B": "1.0", "C": "0.8", "D": "0.5"}
#: Jiangcheng little bees (江城小蜜蜂): points per reported action.
BEE = {"security_tip_major": 100, "safety_hazard": 50, "community_report": 10, "policy_reading": 2}
#: Limits loose enough that only the rule a test breaks on purpose can refuse it.
LOOSE = Limits(
    records_per_day=63,
    minutes_per_day=1440,
    points_per_day=1_000_000,
    points_per_week=10_000_000,
    approvals_per_hour=1_000_000,
    late_working_days=60,
)
#: What a record needs to state besides the figures (2021 rules on volunteer service records).
DETAILS = {
    "activity": "社区助老服务",
    "place": "百瑞景社区服务站",
    "organising_unit": "百瑞景社区居委会",
    "person_in_charge": "王主任",
}


# --- chain time, read as China Standard Time ------------------------------------------------------


def now(ledger: Ledger) -> int:
    """The latest block's time: what the chain takes as now."""
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


def advance(ledger: Ledger, seconds: int) -> None:
    """Move chain time forward (only forward, and modestly: the chain is shared by the session)."""
    assert 0 < seconds <= 2 * DAY
    ledger.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def day_of(timestamp: int) -> int:
    """The day number (China Standard Time), as ServiceTime.dayOf counts it."""
    return (timestamp + CST_OFFSET) // DAY


def midnight(day: int) -> int:
    """00:00 China Standard Time of day number `day`, as a Unix time."""
    return day * DAY - CST_OFFSET


def weekday(day: int) -> int:
    """Monday 0 ... Sunday 6 of a day number (day 0, 1970-01-01, was a Thursday)."""
    return (day + 3) % 7


def monday(day: int) -> int:
    """The day number of the Monday of `day`'s week."""
    return day - weekday(day)


def working_days_between(start_day: int, end_day: int) -> int:
    """Monday-to-Friday days after `start_day` up to and including `end_day`."""
    return sum(1 for d in range(start_day + 1, end_day + 1) if weekday(d) < 5)


def past_monday(ledger: Ledger, weeks_back: int = 3) -> int:
    """00:00 CST of the Monday `weeks_back` weeks before this one: a clean week in the past."""
    return midnight(monday(day_of(now(ledger))) - 7 * weeks_back)


def as_typed(timestamp: int) -> str:
    """`timestamp` as people type a time: 2026-11-20 09:00 (China Standard Time)."""
    return datetime.fromtimestamp(timestamp, CST).strftime("%Y-%m-%d %H:%M")


def clear_of_boundary(ledger: Ledger, period: int, *, offset: int = 0, margin: int = 120) -> None:
    """Make sure the next `margin` seconds of chain time stay in one period (an hour, a CST day),
    so that a test counting within it cannot see the count reset under it."""
    t = now(ledger)
    left = period - (t + offset) % period
    if left < margin:
        advance(ledger, left + 1)


# --- accounts -------------------------------------------------------------------------------------


def fund(ledger: Ledger, address: str, ether: int = 1) -> None:
    """Send `ether` from a spare dev account, so that a fresh member key can sign transactions."""
    payer = spare(2)
    w3 = ledger.w3
    signed = payer.sign_transaction(
        {
            "chainId": ledger.sender.chain_id,
            "nonce": w3.eth.get_transaction_count(payer.address, "pending"),
            "to": Web3.to_checksum_address(address),
            "value": ether * 10**18,
            "gas": 21_000,
            "gasPrice": w3.eth.gas_price,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    ledger.sender.wait(tx_hash.to_0x_hex())
    # the sender keeps its own count of the payer's nonces; let it read the chain again
    ledger.sender.reset_nonce(payer.address)


def funded_member(ledger: Ledger) -> Member:
    """A fresh registered member who can sign their own transactions."""
    member = new_member(ledger)
    fund(ledger, member.address)
    return member


# --- schemes ready to earn in ---------------------------------------------------------------------


@dataclass(frozen=True)
class Earning:
    """A scheme with its rule, limits and staff: the issuer, an organiser, two reviewers."""

    scheme: Scheme
    issuer: LocalAccount
    organiser: LocalAccount
    reviewers: tuple[LocalAccount, LocalAccount]
    limits: Limits
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.scheme.id

    @property
    def reviewer(self) -> LocalAccount:
        return self.reviewers[0]


def earning_scheme(
    ledger: Ledger,
    *,
    limits: Limits = LOOSE,
    fixed: bool = False,
    quota: int = 10**12,
    points_per_hour: int = 10,
    issuer: LocalAccount | None = None,
) -> Earning:
    """A fresh scheme of `issuer` (issuer-vol unless given): a duration rule (10 points an hour,
    Wuhan grades) or the little bees' fixed-point table; issuer-bee as organiser; reviewer-1 and
    reviewer-2."""
    issuer = issuer or ledger.operator("issuer-vol")
    scheme = new_scheme(ledger, issuer=issuer.address, quota=quota)
    if fixed:
        ledger.publish_fixed_rule(issuer=issuer, scheme=scheme.id, actions=BEE)
    else:
        ledger.publish_duration_rule(
            issuer=issuer, scheme=scheme.id, points_per_hour=points_per_hour, grades=WUHAN
        )
    organiser = ledger.operator("issuer-bee")
    reviewers = (ledger.operator("reviewer-1"), ledger.operator("reviewer-2"))
    grant(ledger, scheme, "organiser", organiser.address, issuer=issuer)
    for reviewer in reviewers:
        grant(ledger, scheme, "reviewer", reviewer.address, issuer=issuer)
    ledger.earning.set_limits(issuer=issuer, scheme=scheme.id, limits=limits)
    return Earning(scheme, issuer, organiser, reviewers, limits)


#: Schemes shared by the earning specifications, per deployed ledger (keyed by its PointsLedger).
_SHARED: dict[tuple[str, str], Earning] = {}


def shared_scheme(ledger: Ledger, kind: str) -> Earning:
    """A scheme set up once per session and shared by every module that earns in it as its own
    fresh members: "duration" (loose limits), "fixed" (the little bees' table, loose limits) or
    "late" (loose, but records are on time for two working days only)."""
    key = (ledger.points.address, kind)
    if key not in _SHARED:
        if kind == "duration":
            _SHARED[key] = earning_scheme(ledger)
        elif kind == "fixed":
            _SHARED[key] = earning_scheme(ledger, fixed=True)
        elif kind == "late":
            _SHARED[key] = earning_scheme(ledger, limits=replace(LOOSE, late_working_days=2))
        else:
            raise ValueError(f"no shared scheme of kind {kind!r}")
    return _SHARED[key]


def grant(
    ledger: Ledger, scheme: Scheme, role_name: str, account: str, *, issuer: LocalAccount
) -> None:
    ledger.set_scheme_role(
        issuer=issuer, scheme=scheme.id, role_name=role_name, account=account, grant=True
    )


# --- activities and records -----------------------------------------------------------------------


def evidence() -> str:
    """A fresh evidence hash (of photos, a sign-in sheet)."""
    return "0x" + secrets.token_hex(32)


def create_activity(
    ledger: Ledger,
    e: Earning,
    *,
    start: int,
    end: int,
    capacity: int = 10,
    requester: str | None = None,
    organiser: LocalAccount | None = None,
    name: str | None = None,
) -> ActivityView:
    """An activity (or task) with details unique to this call."""
    return ledger.earning.create_activity(
        organiser=organiser or e.organiser,
        scheme=e.id,
        name=name or f"助老送餐 {uuid.uuid4().hex[:8]}",
        place="百瑞景社区",
        content="为独居老人送午餐",
        organising_unit="百瑞景社区居委会",
        person_in_charge="王主任",
        start=start,
        end=end,
        capacity=capacity,
        requester=requester,
    )


def two_hours_ago(ledger: Ledger) -> tuple[int, int]:
    """Start and end of two hours of service that ended an hour ago."""
    t = now(ledger)
    return t - 3 * HOUR, t - HOUR


def open_activity(ledger: Ledger, e: Earning, *, capacity: int = 10) -> ActivityView:
    """An activity that began a week ago and ends tomorrow: records of past service fit it."""
    t = now(ledger)
    return create_activity(ledger, e, start=t - 7 * DAY, end=t + DAY, capacity=capacity)


def submit(
    ledger: Ledger,
    e: Earning,
    volunteer: str,
    start: int,
    end: int,
    *,
    submitter: LocalAccount | None = None,
    activity_id: int = 0,
    action: str | None = None,
    evidence_hash: str | None = None,
    employer: str | None = None,
    record_key: str | None = None,
    content: str = "陪老人就医、代购药品",
) -> RecordView:
    """Submit a record (by the scheme's organiser unless `submitter` is given)."""
    return ledger.earning.submit_record(
        submitter=submitter or e.organiser,
        scheme=e.id,
        volunteer=volunteer,
        start=start,
        end=end,
        evidence_hash=evidence_hash or evidence(),
        content=content,
        activity_id=activity_id,
        action=action,
        details=None if activity_id else dict(DETAILS),
        employer=employer,
        record_key=record_key,
    )


def earn(
    ledger: Ledger,
    e: Earning,
    volunteer: str,
    start: int,
    end: int,
    *,
    grade: str = "A",
    reviewer: LocalAccount | None = None,
    **kwargs: Any,
) -> int:
    """Submit and approve a record; its id."""
    record_id = submit(ledger, e, volunteer, start, end, **kwargs).record.id
    ledger.earning.approve(reviewer=reviewer or e.reviewer, record_id=record_id, grade=grade)
    return record_id


# --- what a refusal must leave as it was ----------------------------------------------------------


def store_counts(ledger: Ledger) -> dict[str, int]:
    """Rows of the off-chain tables a refused write must not touch."""
    out = {}
    with session(ledger.engine) as db:
        for table in (RecordDetails, ActivityDetails, DetailsAccess):
            out[table.__tablename__] = db.exec(select(func.count()).select_from(table)).one()
    return out


def snapshot(
    ledger: Ledger,
    scheme_id: int,
    members: Sequence[str] = (),
    *,
    records: Sequence[int] = (),
    activities: Sequence[int] = (),
    reviewers: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything a refused write could have changed: balances and standing of `members`, the
    scheme's issued and burned points and quota left, the given records, activities and their
    participants, reviewers' approvals this hour, the counts of records and activities on chain,
    and the store's rows."""
    p = ledger.points
    return {
        "standing": {m: p.standing(m, scheme_id) for m in members},
        "supply": (
            p.issued(scheme_id),
            p.burned(scheme_id),
            p.remaining_quota(scheme_id),
        ),
        "records": [ledger.records.record(r) for r in records],
        "activities": [ledger.activities.activity(a) for a in activities],
        "participation": {
            (a, m): ledger.activities.participation(a, m) for a in activities for m in members
        },
        "load": {r: ledger.records.reviewer_load(scheme_id, r) for r in reviewers},
        "counts": (ledger.records.record_count(), ledger.activities.count()),
        "store": store_counts(ledger),
    }


def state(ledger: Ledger, e: Earning, *members: str, **kwargs: Any) -> Callable[[], Any]:
    """What `refused` compares before and after: a `snapshot` of `e`'s scheme for `members`."""
    return lambda: snapshot(ledger, e.id, members, **kwargs)


def assert_unchanged(before: Any, after: Any) -> None:
    """`after` equals `before`; the message names what changed (this module is not rewritten)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
        assert not changed and before.keys() == after.keys(), f"a refused write changed {changed}"
    else:
        assert before == after, f"a refused write changed {before!r} to {after!r}"


def last_refusal_id(ledger: Ledger) -> int:
    rows = ledger.earning.refusals(last=1)
    return (rows[0].id or 0) if rows else 0


def refusals_since(ledger: Ledger, last_id: int) -> list[RefusedAttempt]:
    return [r for r in ledger.earning.refusals(last=20) if (r.id or 0) > last_id]


def assert_refusal_logged(
    ledger: Ledger, last_id: int, *, actor: str, action: str, exc: LedgerError
) -> RefusedAttempt:
    """Exactly one refused attempt was written since `last_id`, saying who, what and why."""
    rows = refusals_since(ledger, last_id)
    assert len(rows) == 1, [(r.action, r.error) for r in rows]
    row = rows[0]
    assert (row.actor, row.action, row.code) == (actor, action, exc.code)
    assert row.error == getattr(exc, "error", None)
    assert row.message == str(exc)[:1000]
    return row


@contextmanager
def refused(
    ledger: Ledger,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *,
    actor: str,
    action: str,
    state: Callable[[], Any],
    logged: bool = True,
) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Expect exactly the custom error `error` with `args`, nothing in `state()` changed, and the
    refused attempt written down for auditors (unless `logged` is false: see the callers)."""
    before = state()
    last_id = last_refusal_id(ledger)
    with reverts(kind, error, args) as info:
        yield info
    assert_unchanged(before, state())
    if logged:
        assert_refusal_logged(ledger, last_id, actor=actor, action=action, exc=info.value)


@contextmanager
def refused_off_chain(
    ledger: Ledger,
    kind: type[LedgerError],
    match: str,
    *,
    state: Callable[[], Any],
    actor: str | None = None,
    action: str | None = None,
) -> Iterator[pytest.ExceptionInfo[LedgerError]]:
    """Expect the ledger itself to refuse with `kind` (message matching `match`) and nothing in
    `state()` changed; with `actor`, the refused attempt is written down as well.

    Input refused before anything is sent (InputError) is not written down today: it is nobody's
    attempt on the ledger, only a typing mistake; these specifications do not insist either way.
    """
    before = state()
    last_id = last_refusal_id(ledger)
    with pytest.raises(kind, match=match) as info:
        yield info
    assert_unchanged(before, state())
    if actor is not None:
        assert action is not None
        assert_refusal_logged(ledger, last_id, actor=actor, action=action, exc=info.value)
