"""``vpl rule``: each scheme's versioned rules for valuing service, published by its issuer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from ledger.chain.contracts import DurationRule, FixedRule
from scripts.options import SchemeArgument
from scripts.output import fields, line, table
from scripts.state import APP_OPTIONS, State, state_of

rule_app = typer.Typer(help="Earning rules (积分规则), versioned per scheme.", **APP_OPTIONS)


def rule_data(rule: DurationRule | FixedRule) -> dict[str, Any]:
    if isinstance(rule, DurationRule):
        return {
            "scheme_id": rule.scheme_id,
            "version": rule.version,
            "kind": "duration",
            "points_per_hour": rule.points_per_hour,
            "grades": {g: c / 1000 for g, c in rule.grades.items()},
        }
    return {
        "scheme_id": rule.scheme_id,
        "version": rule.version,
        "kind": "fixed",
        "actions": dict(rule.actions),
    }


def _show(state: State, code: str, rule: DurationRule | FixedRule, headline: str) -> None:
    data = rule_data(rule)
    if isinstance(rule, DurationRule):
        body: Any = fields(
            None,
            [
                ("points per hour", rule.points_per_hour),
                ("grades", ", ".join(f"{g} x{c / 1000:g}" for g, c in rule.grades.items())),
                ("points", "minutes x points per hour x coefficient / 60, rounded down"),
            ],
        )
    else:
        body = table(None, ["action", "points"], sorted(rule.actions.items()))
    state.out.result(data, line(f"{headline}: {code} rule version {rule.version}", "bold"), body)


def _publish(
    ctx: typer.Context, scheme: str, kind: Literal["duration", "fixed"], **rule: str
) -> None:
    """Publish a rule of `scheme` (``publish_duration_rule`` or ``publish_fixed_rule`` given
    `rule`), signed by the scheme's issuer (or --as), and show it."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    publish = getattr(state.ledger, f"publish_{kind}_rule")
    _show(state, s.code, publish(issuer=state.issuer_signer(s), scheme=s.id, **rule), "published")


@rule_app.command("duration")
def rule_duration(
    ctx: typer.Context,
    scheme: SchemeArgument,
    points_per_hour: Annotated[str, typer.Option("--points-per-hour", metavar="N")],
    grades: Annotated[
        str, typer.Option("--grades", metavar="A=1.2,B=1.0,...", help="Coefficient per grade.")
    ],
) -> None:
    """Publish a duration rule: points = hours x points per hour x grade coefficient."""
    _publish(ctx, scheme, "duration", points_per_hour=points_per_hour, grades=grades)


@rule_app.command("fixed")
def rule_fixed(
    ctx: typer.Context,
    scheme: SchemeArgument,
    actions: Annotated[
        str, typer.Option("--actions", metavar="a=100,b=50,...", help="Points per action type.")
    ],
) -> None:
    """Publish a fixed-point rule: a table of action types and their points."""
    _publish(ctx, scheme, "fixed", actions=actions)


@rule_app.command("show")
def rule_show(
    ctx: typer.Context,
    scheme: SchemeArgument,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
) -> None:
    """A scheme's rule (the version in force, or --version N)."""
    state = state_of(ctx)
    s = state.ledger.scheme(scheme)
    _show(
        state,
        s.code,
        state.ledger.rule(s.id, version),
        "in force" if version is None else "requested",
    )
