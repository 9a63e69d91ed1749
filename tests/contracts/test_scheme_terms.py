"""SchemeRegistry: the terms every spending operation reads in one call (``spendingTerms``: the
value in force, flags, pause and policy, from two packed storage words; ``policyTerms``: the same
without the value, from one), kept in step with the council's changes and with the older readers
(``unitValueAt``, ``ledgerTerms``, ``policyOf``)."""

from __future__ import annotations

import pytest

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.chain.contracts.schemes import PAUSED_EVERY_SCHEME, Policy, SpendingTerms
from ledger.chain.tx import TxResult
from ledger.errors import UnknownScheme
from ledger.ledger import Ledger
from tests.contracts.governance import govern
from tests.contracts.helpers import MAX_BALANCE, MAX_UINT128, events
from tests.contracts.refusals import reverts
from tests.exchange_helpers import mine
from tests.factories import new_scheme

FLAGS = SchemeFlag.EXCHANGE_OUT | SchemeFlag.REDEMPTION


@pytest.fixture
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger, flags=FLAGS, unit_value=1_000)


def schedule(ledger: Ledger, scheme: Scheme, unit_value: int, lead: int) -> tuple[int, TxResult]:
    """Council: `scheme` is worth `unit_value` from `lead` blocks after the proposal's; that block,
    and the receipt of the change."""
    from_block = ledger.w3.eth.block_number + 4 + lead  # the proposal takes three blocks
    call = ledger.schemes.set_unit_value_call(scheme.id, unit_value, from_block)
    return from_block, govern(ledger, [call])


def mine_to(ledger: Ledger, block: int) -> None:
    mine(ledger, max(block - ledger.w3.eth.block_number, 0))


def ledger_terms(ledger: Ledger, scheme_id: int) -> tuple[int, int, int, Policy]:
    """``ledgerTerms``' flags, pause, quota and policy, to compare with spendingTerms'."""
    quota, _, flags, paused, policy = ledger.schemes.contract.functions.ledgerTerms(
        scheme_id
    ).call()
    return flags, paused, quota, Policy(*policy)


def policy_terms(ledger: Ledger, scheme_id: int) -> tuple[int, int, Policy]:
    """``policyTerms``' flags, pause and policy: spendingTerms' without the value."""
    flags, paused, policy = ledger.schemes.contract.functions.policyTerms(scheme_id).call()
    return flags, paused, Policy(*policy)


def without_value(terms: SpendingTerms) -> tuple[int, int, Policy]:
    return int(terms.flags), terms.paused, terms.policy


def test_the_terms_of_a_scheme_as_admitted(ledger: Ledger, scheme: Scheme) -> None:
    terms = ledger.schemes.spending_terms(scheme.id)

    assert terms == SpendingTerms(unit_value=1_000, flags=FLAGS, paused=0, policy=Policy())
    assert ledger_terms(ledger, scheme.id) == (int(FLAGS), 0, scheme.quota, Policy())
    assert policy_terms(ledger, scheme.id) == (int(FLAGS), 0, Policy())


def test_the_value_changes_at_its_block_and_not_before(ledger: Ledger, scheme: Scheme) -> None:
    from_block, _ = schedule(ledger, scheme, 2_500, lead=6)

    assert ledger.schemes.spending_terms(scheme.id).unit_value == 1_000
    assert ledger.scheme(scheme.id).unit_value == 1_000
    assert ledger.schemes.unit_value_at(scheme.id, from_block - 1) == 1_000
    assert ledger.schemes.unit_value_at(scheme.id, from_block) == 2_500

    mine_to(ledger, from_block)

    assert ledger.schemes.spending_terms(scheme.id).unit_value == 2_500
    assert ledger.scheme(scheme.id).unit_value == 2_500
    assert ledger.schemes.unit_value_at(scheme.id, from_block - 1) == 1_000


def test_a_pending_change_is_replaced_by_the_next_one_set(ledger: Ledger, scheme: Scheme) -> None:
    first, _ = schedule(ledger, scheme, 3_000, lead=20)
    second, result = schedule(ledger, scheme, 4_000, lead=4)
    changes = ledger.schemes.value_changes(scheme.id)

    assert second < first
    # The value in force when it was set: the scheme's own, not the replaced change.
    assert events(ledger.schemes, result, "SchemeValueChanged") == [
        {"schemeId": scheme.id, "previousValue": 1_000, "unitValue": 4_000, "fromBlock": second}
    ]
    assert [(c.from_block, c.unit_value) for c in changes[1:]] == [(second, 4_000)]
    assert ledger.schemes.spending_terms(scheme.id).unit_value == 1_000

    mine_to(ledger, second)
    assert ledger.schemes.spending_terms(scheme.id).unit_value == 4_000
    mine_to(ledger, first)
    # The replaced change never takes effect.
    assert ledger.schemes.spending_terms(scheme.id).unit_value == 4_000
    assert ledger.schemes.unit_value_at(scheme.id, result.block_number) == 1_000
    assert ledger.schemes.unit_value_at(scheme.id, first) == 4_000


def test_a_change_after_one_in_force_keeps_the_history_for_old_blocks(
    ledger: Ledger, scheme: Scheme
) -> None:
    created = ledger.schemes.value_changes(scheme.id)[0].from_block
    first, _ = schedule(ledger, scheme, 2_000, lead=2)
    mine_to(ledger, first)

    second, result = schedule(ledger, scheme, 3_000, lead=2)

    assert events(ledger.schemes, result, "SchemeValueChanged") == [
        {"schemeId": scheme.id, "previousValue": 2_000, "unitValue": 3_000, "fromBlock": second}
    ]
    mine_to(ledger, second)
    s = ledger.schemes
    assert s.spending_terms(scheme.id).unit_value == 3_000
    # Blocks before the value in force are answered from the history of changes.
    assert [s.unit_value_at(scheme.id, b) for b in (created - 1, created, first - 1)] == [
        0,
        1_000,
        1_000,
    ]
    assert [s.unit_value_at(scheme.id, b) for b in (first, second - 1, second, 2**64)] == [
        2_000,
        2_000,
        3_000,
        3_000,
    ]


def test_the_pause_of_a_scheme_and_of_every_scheme_shows_in_the_terms(
    ledger: Ledger, scheme: Scheme
) -> None:
    other = new_scheme(ledger)
    s = ledger.schemes

    govern(ledger, [s.pause_call(scheme.id)])
    try:
        assert (s.spending_terms(scheme.id).paused, s.spending_terms(other.id).paused) == (
            scheme.id,
            0,
        )
        govern(ledger, [s.pause_call(0)])
        try:
            assert s.spending_terms(scheme.id).paused == PAUSED_EVERY_SCHEME
            assert s.spending_terms(other.id).paused == PAUSED_EVERY_SCHEME
            assert ledger_terms(ledger, other.id)[1] == PAUSED_EVERY_SCHEME
            # a scheme admitted while every scheme is paused is paused with them
            added = new_scheme(ledger)
            for scheme_id in (scheme.id, other.id, added.id):
                assert policy_terms(ledger, scheme_id)[1] == PAUSED_EVERY_SCHEME
            assert s.is_paused(added.id)
        finally:
            govern(ledger, [s.unpause_call(0)])
        assert [policy_terms(ledger, i)[1] for i in (scheme.id, other.id, added.id)] == [
            scheme.id,
            0,
            0,
        ]
        assert not s.is_paused(added.id)
        assert (s.spending_terms(scheme.id).paused, s.spending_terms(other.id).paused) == (
            scheme.id,
            0,
        )
        assert ledger_terms(ledger, scheme.id)[1] == scheme.id
    finally:
        govern(ledger, [s.unpause_call(scheme.id)])
    assert s.spending_terms(scheme.id).paused == 0
    assert not s.is_paused(scheme.id)


def test_policy_and_flags_changes_show_in_the_terms_and_leave_the_rest(
    ledger: Ledger, scheme: Scheme
) -> None:
    s = ledger.schemes
    widest = Policy(max_balance=MAX_BALANCE, expiry_months=1200, supply_limit=MAX_UINT128)
    govern(ledger, [s.pause_call(scheme.id)])
    try:
        govern(ledger, [s.set_policy_call(scheme.id, widest)])
        terms = s.spending_terms(scheme.id)
        assert terms == SpendingTerms(
            unit_value=1_000, flags=FLAGS, paused=scheme.id, policy=widest
        )

        govern(ledger, [s.set_flags_call(scheme.id, SchemeFlag(31))])
        terms = s.spending_terms(scheme.id)
        assert terms == SpendingTerms(
            unit_value=1_000, flags=SchemeFlag(31), paused=scheme.id, policy=widest
        )
        assert ledger_terms(ledger, scheme.id) == (31, scheme.id, scheme.quota, widest)
        assert policy_terms(ledger, scheme.id) == without_value(terms)
        assert (s.policy_of(scheme.id), ledger.scheme(scheme.id).flags) == (widest, SchemeFlag(31))
    finally:
        govern(ledger, [s.unpause_call(scheme.id)])

    narrow = Policy(max_balance=5, expiry_months=0, supply_limit=7)
    govern(ledger, [s.set_policy_call(scheme.id, narrow), s.set_flags_call(scheme.id, FLAGS)])
    assert s.spending_terms(scheme.id) == SpendingTerms(
        unit_value=1_000, flags=FLAGS, paused=0, policy=narrow
    )
    assert ledger_terms(ledger, scheme.id) == (int(FLAGS), 0, scheme.quota, narrow)
    assert policy_terms(ledger, scheme.id) == (int(FLAGS), 0, narrow)


def test_the_terms_of_an_unknown_scheme_are_refused(ledger: Ledger) -> None:
    unknown = ledger.schemes.scheme_count() + 1

    for scheme_id in (unknown, 0):
        with reverts(UnknownScheme, "SchemeUnknown", {"schemeId": scheme_id}):
            ledger.schemes.spending_terms(scheme_id)
        with reverts(UnknownScheme, "SchemeUnknown", {"schemeId": scheme_id}):
            ledger.schemes._read("policyTerms", scheme_id)
