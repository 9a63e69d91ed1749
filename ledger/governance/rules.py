"""Earning rules as issuers publish them: each scheme's versioned rules for valuing service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from ledger.chain.contracts import DurationRule, EarningRulesClient, FixedRule, RuleKind, Scheme
from ledger.chain.contracts.rules import parse_actions, parse_grades
from ledger.chain.tx import Signer
from ledger.errors import RecordNotFound
from ledger.values import parse_amount


class RuleBook:
    """Publishing and reading schemes' earning rules; `scheme` finds a scheme by code or id."""

    def __init__(self, rules: EarningRulesClient, scheme: Callable[[str | int], Scheme]) -> None:
        self.rules = rules
        self.scheme = scheme

    def publish_duration_rule(
        self,
        *,
        issuer: Signer,
        scheme: str | int,
        points_per_hour: int | str,
        grades: Mapping[str, int | str | Decimal] | str,
    ) -> DurationRule:
        """A new duration rule version: points = hours x points per hour x grade coefficient.

        Publishing what is already in force is a repeated request: it returns that version.
        """
        s = self.scheme(scheme)
        rate = parse_amount(points_per_hour, what="points per hour", maximum=1_000_000)
        coefficients = parse_grades(grades)
        current = self.current(s.id)
        if (
            isinstance(current, DurationRule)
            and current.points_per_hour == rate
            and list(current.grades.values()) == coefficients
        ):
            return current
        version, _ = self.rules.publish_duration_rule(issuer, s.id, rate, coefficients)
        return self.rules.duration_rule(s.id, version)

    def publish_fixed_rule(
        self, *, issuer: Signer, scheme: str | int, actions: Mapping[str, int | str] | str
    ) -> FixedRule:
        """A new fixed-point rule version: a table of action types and their points.

        Publishing what is already in force is a repeated request: it returns that version.
        """
        s = self.scheme(scheme)
        table = parse_actions(actions)
        current = self.current(s.id)
        if isinstance(current, FixedRule) and current.actions == table:
            return current
        version, _ = self.rules.publish_fixed_rule(issuer, s.id, table)
        return self.rules.fixed_rule(s.id, version)

    def current(self, scheme_id: int) -> DurationRule | FixedRule | None:
        """The rule in force now, None before the first is published."""
        version = self.rules.current_version(scheme_id)
        return None if version == 0 else self.rule(scheme_id, version)

    def rule(self, scheme: str | int, version: int | None = None) -> DurationRule | FixedRule:
        """A scheme's rule version (the current one by default)."""
        s = self.scheme(scheme)
        if version is None:
            version = self.rules.current_version(s.id)
            if version == 0:
                raise RecordNotFound(
                    f"scheme {s.code} has no earning rules yet; its issuer publishes them with "
                    "`vpl rule duration` or `vpl rule fixed`"
                )
        if self.rules.kind(s.id, version) is RuleKind.DURATION:
            return self.rules.duration_rule(s.id, version)
        return self.rules.fixed_rule(s.id, version)
