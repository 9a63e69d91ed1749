"""Property-based tests of the spending invariants over random sequences of operations.

Hypothesis draws sequences of exchanges, redemptions, fulfilments, cancellations, gifts, fund
donations and grants, time-bank steps, freezes and new issuance, by random members with random
(often bad) amounts, and sends each to the real contracts on anvil. Refusals are expected and must
change nothing. After every sequence, for every scheme of the test:

- total supply = the sum of all balances + the points held (orders, time-bank requests);
- nothing moved without an event: replaying every ERC-1155 TransferSingle/TransferBatch event of
  the ledger since the start gives exactly the balances on chain (the ledger's own balance is what
  is held);
- every exchange conserved value up to the documented rounding: 0 <= used*vA - out*vB < vA;
- clearing positions sum to zero over all schemes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.base import ContractClient
from ledger.errors import ContractRevert
from ledger.ledger import Ledger
from tests.contracts.governance import govern
from tests.contracts.helpers import source
from tests.factories import new_member, new_scheme
from tests.probes import issue_points

MEMBERS = 5
#: Operations that went through (not refused), by kind, over the whole module: the invariants
#: must have been checked after real movements, not only after refusals.
DONE: dict[str, int] = defaultdict(int)
REFUSED: dict[str, set[str]] = defaultdict(set)
#: Prices of the two catalogue items (in A's and B's points).
PRICES = (35, 60)


def client(ledger: Ledger, name: str) -> ContractClient:
    """A plain client of a deployed contract, by name (its ABI from the build)."""
    return ledger._client(ContractClient, name)


@dataclass
class World:
    ledger: Ledger
    start_block: int
    a: Scheme
    b: Scheme
    t: Scheme
    members: list[str]
    worker: LocalAccount
    merchant: LocalAccount
    issuer_a: LocalAccount
    reviewer: LocalAccount
    items: list[int]
    fund: int
    exchange: ContractClient
    catalogue: ContractClient
    timebank: ContractClient
    gifts: ContractClient
    orders: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    @property
    def schemes(self) -> list[Scheme]:
        return [self.a, self.b, self.t]

    def accounts(self) -> list[str]:
        """Every account that can hold these schemes' points."""
        return [*self.members, self.gifts.address]

    def snapshot(self) -> tuple[Any, ...]:
        p = self.ledger.points
        return tuple(
            (
                p.total_supply(s.id),
                p.held_total(s.id),
                tuple(p.balance_of(a, s.id) for a in self.accounts()),
                tuple(p.frozen_of(m, s.id) for m in self.members),
            )
            for s in self.schemes
        )


@pytest.fixture(scope="module")
def world(anvil_ledger: Ledger) -> Iterator[World]:
    ledger = anvil_ledger
    start = ledger.w3.eth.block_number + 1
    issuer_a = ledger.operator("issuer-vol")
    issuer_t = ledger.operator("issuer-time")
    everything = (
        SchemeFlag.EXCHANGE_IN | SchemeFlag.EXCHANGE_OUT | SchemeFlag.REDEMPTION | SchemeFlag.GIFTS
    )
    a = new_scheme(ledger, issuer=issuer_a.address, flags=everything)
    b = new_scheme(ledger, issuer=ledger.operator("issuer-bee").address, flags=everything)
    t = new_scheme(ledger, issuer=issuer_t.address, flags=SchemeFlag.TIME_BANK)
    # Values that round: 1 point of A is worth 3/7 of a point of B.
    govern(
        ledger,
        [
            ledger.schemes.set_unit_value_call(a.id, 3_000, ledger.w3.eth.block_number + 4),
            ledger.schemes.set_unit_value_call(b.id, 7_000, ledger.w3.eth.block_number + 4),
            ledger.controls.policy_call(scheme=a.id, expiry_months=12),
        ],
    )
    worker = ledger.operator("relayer")
    merchant = ledger.operator("merchant-1")
    reviewer = ledger.operator("reviewer-2")
    registrar = ledger.operator("registrar")
    members = [new_member(ledger).address for _ in range(MEMBERS)]
    registry = client(ledger, "MemberRegistry")
    for m in members:
        registry._write(registrar, "grantProxy", m, worker.address, keccak(text="consent"))
        for s, amount in ((a, 400), (b, 300), (t, 20)):
            issue_points(ledger, m, s.id, amount, source())
    for s, issuer in ((a, issuer_a), (b, ledger.operator("issuer-bee"))):
        ledger.set_scheme_role(
            issuer=issuer, scheme=s.id, role_name="merchant", account=merchant.address, grant=True
        )
    ledger.set_scheme_role(
        issuer=issuer_t, scheme=t.id, role_name="reviewer", account=reviewer.address, grant=True
    )
    catalogue = client(ledger, "Catalogue")
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    items = []
    for s, price in zip((a, b), PRICES, strict=True):
        catalogue._write(
            merchant,
            "listItem",
            s.id,
            price,
            6,
            3,
            now - 60,
            now + 90 * 86400,
            7 * 86400,
            keccak(text=f"item {s.code}"),
        )
        items.append(int(catalogue._read("itemCount")))
    gifts = client(ledger, "Gifts")
    gifts._write(issuer_a, "createFund", a.id, issuer_a.address, keccak(text="fund"))
    fund_id = int(gifts._read("fundCount"))
    gifts._write(worker, "donate", fund_id, members[0], 200, keccak(text="seed"))
    while ledger.w3.eth.block_number < start + 8:
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    yield World(
        ledger=ledger,
        start_block=start,
        a=a,
        b=b,
        t=t,
        members=members,
        worker=worker,
        merchant=merchant,
        issuer_a=issuer_a,
        reviewer=reviewer,
        items=items,
        fund=fund_id,
        exchange=client(ledger, "Exchange"),
        catalogue=catalogue,
        timebank=client(ledger, "TimeBank"),
        gifts=gifts,
    )


# --- operations ----------------------------------------------------------------------------------

member_index = st.integers(0, MEMBERS - 1)
#: Mostly amounts that can go through; a quarter zero or overflowing.
sane = st.integers(1, 80)
amount = st.one_of(sane, sane, sane, st.sampled_from([0, 2**88, 2**128 - 1]))
pick = st.integers(0, 1_000)

operations = st.one_of(
    st.tuples(st.just("exchange"), member_index, st.booleans(), amount),
    st.tuples(st.just("redeem"), member_index, st.integers(0, 1), st.integers(0, 4)),
    st.tuples(st.just("fulfil"), pick),
    st.tuples(st.just("cancel"), pick),
    st.tuples(st.just("give"), member_index, member_index, amount),
    st.tuples(st.just("donate"), member_index, amount),
    st.tuples(st.just("grant"), member_index, amount),
    st.tuples(st.just("post"), member_index, st.integers(0, 8)),
    st.tuples(st.just("accept"), pick, member_index),
    st.tuples(st.just("confirm"), pick),
    st.tuples(st.just("dispute"), pick),
    st.tuples(st.just("resolve"), pick, st.integers(0, 9)),
    st.tuples(st.just("freeze"), member_index, amount, st.booleans()),
    st.tuples(st.just("issue"), member_index, st.integers(0, 2), st.integers(1, 50)),
)


def run(w: World, op: tuple[Any, ...]) -> None:
    """Send one operation as its signer would; a contract refusal raises ContractRevert."""
    kind = op[0]
    m = w.members
    now = int(w.ledger.w3.eth.get_block("latest")["timestamp"])
    if kind == "exchange":
        _, i, a_to_b, n = op
        (src, dst) = (w.a, w.b) if a_to_b else (w.b, w.a)
        values = [w.ledger.schemes.unit_value_at(s.id, 2**63) for s in (src, dst)]
        w.exchange._write(w.worker, "exchange", m[i], src.id, dst.id, n, *values)
    elif kind == "redeem":
        _, i, which, qty = op
        w.catalogue._write(w.worker, "redeem", m[i], w.items[which], qty, PRICES[which])
        w.orders.append(int(w.catalogue._read("orderCount")))
    elif kind in ("fulfil", "cancel"):
        if not w.orders:
            return
        order = w.orders[op[1] % len(w.orders)]
        if kind == "fulfil":
            w.catalogue._write(w.merchant, "fulfil", order, keccak(text=f"code {order}"))
        else:
            w.catalogue._write(w.worker, "cancel", order)
    elif kind == "give":
        _, i, j, n = op
        w.gifts._write(w.worker, "give", w.a.id, m[i], m[j], n, keccak(text="thanks"))
    elif kind == "donate":
        _, i, n = op
        w.gifts._write(w.worker, "donate", w.fund, m[i], n, keccak(text="donation"))
    elif kind == "grant":
        _, i, n = op
        w.gifts._write(w.issuer_a, "grant", w.fund, m[i], n, keccak(text="purpose"))
    elif kind == "post":
        _, i, hours = op
        w.timebank._write(
            w.worker, "post", m[i], w.t.id, 1, hours, keccak(text="help"), now + 30 * 86400
        )
        w.requests.append(int(w.timebank._read("requestCount")))
    elif kind in ("accept", "confirm", "dispute", "resolve"):
        if not w.requests:
            return
        request = w.requests[op[1] % len(w.requests)]
        if kind == "accept":
            w.timebank._write(w.worker, "accept", request, m[op[2]])
        elif kind == "confirm":
            w.timebank._write(w.worker, "confirm", request)
        elif kind == "dispute":
            w.timebank._write(w.worker, "dispute", request, 1)
        else:
            w.timebank._write(w.reviewer, "resolve", request, op[2])
    elif kind == "freeze":
        _, i, n, on = op
        w.ledger.points.set_frozen(
            w.issuer_a, w.a.id, m[i], n, increase=on, case_ref=keccak(text="case")
        )
    elif kind == "issue":
        _, i, which, n = op
        issue_points(w.ledger, m[i], w.schemes[which].id, n, source())


# --- invariants ----------------------------------------------------------------------------------


def check_invariants(w: World) -> None:
    ledger = w.ledger
    p = ledger.points
    for s in w.schemes:
        held = p.held_total(s.id)
        balances = sum(p.balance_of(a, s.id) for a in w.accounts())
        assert p.total_supply(s.id) == balances + held, f"supply of {s.code}"

    # Nothing moves without an event: replay the ERC-1155 events.
    shadow: dict[tuple[str, int], int] = defaultdict(int)
    ids = {s.id for s in w.schemes}
    logs = ledger.w3.eth.get_logs(
        {"fromBlock": w.start_block, "toBlock": "latest", "address": p.address}
    )
    single = p.contract.events.TransferSingle()
    batch = p.contract.events.TransferBatch()
    single_topic = keccak(text="TransferSingle(address,address,address,uint256,uint256)")
    batch_topic = keccak(text="TransferBatch(address,address,address,uint256[],uint256[])")
    for log in logs:
        topic = bytes(log["topics"][0])
        if topic == single_topic:
            e = single.process_log(log)["args"]
            moves = [(e["from"], e["to"], e["id"], e["value"])]
        elif topic == batch_topic:
            e = batch.process_log(log)["args"]
            moves = [(e["from"], e["to"], i, v) for i, v in zip(e["ids"], e["values"], strict=True)]
        else:
            continue
        for frm, to, sid, value in moves:
            if sid in ids:
                shadow[(frm, sid)] -= value
                shadow[(to, sid)] += value
    for s in w.schemes:
        for a in w.accounts():
            assert shadow[(a, s.id)] == p.balance_of(a, s.id), f"events of {a} in {s.code}"
        assert shadow[(p.address, s.id)] == p.held_total(s.id), f"held {s.code} by events"
        # The schemes are new: what events created less what they burned is the whole supply.
        created = -shadow[("0x0000000000000000000000000000000000000000", s.id)]
        assert created == p.total_supply(s.id), f"created less burned {s.code}"

    # Exchanges conserve value up to the documented rounding.
    for e in w.exchange.contract.events.Exchanged().get_logs(from_block=w.start_block):
        x = e["args"]
        assert 0 <= x["used"] * x["fromValue"] - x["out"] * x["toValue"] == x["dust"]
        assert x["dust"] < x["fromValue"]
        assert x["value"] == x["out"] * x["toValue"]

    # Clearing positions sum to zero over every scheme.
    count = ledger.schemes.scheme_count()
    assert sum(int(w.exchange._read("positionOf", i)) for i in range(1, count + 1)) == 0


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    # Each step is a transaction: shrinking a failure would take many minutes; the failing
    # sequence is printed as drawn.
    phases=[Phase.explicit, Phase.generate],
)
@given(st.lists(operations, min_size=5, max_size=25))
def test_random_spending_keeps_every_invariant(world: World, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        before = world.snapshot()
        try:
            run(world, op)
        except ContractRevert as exc:
            REFUSED[op[0]].add(exc.error)
            assert world.snapshot() == before, f"a refused {op[0]} changed state"
        else:
            DONE[op[0]] += 1
    check_invariants(world)


def test_the_random_sequences_moved_points_of_every_kind(world: World) -> None:
    """Runs after the property: every kind of movement happened at least once."""
    kinds = ("exchange", "redeem", "fulfil", "give", "donate", "grant", "post", "accept")
    assert {k: DONE[k] for k in kinds if DONE[k] == 0} == {}, (dict(DONE), dict(REFUSED))
