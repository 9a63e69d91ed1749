"""Client of the EarningRules contract: each scheme's versioned rules for valuing service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum

from ledger.chain.contracts.base import ContractClient
from ledger.chain.tx import Signer, TxResult
from ledger.errors import InputError
from ledger.values import GRADE_LETTERS, parse_amount

_ACTION = re.compile(r"^[a-z0-9_-]{1,32}$")


class RuleKind(IntEnum):
    NONE = 0
    DURATION = 1
    FIXED = 2


@dataclass(frozen=True)
class DurationRule:
    """points = minutes x points_per_hour x coefficient / 60,000, rounded down."""

    scheme_id: int
    version: int
    points_per_hour: int
    #: Grade letter -> coefficient in thousandths (1200 = x1.2).
    grades: dict[str, int]

    def points(self, minutes: int, grade: str) -> int:
        """The same arithmetic as the contract (integer, rounded down)."""
        if not 0 <= minutes < 2**32:
            raise InputError(f"service time must be 0 to 2^32 - 1 minutes (got {minutes})")
        letter = GRADE_LETTERS[grade_index(grade)]
        if letter not in self.grades:
            raise InputError(f"rule version {self.version} has no grade {letter}")
        return minutes * self.points_per_hour * self.grades[letter] // 60_000


@dataclass(frozen=True)
class FixedRule:
    scheme_id: int
    version: int
    #: Action type -> points.
    actions: dict[str, int]


def encode_action(action: str) -> bytes:
    """An action type as stored on chain: lower-case ASCII, left-aligned, zero-padded."""
    if not _ACTION.match(action):
        raise InputError(f"action type {action!r} must be 1-32 characters of a-z, 0-9, '_' or '-'")
    return action.encode("ascii").ljust(32, b"\x00")


def decode_action(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\x00").decode("ascii", errors="replace")


def coefficient_thousandths(value: int | str | Decimal, *, grade: str) -> int:
    """``1.2`` -> 1200; refuses more than three decimals, zero, negatives and over x10."""
    try:
        scaled = Decimal(str(value).strip()) * 1000
        whole = scaled == scaled.to_integral_value()
    except InvalidOperation:
        raise InputError(f"grade {grade}'s coefficient {value!r} is not a number") from None
    if not scaled.is_finite() or not whole or not (0 < scaled <= 10_000):
        raise InputError(
            f"grade {grade}'s coefficient {value} must be above 0 and at most 10, "
            "with at most three decimals"
        )
    return int(scaled)


def parse_grades(grades: Mapping[str, int | str | Decimal] | str) -> list[int]:
    """``{"A": "1.2", "B": 1}`` or ``"A=1.2,B=1.0"`` -> coefficients in thousandths, A first.

    Grades must run from A without gaps, so a grade letter always means the same index.
    """
    if isinstance(grades, str):
        pairs: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in grades.split(","))):
            letter, sep, value = part.partition("=")
            if not sep:
                raise InputError(f"grade {part!r} must look like A=1.2")
            if letter.strip().upper() in pairs:
                raise InputError(f"grade {letter.strip().upper()} appears twice")
            pairs[letter.strip().upper()] = value
        grades = pairs
    letters = sorted(g.strip().upper() for g in grades)
    if len(set(letters)) != len(letters):
        raise InputError("a grade appears twice (letters are case-insensitive)")
    expected = list(GRADE_LETTERS[: len(letters)])
    if not letters or letters != expected:
        raise InputError(
            f"grades must run from A without gaps (at most {len(GRADE_LETTERS)}): got "
            f"{', '.join(letters) or 'none'}"
        )
    by_letter = {g.strip().upper(): v for g, v in grades.items()}
    return [coefficient_thousandths(by_letter[letter], grade=letter) for letter in expected]


def parse_actions(actions: Mapping[str, int | str] | str) -> dict[str, int]:
    """``{"safety_hazard": 50}`` or ``"safety_hazard=50,policy_reading=2"`` -> action points."""
    if isinstance(actions, str):
        table: dict[str, int | str] = {}
        for part in filter(None, (p.strip() for p in actions.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise InputError(f"action {part!r} must look like safety_hazard=50")
            if name.strip() in table:
                raise InputError(f"action type {name.strip()!r} appears twice")
            table[name.strip()] = value
        actions = table
    if not actions:
        raise InputError("a fixed-point rule needs at least one action type")
    out: dict[str, int] = {}
    for action, points in actions.items():
        encode_action(action)
        out[action] = parse_amount(points, what=f"points of {action}", maximum=1_000_000_000)
    return out


def grade_index(grade: str) -> int:
    letter = grade.strip().upper()
    if len(letter) != 1 or letter not in GRADE_LETTERS:
        raise InputError(f"grade {grade!r} must be one letter of {GRADE_LETTERS}")
    return GRADE_LETTERS.index(letter)


class EarningRulesClient(ContractClient):
    def publish_duration_rule(
        self, account: Signer, scheme_id: int, points_per_hour: int, coefficients: list[int]
    ) -> tuple[int, TxResult]:
        result = self._write(
            account, "publishDurationRule", scheme_id, points_per_hour, coefficients
        )
        (event,) = self._events(result, "DurationRulePublished")
        return int(event["args"]["version"]), result

    def publish_fixed_rule(
        self, account: Signer, scheme_id: int, actions: dict[str, int]
    ) -> tuple[int, TxResult]:
        names = [encode_action(a) for a in actions]
        result = self._write(account, "publishFixedRule", scheme_id, names, list(actions.values()))
        (event,) = self._events(result, "FixedRulePublished")
        return int(event["args"]["version"]), result

    def current_version(self, scheme_id: int) -> int:
        return int(self._read("currentVersion", scheme_id))

    def version_at(self, scheme_id: int, timestamp: int) -> int:
        """The version in force at `timestamp` (0: none published by then)."""
        return int(self._read("versionAt", scheme_id, timestamp))

    def published_at(self, scheme_id: int, version: int) -> int:
        return int(self._read("publishedAt", scheme_id, version))

    def kind(self, scheme_id: int, version: int) -> RuleKind:
        return RuleKind(self._read("ruleKind", scheme_id, version))

    def duration_rule(self, scheme_id: int, version: int) -> DurationRule:
        rate, coefficients = self._read("durationRule", scheme_id, version)
        grades = {GRADE_LETTERS[i]: int(c) for i, c in enumerate(coefficients)}
        return DurationRule(scheme_id, version, int(rate), grades)

    def fixed_rule(self, scheme_id: int, version: int) -> FixedRule:
        actions, points = self._read("fixedRule", scheme_id, version)
        table = {decode_action(a): int(p) for a, p in zip(actions, points, strict=True)}
        return FixedRule(scheme_id, version, table)

    def duration_points(self, scheme_id: int, version: int, minutes: int, grade: str) -> int:
        return int(self._read("durationPoints", scheme_id, version, minutes, grade_index(grade)))

    def action_points(self, scheme_id: int, version: int, action: str) -> int:
        return int(self._read("actionPoints", scheme_id, version, encode_action(action)))
