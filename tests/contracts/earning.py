"""Shared by the earning specifications of the contracts (records, activities, anti-farming,
spending): corrections of approved records, reviews, records sent straight to ServiceRecords past
the ledger's own checks, and the refusals of an approval, of what an organiser or a member does,
and of an account without a role."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.tx import TxResult
from ledger.earning.reading import RecordView
from ledger.errors import ContractRevert, NotAuthorized
from ledger.ledger import Ledger
from tests.earning_helpers import Earning, evidence, refused, state
from tests.factories import Member


def correct(
    ledger: Ledger,
    e: Earning,
    record_id: int,
    start: int,
    end: int,
    *,
    submitter: LocalAccount | None = None,
    evidence_hash: str | None = None,
    content: str = "x",
    reason: str = "r",
) -> RecordView:
    """Submit a correction of `record_id` with fresh evidence (by `e`'s organiser unless
    `submitter` is given)."""
    return ledger.earning.correct(
        submitter=submitter or e.organiser,
        record_id=record_id,
        start=start,
        end=end,
        evidence_hash=evidence_hash or evidence(),
        content=content,
        reason=reason,
    )


def decide(
    ledger: Ledger, reviewer: LocalAccount, record_id: int, action: str, grade: str = "A"
) -> None:
    """`action` "approve" (at `grade`) or "reject" (reason 1) `record_id` as `reviewer`."""
    if action == "approve":
        ledger.earning.approve(reviewer=reviewer, record_id=record_id, grade=grade)
    else:
        ledger.earning.reject(reviewer=reviewer, record_id=record_id, reason=1)


def refused_approval(
    ledger: Ledger,
    e: Earning,
    record_id: int,
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
    *,
    reviewer: LocalAccount | None = None,
    grade: str = "A",
    records: Sequence[int] = (),
    reviewers: Sequence[str] = (),
) -> None:
    """Approving the record (as `e`'s first reviewer unless `reviewer` is given) is refused with
    exactly `error` and `args`, changes nothing of its volunteer, the record (or the given
    `records`) and `reviewers`, and leaves evidence."""
    reviewer = reviewer or e.reviewer
    volunteer = ledger.records.record(record_id).volunteer
    watched = list(records) or [record_id]
    unchanged = state(ledger, e, volunteer, records=watched, reviewers=reviewers)
    with refused(
        ledger, kind, error, args, actor=reviewer.address, action="approve", state=unchanged
    ):
        ledger.earning.approve(reviewer=reviewer, record_id=record_id, grade=grade)


def send_record(
    ledger: Ledger,
    e: Earning,
    volunteer: str,
    start: int,
    end: int,
    *,
    action: bytes = bytes(32),
    details_hash: bytes | None = None,
    evidence_hash: bytes | None = None,
) -> TxResult:
    """Submit a record of no activity straight to the contract as `e`'s organiser: the ledger
    checks nothing first. The hashes are fresh unless given."""
    return ledger.records.submit_record(
        e.organiser,
        scheme_id=e.id,
        activity_id=0,
        volunteer=volunteer,
        start=start,
        end=end,
        action=action,
        details_hash=secrets.token_bytes(32) if details_hash is None else details_hash,
        evidence_hash=secrets.token_bytes(32) if evidence_hash is None else evidence_hash,
    )


def unauthorized(
    ledger: Ledger,
    e: Earning,
    account: LocalAccount,
    action: str,
    unchanged: Callable[[], Any],
    *,
    error: str = "RecordsUnauthorized",
) -> AbstractContextManager[pytest.ExceptionInfo[ContractRevert]]:
    """Expect `account`, who holds no role for `action` in `e`'s scheme, to be refused with
    exactly `error` (schemeId, account), nothing in `unchanged()` changed, and evidence left."""
    return refused(
        ledger,
        NotAuthorized,
        error,
        {"schemeId": e.id, "account": account.address},
        actor=account.address,
        action=action,
        state=unchanged,
    )


def refused_to(
    ledger: Ledger,
    actor: LocalAccount | Member,
    action: str,
    unchanged: Callable[[], Any],
    kind: type[ContractRevert],
    error: str,
    args: dict[str, Any],
) -> AbstractContextManager[pytest.ExceptionInfo[ContractRevert]]:
    """Expect `action` by `actor` (an organiser, a member acting for themselves) to be refused
    with exactly `error` and `args`, nothing in `unchanged()` changed, and evidence left."""
    return refused(ledger, kind, error, args, actor=actor.address, action=action, state=unchanged)
