"""Earning rules: versioned per scheme, published by the scheme's issuer, never changed once
published; the chain's arithmetic and rounding match the Python model exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.chain.contracts import DurationRule, FixedRule, Scheme
from ledger.chain.contracts.rules import GRADE_LETTERS, encode_action
from ledger.errors import InputError, InvalidRequest, NotAuthorized, RecordNotFound, StateConflict
from ledger.ledger import Ledger
from tests.contracts.helpers import raw_call, send
from tests.contracts.refusals import reverts
from tests.factories import new_scheme

WUHAN = {"A": "1.2", "B": "1.0", "C": "0.8", "D": "0.5"}
BEE = {"security_tip_major": 100, "safety_hazard": 50, "community_report": 10, "policy_reading": 2}


@pytest.fixture
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger)


def issuer(ledger: Ledger):  # type: ignore[no-untyped-def]
    return ledger.operator("issuer-vol")


def test_the_issuer_publishes_a_duration_rule_as_version_one(
    ledger: Ledger, scheme: Scheme
) -> None:
    rule = ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.code, points_per_hour=10, grades=WUHAN
    )

    assert rule == DurationRule(scheme.id, 1, 10, {"A": 1200, "B": 1000, "C": 800, "D": 500})
    assert ledger.rule(scheme.code) == rule


def test_duration_points_round_down_and_the_fraction_is_not_paid(
    ledger: Ledger, scheme: Scheme
) -> None:
    ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=10, grades=WUHAN
    )

    # 50 minutes x 10 points/hour x 0.8 = 6.67 points -> 6
    assert ledger.rules.duration_points(scheme.id, 1, 50, "C") == 6
    # 2 hours x 10 x 1.2 = 24 exactly
    assert ledger.rules.duration_points(scheme.id, 1, 120, "A") == 24
    assert ledger.rules.duration_points(scheme.id, 1, 5, "D") == 0


@pytest.fixture(scope="module")
def odd_rule(ledger: Ledger) -> DurationRule:
    s = new_scheme(ledger)
    return ledger.publish_duration_rule(
        issuer=issuer(ledger),
        scheme=s.id,
        points_per_hour=7,
        grades={"A": "1.333", "B": "0.999", "C": "0.001", "D": "10", "E": "2.5"},
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minutes=st.integers(0, 2**32 - 1), grade=st.sampled_from("ABCDE"))
def test_the_chain_values_service_exactly_as_the_python_model(
    ledger: Ledger, odd_rule: DurationRule, minutes: int, grade: str
) -> None:
    on_chain = ledger.rules.duration_points(odd_rule.scheme_id, odd_rule.version, minutes, grade)
    assert on_chain == odd_rule.points(minutes, grade)


def test_a_new_version_leaves_the_old_one_readable_and_unchanged(
    ledger: Ledger, scheme: Scheme
) -> None:
    first = ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=10, grades=WUHAN
    )
    second = ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=12, grades={"A": 1, "B": "0.5"}
    )

    assert second.version == 2
    assert ledger.rule(scheme.id) == second
    assert ledger.rule(scheme.id, version=1) == first
    assert ledger.rules.duration_points(scheme.id, 1, 60, "A") == 12
    assert ledger.rules.duration_points(scheme.id, 2, 60, "A") == 12


def test_the_version_in_force_at_any_time_can_be_read_back(ledger: Ledger, scheme: Scheme) -> None:
    first = ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=10, grades=WUHAN
    )
    ledger.w3.provider.make_request("evm_increaseTime", [60])  # type: ignore[arg-type]
    second = ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=12, grades=WUHAN
    )
    t1 = ledger.rules.published_at(scheme.id, first.version)
    t2 = ledger.rules.published_at(scheme.id, second.version)

    assert t1 < t2
    assert ledger.rules.version_at(scheme.id, t1 - 1) == 0
    assert ledger.rules.version_at(scheme.id, t1) == 1
    assert ledger.rules.version_at(scheme.id, t2 - 1) == 1
    assert ledger.rules.version_at(scheme.id, t2) == 2
    assert ledger.rules.version_at(scheme.id, 2**64 - 1) == 2


def test_a_scheme_keeps_the_kind_of_its_first_rule(ledger: Ledger, scheme: Scheme) -> None:
    ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=10, grades=WUHAN
    )

    with reverts(StateConflict, "RulesKindFixed", {"schemeId": scheme.id, "kind": 1}) as info:
        ledger.publish_fixed_rule(issuer=issuer(ledger), scheme=scheme.id, actions=BEE)

    assert "duration rules" in str(info.value)
    assert ledger.rules.current_version(scheme.id) == 1


def test_the_python_model_refuses_what_the_contract_cannot_value() -> None:
    rule = DurationRule(1, 1, 10, {"A": 1200})
    assert rule.points(60, "a") == 12
    for minutes in (-1, 2**32):
        with pytest.raises(InputError, match="service time"):
            rule.points(minutes, "A")
    with pytest.raises(InputError, match="no grade B"):
        rule.points(60, "B")


def test_the_issuer_publishes_a_fixed_point_table(ledger: Ledger, scheme: Scheme) -> None:
    rule = ledger.publish_fixed_rule(issuer=issuer(ledger), scheme=scheme.code, actions=BEE)

    assert rule == FixedRule(scheme.id, 1, BEE)
    assert ledger.rules.action_points(scheme.id, 1, "security_tip_major") == 100
    assert ledger.rules.action_points(scheme.id, 1, "policy_reading") == 2
    unknown = "0x" + encode_action("jaywalking").hex()
    with reverts(
        InvalidRequest,
        "RulesUnknownAction",
        {"schemeId": scheme.id, "version": 1, "action": unknown},
    ):
        ledger.rules.action_points(scheme.id, 1, "jaywalking")


def test_publishing_the_rule_in_force_again_is_a_repeat_not_a_new_version(
    ledger: Ledger, scheme: Scheme
) -> None:
    first = ledger.publish_fixed_rule(issuer=issuer(ledger), scheme=scheme.id, actions=BEE)
    block = ledger.w3.eth.block_number

    again = ledger.publish_fixed_rule(issuer=issuer(ledger), scheme=scheme.id, actions=dict(BEE))

    assert again == first
    assert ledger.w3.eth.block_number == block
    changed = ledger.publish_fixed_rule(
        issuer=issuer(ledger), scheme=scheme.id, actions={**BEE, "policy_reading": 3}
    )
    assert changed.version == 2


def test_a_scheme_without_rules_says_how_to_publish_them(ledger: Ledger, scheme: Scheme) -> None:
    with pytest.raises(RecordNotFound, match="vpl rule duration"):
        ledger.rule(scheme.code)


def test_only_the_schemes_issuer_publishes_its_rules(ledger: Ledger, scheme: Scheme) -> None:
    stranger = ledger.operator("issuer-bee")

    with reverts(
        NotAuthorized,
        "RulesUnauthorizedIssuer",
        {"schemeId": scheme.id, "account": stranger.address},
    ):
        ledger.publish_duration_rule(
            issuer=stranger, scheme=scheme.id, points_per_hour=10, grades=WUHAN
        )

    assert ledger.rules.current_version(scheme.id) == 0


@pytest.mark.parametrize(
    ("fn", "args", "error", "error_args"),
    [
        ("publishDurationRule", [0, [1000]], "RulesInvalidRate", {"pointsPerHour": 0}),
        ("publishDurationRule", [10, []], "RulesInvalidGrades", {"count": 0, "maxGrades": 8}),
        (
            "publishDurationRule",
            [10, [1000] * 9],
            "RulesInvalidGrades",
            {"count": 9, "maxGrades": 8},
        ),
        (
            "publishDurationRule",
            [10, [1000, 0]],
            "RulesInvalidCoefficient",
            {"grade": 1, "coefficient": 0},
        ),
        (
            "publishDurationRule",
            [10, [10_001]],
            "RulesInvalidCoefficient",
            {"grade": 0, "coefficient": 10_001},
        ),
        (
            "publishFixedRule",
            [[encode_action("a")], [1, 2]],
            "RulesInvalidActions",
            {"actions": 1, "points": 2, "maxActions": 64},
        ),
        (
            "publishFixedRule",
            [[b"Upper".ljust(32, b"\x00")], [1]],
            "RulesInvalidAction",
            {"action": "0x" + b"Upper".ljust(32, b"\x00").hex()},
        ),
        (
            "publishFixedRule",
            [[encode_action("a"), encode_action("a")], [1, 2]],
            "RulesDuplicateAction",
            {"action": "0x" + encode_action("a").hex()},
        ),
        (
            "publishFixedRule",
            [[encode_action("a")], [0]],
            "RulesInvalidPoints",
            {"action": "0x" + encode_action("a").hex(), "points": 0},
        ),
    ],
)
def test_the_contract_refuses_bad_rules_and_publishes_nothing(
    ledger: Ledger,
    scheme: Scheme,
    fn: str,
    args: list[object],
    error: str,
    error_args: dict[str, object],
) -> None:
    with reverts(InvalidRequest, error, error_args):
        send(ledger, issuer(ledger), raw_call(ledger.rules, fn, scheme.id, *args))

    assert ledger.rules.current_version(scheme.id) == 0


@pytest.mark.parametrize(
    ("grades", "problem"),
    [
        ({"A": 1, "C": 1}, "without gaps"),
        ({}, "without gaps"),
        ({"A": "1.2345"}, "at most three decimals"),
        ({"A": "-1"}, "above 0"),
        ({"A": "11"}, "at most 10"),
        ({"A": "lots"}, "not a number"),
        ({"A": "sNaN"}, "not a number"),
        ("A=1,A=2", "appears twice"),
        ({"A": 1, "a": 2}, "appears twice"),
        ("A:1", "must look like A=1.2"),
    ],
)
def test_the_ledger_refuses_bad_grades_before_sending(
    ledger: Ledger, scheme: Scheme, grades: object, problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        ledger.publish_duration_rule(
            issuer=issuer(ledger),
            scheme=scheme.id,
            points_per_hour=10,
            grades=grades,  # type: ignore[arg-type]
        )
    assert ledger.rules.current_version(scheme.id) == 0


@pytest.mark.parametrize(
    ("actions", "problem"),
    [
        ("Safety=50", "a-z, 0-9"),
        ("safety=0", "must be positive"),
        ("safety=-5", "must be positive"),
        ("safety=50,safety=10", "appears twice"),
        ("", "at least one action"),
        ("x" * 33 + "=1", "1-32 characters"),
    ],
)
def test_the_ledger_refuses_bad_action_tables_before_sending(
    ledger: Ledger, scheme: Scheme, actions: str, problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        ledger.publish_fixed_rule(issuer=issuer(ledger), scheme=scheme.id, actions=actions)
    assert ledger.rules.current_version(scheme.id) == 0


def test_reading_a_missing_version_grade_or_action_names_it(ledger: Ledger, scheme: Scheme) -> None:
    ledger.publish_duration_rule(
        issuer=issuer(ledger), scheme=scheme.id, points_per_hour=10, grades=WUHAN
    )

    with reverts(InvalidRequest, "RulesUnknownVersion", {"schemeId": scheme.id, "version": 2}):
        ledger.rule(scheme.id, version=2)
    with reverts(
        InvalidRequest, "RulesUnknownGrade", {"schemeId": scheme.id, "version": 1, "grade": 4}
    ):
        ledger.rules.duration_points(scheme.id, 1, 60, GRADE_LETTERS[4])
    with reverts(
        InvalidRequest, "RulesWrongKind", {"schemeId": scheme.id, "version": 1, "kind": 1}
    ):
        ledger.rules.action_points(scheme.id, 1, "safety_hazard")
