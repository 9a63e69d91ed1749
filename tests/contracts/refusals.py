"""How the contract specifications assert a refusal: exactly the custom error and its arguments,
and nothing changed; and the points ledger's refusals, which every contract that moves points
passes on, as values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Concatenate, ParamSpec

import pytest

from ledger.errors import ContractRevert, InsufficientBalance, LimitExceeded, MemberFrozen, Paused
from ledger.ledger import Ledger

#: A refusal as `reverts` expects it: the kind of error, the custom error and its arguments.
Refusal = tuple[type[ContractRevert], str, dict[str, Any]]
P = ParamSpec("P")


@contextmanager
def reverts(
    kind: type[ContractRevert], error: str, args: dict[str, Any]
) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Expect the contract to refuse with exactly the custom error `error` carrying `args`."""
    with pytest.raises(kind) as info:
        yield info
    assert info.value.error == error, str(info.value)
    assert info.value.args_by_name == args


@contextmanager
def reverts_unchanged(
    kind: type[ContractRevert], error: str, args: dict[str, Any], state: Callable[[], Any]
) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """`reverts`, and nothing in `state()` changed: a refused write leaves everything as it was."""
    before = state()
    with reverts(kind, error, args) as info:
        yield info
    after = state()
    assert after == before, f"a refused write changed {before!r} to {after!r}"


def refusals_leaving(
    state: Callable[Concatenate[Ledger, P], Any],
) -> Callable[
    Concatenate[Ledger, type[ContractRevert], str, dict[str, Any], P],
    AbstractContextManager[pytest.ExceptionInfo[ContractRevert]],
]:
    """A specification's `refused(ledger, kind, error, args, ...)`: `reverts`, and nothing in
    `state(ledger, ...)` changed (`state` reads what a refused write could have changed)."""

    def refused(
        ledger: Ledger,
        kind: type[ContractRevert],
        error: str,
        args: dict[str, Any],
        *what: P.args,
        **which: P.kwargs,
    ) -> AbstractContextManager[pytest.ExceptionInfo[ContractRevert]]:
        return reverts_unchanged(kind, error, args, lambda: state(ledger, *what, **which))

    return refused


# --- the points ledger's refusals -----------------------------------------------------------------


def points_short(member: str, scheme_id: int, balance: int, needed: int) -> Refusal:
    """`member` has only `balance` points of the scheme available where `needed` are debited."""
    args = {"member": member, "schemeId": scheme_id, "balance": balance, "needed": needed}
    return InsufficientBalance, "PointsInsufficientBalance", args


def points_over_max(member: str, scheme_id: int, balance: int, max_balance: int) -> Refusal:
    """The move would leave `member` with `balance` points, over the scheme's maximum balance."""
    args = {"member": member, "schemeId": scheme_id, "balance": balance, "maxBalance": max_balance}
    return LimitExceeded, "PointsMaxBalance", args


def points_frozen(account: str) -> Refusal:
    """`account` is a frozen member: none of their points move."""
    return MemberFrozen, "PointsMemberFrozen", {"account": account}


def points_paused(scheme_id: int) -> Refusal:
    """The scheme (0: every scheme) is paused: no points of it move."""
    return Paused, "PointsPaused", {"schemeId": scheme_id}
