"""PointsLedger's spending primitives, driven directly through the test-only SpendingProbe (a
contract holding SPENDING_ROLE): holds and their settlement, mints, burns and moves, expiry lots
(FIFO, carried through holds and moves, never lengthened), frozen points, maximum balance and
supply limit, pause, and an ERC-1155 event for every movement.

The module runs on a chain of its own: expiry needs chain time to travel across months, which the
session's shared chain must not see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
from eth_account import Account

from ledger.chain.contracts import ContractClient, Scheme
from ledger.chain.contracts.points import Lot, PointsLedgerClient, unpack_lot
from ledger.chain.contracts.schemes import Policy
from ledger.chain.tx import TxResult
from ledger.errors import (
    InsufficientBalance,
    InvalidRequest,
    LimitExceeded,
    NotAMember,
    NotAuthorized,
)
from ledger.ledger import Ledger
from ledger.values import CST
from tests.conftest import _start
from tests.contracts.earning import correct
from tests.contracts.governance import govern
from tests.contracts.helpers import (
    MAX_BALANCE,
    ZERO_ADDRESS,
    events,
    raw_call,
    role_id,
    send,
    source,
    spare,
)
from tests.contracts.refusals import (
    points_frozen,
    points_over_max,
    points_paused,
    points_short,
    refusals_leaving,
    reverts,
)
from tests.earning_helpers import HOUR, earn, earning_scheme
from tests.factories import new_member, new_scheme
from tests.probes import deploy_spending_probe, issue_points, minter, probe_client, spending_probe


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A deployed ledger on a ganache node of this module's own (its time travels by months)."""
    yield from _start(tmp_path_factory, "ganache")


@dataclass(frozen=True)
class Held:
    """A hold the probe placed, as its holder records it (IPointsLedger.Hold)."""

    scheme_id: int
    owner: str
    amount: int
    ref: bytes
    lots: tuple[int, ...]

    @property
    def id(self) -> int:
        """The hold's number in the ledger's events: its reference less the kind byte."""
        return int.from_bytes(self.ref, "big") & ((1 << 248) - 1)

    def with_amount(self, amount: int) -> Held:
        return replace(self, amount=amount)

    def as_arg(self) -> tuple[Any, ...]:
        return (self.scheme_id, self.owner, self.amount, self.ref, list(self.lots))


class Spender:
    """A contract holding SPENDING_ROLE (a SpendingProbe), as the tests drive it."""

    def __init__(self, ledger: Ledger, client: ContractClient, side: int = 0) -> None:
        #: `side`: a scheme the probe converts from and into, to create or burn points elsewhere.
        self.ledger, self.client, self.side = ledger, client, side

    @property
    def address(self) -> str:
        return self.client.address

    def send(self, fn: str, *args: Any) -> TxResult:
        data = self.client._encode(fn, *args)
        return self.ledger.sender.send(minter(), self.client.address, data, context=fn)

    def convert(
        self, a: int, b: int, member: str, used: int, out: int, ref: bytes | None = None
    ) -> TxResult:
        return self.send("convert", a, b, member, used, out, ref or source())

    def create(self, scheme_id: int, member: str, amount: int) -> TxResult:
        """`amount` points created for `member` outside the issuance quota: one point of the side
        scheme issued to them, then converted."""
        issue_points(self.ledger, member, self.side, 1, source())
        return self.convert(self.side, scheme_id, member, 1, amount)

    def burn(self, scheme_id: int, member: str, amount: int) -> TxResult:
        """`amount` of `member`'s points out of supply (converted into one point of the side scheme)."""
        return self.convert(scheme_id, self.side, member, amount, 1)

    def move(self, scheme_id: int, a: str, b: str, amount: int) -> TxResult:
        return self.send("move", scheme_id, a, b, amount, source())

    def hold(self, scheme_id: int, owner: str, amount: int) -> Held:
        ref = source()
        result = self.send("hold", scheme_id, owner, amount, ref)
        (placed,) = events(self.client, result, "ProbeHeld")
        return Held(scheme_id, owner, amount, ref, tuple(int(v) for v in placed["lots"]))

    def settle(self, held: Held, payee: str, to_payee: int, to_burn: int) -> TxResult:
        return self.send("settleHold", held.as_arg(), payee, to_payee, to_burn)


@pytest.fixture(scope="module")
def spender(chain: Ledger) -> Spender:
    return Spender(chain, spending_probe(chain), side=new_scheme(chain, quota=10**15).id)


@pytest.fixture
def scheme(chain: Ledger) -> Scheme:
    return new_scheme(chain, quota=10**9)


@pytest.fixture
def p(chain: Ledger) -> PointsLedgerClient:
    """The points ledger of this module's chain."""
    return chain.points


def member(ledger: Ledger, scheme_id: int | None = None, points: int = 0) -> str:
    address = new_member(ledger).address
    if points:
        assert scheme_id is not None
        issue_points(ledger, address, scheme_id, points, source())
    return address


def state(ledger: Ledger, scheme_id: int, *accounts: str) -> Any:
    """What a refused write must leave as it was."""
    p = ledger.points
    return (
        [
            (p.balance_of(a, scheme_id), p.available_of(a, scheme_id), p.lots_of(a, scheme_id))
            for a in accounts
        ],
        p.total_supply(scheme_id),
        p.burned(scheme_id),
        p.minted(scheme_id),
        p.held_total(scheme_id),
    )


#: `reverts`, and nothing in `state` changed.
refused = refusals_leaving(state)


def short(
    ledger: Ledger, scheme_id: int, member: str, balance: int, needed: int, *accounts: str
) -> AbstractContextManager[Any]:
    """Refused: `member` has only `balance` points available where `needed` are debited."""
    return refused(ledger, *points_short(member, scheme_id, balance, needed), scheme_id, *accounts)


# --- chain time in China Standard Time -----------------------------------------------------------


def now(ledger: Ledger) -> int:
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


def month_of(timestamp: int) -> int:
    """Months since January 1970 (China Standard Time), as ServiceTime.monthOf counts them."""
    d = datetime.fromtimestamp(timestamp, CST)
    return (d.year - 1970) * 12 + d.month - 1


def month_start(month: int) -> int:
    year, index = divmod(month, 12)
    return int(datetime(1970 + year, index + 1, 1, tzinfo=CST).timestamp())


def travel_to(ledger: Ledger, timestamp: int) -> None:
    """Move chain time forward to `timestamp` (this module's own chain only)."""
    delta = timestamp - now(ledger)
    assert delta > 0, "chain time only moves forward"
    ledger.w3.provider.make_request("evm_increaseTime", [delta])  # type: ignore[arg-type]
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def into_month(ledger: Ledger, months_ahead: int) -> int:
    """Travel to an hour after the start of the month `months_ahead` from now; its number."""
    target = month_of(now(ledger)) + months_ahead
    travel_to(ledger, month_start(target) + HOUR)
    assert month_of(now(ledger)) == target
    return target


@pytest.fixture
def expiring(chain: Ledger) -> Scheme:
    """A fresh scheme whose points expire a month after the month they are created in."""
    s = new_scheme(chain, quota=10**9)
    govern(chain, [chain.schemes.set_policy_call(s.id, Policy(expiry_months=1))])
    return s


# --- holds and their settlement ------------------------------------------------------------------


def test_a_hold_takes_available_points_and_settles_to_payee_burn_and_owner(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    owner, payee = member(chain, scheme.id, 100), member(chain)
    supply, held = p.total_supply(scheme.id), p.held_total(scheme.id)
    by_spender = p.held_by(scheme.id, spender.address)
    h = spender.hold(scheme.id, owner, 60)
    assert p.balance_of(owner, scheme.id) == 40
    assert p.held_total(scheme.id) == held + 60 == p.balance_of(p.address, scheme.id)
    assert p.held_by(scheme.id, spender.address) == by_spender + 60
    assert p.total_supply(scheme.id) == supply
    assert h.lots == ()  # the scheme's points never expire
    result = spender.settle(h, payee, 25, 15)
    assert events(p, result, "HoldSettled") == [
        {"holdId": h.id, "payee": payee, "paid": 25, "burned": 15, "returned": 20}
    ]
    transfers = [(t["from"], t["to"], t["value"]) for t in events(p, result, "TransferSingle")]
    assert transfers == [
        (p.address, ZERO_ADDRESS, 15),
        (p.address, payee, 25),
        (p.address, owner, 20),
    ]
    assert (p.balance_of(owner, scheme.id), p.balance_of(payee, scheme.id)) == (60, 25)
    assert p.total_supply(scheme.id) == supply - 15
    assert p.held_total(scheme.id) == held
    assert p.held_by(scheme.id, spender.address) == by_spender


def test_a_holder_settles_no_more_than_it_holds(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    owner = member(chain, scheme.id, 50)
    h = spender.hold(scheme.id, owner, 30)
    assert p.held_by(scheme.id, spender.address) == 30  # the scheme is new
    other = Spender(chain, probe_client(chain, deploy_spending_probe(chain)))
    spending = role_id("spending")
    govern(chain, [raw_call(chain.points, "grantRole", bytes.fromhex(spending[2:]), other.address)])

    def exceeded(holding: int, requested: int) -> AbstractContextManager[Any]:
        args = {"holdId": h.id, "amount": holding, "requested": requested}
        return refused(chain, InvalidRequest, "PointsHoldExceeded", args, scheme.id, owner)

    with exceeded(0, 30):  # another spending contract holds none of it
        other.settle(h, owner, 0, 0)
    stranger = spare(0)
    with refused(
        chain,
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": stranger.address, "neededRole": spending},
        scheme.id,
        owner,
    ):
        send(chain, stranger, raw_call(chain.points, "settleHold", h.as_arg(), owner, 0, 0))
    with exceeded(30, 31):
        spender.settle(h, owner, 20, 11)
    for amount in (0, 31):  # a hold of nothing, or of more than the holder holds
        with exceeded(30, amount):
            spender.settle(h.with_amount(amount), owner, 0, 0)
    spender.settle(h, owner, 0, 30)
    assert p.held_by(scheme.id, spender.address) == 0
    with exceeded(0, 30):  # settled again: the holder holds nothing more of the scheme
        spender.settle(h, owner, 0, 0)


def test_a_holders_count_back_at_zero_keeps_its_storage_word(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    """A hold placed after the holder's count of a scheme went back to zero costs what one on a
    count above zero does: the count's word is rewritten, never filled again (20,000 gas)."""
    owner = member(chain, scheme.id, 90)
    first = spender.hold(scheme.id, owner, 30)
    above_zero = spender.hold(scheme.id, owner, 30)
    for h in (first, above_zero):
        spender.settle(h, owner, 0, 0)
    assert p.held_by(scheme.id, spender.address) == 0
    result = spender.send("hold", scheme.id, owner, 30, source())
    assert p.held_by(scheme.id, spender.address) == 30 == p.held_total(scheme.id)
    assert p.balance_of(owner, scheme.id) == 60
    gas_after_zero = int(result.receipt["gasUsed"])
    probe = spender.send("hold", scheme.id, owner, 30, source())
    gas_above_zero = int(probe.receipt["gasUsed"])
    assert abs(gas_after_zero - gas_above_zero) < 1_000, (gas_after_zero, gas_above_zero)


def test_what_a_hold_returns_to_a_recovered_owner_goes_to_the_successor(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    owner = member(chain, scheme.id, 40)
    h = spender.hold(scheme.id, owner, 40)
    successor = Account.create().address
    govern(chain, [chain.recovery_call(previous=owner, successor=successor)])
    result = spender.settle(h, ZERO_ADDRESS, 0, 10)
    assert events(p, result, "HoldSettled")[0]["returned"] == 30
    assert (p.balance_of(owner, scheme.id), p.balance_of(successor, scheme.id)) == (0, 30)


def test_a_hold_needs_an_active_owner_and_available_points(
    chain: Ledger, spender: Spender, scheme: Scheme
) -> None:
    owner, frozen = member(chain, scheme.id, 20), member(chain, scheme.id, 20)
    chain.members.freeze(chain.operator("registrar"), frozen, 3)
    with refused(chain, *points_frozen(frozen), scheme.id, frozen):
        spender.hold(scheme.id, frozen, 5)
    with short(chain, scheme.id, owner, 20, 21, owner):
        spender.hold(scheme.id, owner, 21)
    for amount in (0, MAX_BALANCE + 1):
        with refused(
            chain, InvalidRequest, "PointsInvalidAmount", {"amount": amount}, scheme.id, owner
        ):
            spender.hold(scheme.id, owner, amount)


# --- mint, burn, move ----------------------------------------------------------------------------


def test_a_conversion_burns_one_scheme_and_creates_another_outside_the_quota(
    chain: Ledger, spender: Spender, p: PointsLedgerClient
) -> None:
    scheme, side = new_scheme(chain, quota=10), spender.side
    m = member(chain, side, 5)
    ref = source()
    result = spender.convert(side, scheme.id, m, 5, 50, ref)  # beyond the issuance quota of 10
    burned, minted = (
        {"member": m, "ref": ref, "amount": amount, "operator": spender.address}
        for amount in (5, 50)
    )
    assert events(p, result, "PointsBurned") == [{"schemeId": side, **burned}]
    assert events(p, result, "PointsMinted") == [{"schemeId": scheme.id, **minted}]
    transfers = [
        (t["id"], t["from"], t["to"], t["value"]) for t in events(p, result, "TransferSingle")
    ]
    assert transfers == [(side, m, ZERO_ADDRESS, 5), (scheme.id, ZERO_ADDRESS, m, 50)]
    assert (p.minted(scheme.id), p.issued(scheme.id), p.total_supply(scheme.id)) == (50, 0, 50)
    assert p.balance_of(m, side) == 0
    issue_points(chain, m, side, 1, source())
    with refused(chain, InvalidRequest, "PointsInvalidAmount", {"amount": 0}, scheme.id, m):
        spender.convert(side, scheme.id, m, 1, 0)  # the burn undone with the refusal
    assert p.balance_of(m, side) == 1
    with short(chain, side, m, 1, 2, m):
        spender.convert(side, scheme.id, m, 2, 5)
    stranger = Account.create().address
    with refused(chain, NotAMember, "PointsNotAMember", {"account": stranger}, scheme.id, m):
        spender.convert(side, scheme.id, stranger, 1, 5)


def test_burns_and_moves_take_available_points_with_their_events(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    a, b = member(chain, scheme.id, 30), member(chain)
    supply = p.total_supply(scheme.id)
    result = spender.burn(scheme.id, a, 10)
    assert [(e["member"], e["amount"]) for e in events(p, result, "PointsBurned")] == [(a, 10)]
    assert p.total_supply(scheme.id) == supply - 10
    result = spender.move(scheme.id, a, b, 15)
    assert [(e["from"], e["to"], e["amount"]) for e in events(p, result, "PointsMoved")] == [
        (a, b, 15)
    ]
    assert (p.balance_of(a, scheme.id), p.balance_of(b, scheme.id)) == (5, 15)
    with refused(chain, InvalidRequest, "PointsInvalidRecipient", {"account": a}, scheme.id, a):
        spender.move(scheme.id, a, a, 1)
    stranger = Account.create().address
    with refused(chain, NotAMember, "PointsNotAMember", {"account": stranger}, scheme.id, a):
        spender.move(scheme.id, a, stranger, 1)
    with short(chain, scheme.id, a, 5, 6, a):
        spender.burn(scheme.id, a, 6)


# --- frozen points -------------------------------------------------------------------------------


def test_frozen_points_are_set_by_the_issuer_and_cannot_be_moved_held_or_burned(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    m, other = member(chain, scheme.id, 50), member(chain)
    issuer = chain.operator("issuer-vol")
    stranger = chain.operator("issuer-bee")
    with refused(
        chain, NotAuthorized, "PointsUnauthorizedCaller", {"caller": stranger.address}, scheme.id, m
    ):
        p.set_frozen(stranger, scheme.id, m, 10, increase=True, case_ref=source())
    with short(chain, scheme.id, m, 50, 51, m):
        p.set_frozen(issuer, scheme.id, m, 51, increase=True, case_ref=source())
    result = p.set_frozen(issuer, scheme.id, m, 40, increase=True, case_ref=source())
    assert events(p, result, "PointsFrozen")[0]["frozen"] == 40
    assert (p.frozen_of(m, scheme.id), p.available_of(m, scheme.id)) == (40, 10)
    for attempt in (
        lambda: spender.move(scheme.id, m, other, 11),
        lambda: spender.hold(scheme.id, m, 11),
        lambda: spender.burn(scheme.id, m, 11),
    ):
        with short(chain, scheme.id, m, 10, 11, m, other):
            attempt()
    with refused(
        chain,
        InsufficientBalance,
        "PointsNotFrozen",
        {"member": m, "schemeId": scheme.id, "frozen": 40, "requested": 41},
        scheme.id,
        m,
    ):
        p.set_frozen(issuer, scheme.id, m, 41, increase=False, case_ref=source())
    p.set_frozen(issuer, scheme.id, m, 40, increase=False, case_ref=source())
    spender.move(scheme.id, m, other, 50)
    assert p.balance_of(other, scheme.id) == 50


def test_a_correction_still_takes_back_frozen_points(chain: Ledger, p: PointsLedgerClient) -> None:
    e = earning_scheme(chain)
    m = member(chain)
    t = now(chain)
    start, end = t - 3 * HOUR, t - HOUR
    record_id = earn(chain, e, m, start, end)  # 2 h x 10 x 1.2 = 24 points
    assert p.balance_of(m, e.id) == 24
    p.set_frozen(e.issuer, e.id, m, 24, increase=True, case_ref=source())
    correction = correct(
        chain, e, record_id, start, end - HOUR, content="实际一小时", reason="签到表记错"
    )
    chain.earning.approve(reviewer=e.reviewer, record_id=correction.record.id, grade="A")
    assert p.balance_of(m, e.id) == 12
    assert p.available_of(m, e.id) == 0


# --- maximum balance and supply limit ------------------------------------------------------------


def test_the_maximum_balance_and_supply_limit_hold_for_every_way_in(
    chain: Ledger, spender: Spender
) -> None:
    scheme = new_scheme(chain, quota=10**9)
    govern(
        chain,
        [chain.schemes.set_policy_call(scheme.id, Policy(max_balance=100, supply_limit=250))],
    )
    a, b, c = member(chain, scheme.id, 90), member(chain, scheme.id, 90), member(chain)
    over = points_over_max(a, scheme.id, 101, 100)
    with refused(chain, *over, scheme.id, a, b):
        issue_points(chain, a, scheme.id, 11, source())
    with refused(chain, *over, scheme.id, a, b):
        spender.create(scheme.id, a, 11)
    with refused(chain, *over, scheme.id, a, b):
        spender.move(scheme.id, b, a, 11)
    supply = {"schemeId": scheme.id, "supply": 180, "requested": 71, "limit": 250}
    with refused(chain, LimitExceeded, "PointsSupplyLimit", supply, scheme.id, a, b, c):
        spender.create(scheme.id, c, 71)
    with refused(chain, LimitExceeded, "PointsSupplyLimit", supply, scheme.id, a, b, c):
        issue_points(chain, c, scheme.id, 71, source())
    spender.create(scheme.id, c, 70)
    assert chain.points.total_supply(scheme.id) == 250


# --- pause ---------------------------------------------------------------------------------------


def test_a_paused_scheme_refuses_every_write_and_reads_keep_working(
    chain: Ledger, spender: Spender, scheme: Scheme, p: PointsLedgerClient
) -> None:
    a, b = member(chain, scheme.id, 50), member(chain)
    h = spender.hold(scheme.id, a, 10)
    pauser = spare(1)
    pauser_role = chain.schemes.role("PAUSER_ROLE")
    govern(chain, [raw_call(chain.schemes, "grantRole", pauser_role, pauser.address)])
    send(chain, pauser, raw_call(chain.schemes, "pause", scheme.id))
    for attempt in (
        lambda: issue_points(chain, a, scheme.id, 1, source()),
        lambda: spender.create(scheme.id, a, 1),
        lambda: spender.burn(scheme.id, a, 1),
        lambda: spender.move(scheme.id, a, b, 1),
        lambda: spender.hold(scheme.id, a, 1),
        lambda: spender.settle(h, b, 1, 0),
        lambda: send(chain, spare(0), raw_call(p, "expire", scheme.id, [a])),
    ):
        with refused(chain, *points_paused(scheme.id), scheme.id, a, b):
            attempt()
    assert (p.balance_of(a, scheme.id), p.available_of(a, scheme.id)) == (40, 40)
    assert chain.schemes.is_paused(scheme.id)
    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": pauser.address, "neededRole": "0x" + "00" * 32},
    ):
        send(chain, pauser, raw_call(chain.schemes, "unpause", scheme.id))
    govern(chain, [chain.schemes.unpause_call(scheme.id)])
    spender.move(scheme.id, a, b, 1)

    govern(chain, [chain.schemes.pause_call(0)])  # every scheme
    try:
        with refused(chain, *points_paused(0), scheme.id, a, b):
            spender.move(scheme.id, a, b, 1)
    finally:
        govern(chain, [chain.schemes.unpause_call(0)])
    spender.settle(h, b, 10, 0)


# --- expiry --------------------------------------------------------------------------------------


def test_points_expire_fifo_by_lot_through_moves_and_expire_sweeps_them(
    chain: Ledger, spender: Spender, expiring: Scheme, p: PointsLedgerClient
) -> None:
    a, b = member(chain), member(chain)
    first = into_month(chain, 1)
    assert p.current_month() == first
    issue_points(chain, a, expiring.id, 10, source())  # expire when month first + 2 begins
    second = into_month(chain, 1)
    issue_points(chain, a, expiring.id, 20, source())  # expire when month second + 2 begins
    assert p.lots_of(a, expiring.id) == [Lot(first + 2, 10), Lot(second + 2, 20)]

    spender.move(expiring.id, a, b, 15)  # oldest first: all 10 of the first lot, 5 of the second
    assert p.lots_of(a, expiring.id) == [Lot(second + 2, 15)]
    assert p.lots_of(b, expiring.id) == [Lot(first + 2, 10), Lot(second + 2, 5)]

    into_month(chain, 1)  # first + 2 begins: b's 10 of the first lot expire
    assert p.available_of(b, expiring.id) == 5
    assert p.balance_of(b, expiring.id) == 15  # not swept yet
    supply, burned = p.total_supply(expiring.id), p.burned(expiring.id)
    result = send(chain, spare(0), raw_call(p, "expire", expiring.id, [a, b]))
    assert events(p, result, "PointsExpired") == [
        {"schemeId": expiring.id, "member": b, "amount": 10, "expiryMonth": first + 2}
    ]
    transfers = [(t["from"], t["to"], t["value"]) for t in events(p, result, "TransferSingle")]
    assert transfers == [(b, ZERO_ADDRESS, 10)]
    assert (p.balance_of(b, expiring.id), p.total_supply(expiring.id)) == (5, supply - 10)
    assert p.burned(expiring.id) == burned + 10
    assert p.lots_of(b, expiring.id) == [Lot(second + 2, 5)]


def test_expired_points_cannot_be_spent_and_are_swept_by_the_next_debit(
    chain: Ledger, spender: Spender, expiring: Scheme, p: PointsLedgerClient
) -> None:
    a, b = member(chain), member(chain)
    start = month_of(now(chain))
    issue_points(chain, a, expiring.id, 10, source())
    into_month(chain, 1)
    issue_points(chain, a, expiring.id, 5, source())
    travel_to(chain, month_start(start + 2) - HOUR)  # the last hour of the first lot
    assert p.available_of(a, expiring.id) == 15
    travel_to(chain, month_start(start + 2) + HOUR)
    assert p.available_of(a, expiring.id) == 5
    with short(chain, expiring.id, a, 5, 6, a, b):
        spender.move(expiring.id, a, b, 6)
    result = spender.move(expiring.id, a, b, 5)  # sweeps the 10 expired points first
    assert [e["amount"] for e in events(p, result, "PointsExpired")] == [10]
    assert (p.balance_of(a, expiring.id), p.balance_of(b, expiring.id)) == (0, 5)
    assert p.lots_of(b, expiring.id) == [Lot(start + 3, 5)]


def test_held_points_keep_their_lots_and_a_received_lot_is_never_lengthened(
    chain: Ledger, spender: Spender, expiring: Scheme, p: PointsLedgerClient
) -> None:
    month = into_month(chain, 1)
    a, b, c = member(chain), member(chain), member(chain)
    issue_points(chain, a, expiring.id, 10, source())  # expires at month + 2
    govern(chain, [chain.schemes.set_policy_call(expiring.id, Policy(expiry_months=3))])
    issue_points(chain, a, expiring.id, 10, source())  # month + 4
    govern(chain, [chain.schemes.set_policy_call(expiring.id, Policy(expiry_months=2))])
    issue_points(chain, b, expiring.id, 6, source())  # month + 3
    assert p.lots_of(a, expiring.id) == [Lot(month + 2, 10), Lot(month + 4, 10)]

    h = spender.hold(expiring.id, a, 14)
    assert [unpack_lot(v) for v in h.lots] == [Lot(month + 2, 10), Lot(month + 4, 4)]
    spender.settle(h, c, 12, 0)  # the payee gets the oldest held points, the rest returns
    assert p.lots_of(c, expiring.id) == [Lot(month + 2, 10), Lot(month + 4, 2)]
    assert p.lots_of(a, expiring.id) == [Lot(month + 4, 8)]
    assert p.balance_of(a, expiring.id) == 8

    # b's points of month + 3 fall between c's lots: they join c's oldest lot (shortened)
    spender.move(expiring.id, b, c, 6)
    assert p.lots_of(c, expiring.id) == [Lot(month + 2, 16), Lot(month + 4, 2)]


# --- ERC-1155 events for every movement ----------------------------------------------------------


def test_transfer_events_reconcile_with_balances_and_supply(
    chain: Ledger, spender: Spender, expiring: Scheme, p: PointsLedgerClient
) -> None:
    a, b, c = member(chain), member(chain), member(chain)
    start = chain.w3.eth.block_number
    issue_points(chain, a, expiring.id, 40, source())
    spender.create(expiring.id, b, 30)
    spender.move(expiring.id, a, c, 12)
    h = spender.hold(expiring.id, b, 20)
    spender.settle(h, c, 8, 5)
    spender.burn(expiring.id, a, 3)
    held = spender.hold(expiring.id, c, 4)
    into_month(chain, 2)
    send(chain, spare(0), raw_call(p, "expire", expiring.id, [a, b, c]))

    totals: dict[str, int] = {}
    created = destroyed = 0
    logs = p.contract.events.TransferSingle().get_logs(from_block=start)
    for log in logs:
        args = log["args"]
        if args["id"] != expiring.id:
            continue
        if args["from"] == ZERO_ADDRESS:
            created += args["value"]
        else:
            totals[args["from"]] = totals.get(args["from"], 0) - args["value"]
        if args["to"] == ZERO_ADDRESS:
            destroyed += args["value"]
        else:
            totals[args["to"]] = totals.get(args["to"], 0) + args["value"]
    for account in (a, b, c, p.address):
        assert totals.get(account, 0) == p.balance_of(account, expiring.id), account
    assert (
        created - destroyed
        == p.total_supply(expiring.id)
        == sum(p.balance_of(x, expiring.id) for x in (a, b, c, p.address))
    )
    # every lot has expired; held points do not expire while held
    assert p.total_supply(expiring.id) == 4 == p.held_total(expiring.id) == held.amount
