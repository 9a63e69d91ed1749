"""Seeds a development chain with the demo city (``shared/data/demo-city.json``): its schemes, the
registrar and auditor roles, scheme staff, rules, limits, activities and the redemption catalogue.
Idempotent: what exists already is left alone."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.chain.contracts import Call, Limits, SchemeFlag
from ledger.errors import ConfigError, UnknownScheme
from ledger.ledger import Ledger
from ledger.real_name import id_check_char
from ledger.store import PersonalData

#: One quota period, and a generous demo quota per period.
DEMO_PERIOD_SECONDS = 30 * 24 * 3600
DEMO_QUOTA = 10_000_000

_EXCHANGE_FLAGS = {
    "give_and_accept": SchemeFlag.EXCHANGE_OUT | SchemeFlag.EXCHANGE_IN,
    "give_only": SchemeFlag.EXCHANGE_OUT,
    "accept_only": SchemeFlag.EXCHANGE_IN,
    "none": SchemeFlag(0),
}
#: Scheme staff in the demo: (role, operator name, scheme codes).
_STAFF = (
    ("reviewer", "reviewer-1", ("VOL", "BEE", "TIME")),
    ("reviewer", "reviewer-2", ("VOL", "BEE", "TIME")),
    ("organiser", "reviewer-1", ("VOL",)),
    ("merchant", "merchant-1", ("VOL", "BEE", "CULTURE")),
)


_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def synthetic_id_number(rng: random.Random | None = None) -> str:
    """A valid but invented 18-digit resident ID number (correct check character)."""
    rng = rng or random.Random(secrets.randbits(64))
    region = rng.choice(["110105", "420102", "440604", "510104"])
    birth = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"{region}{birth}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def synthetic_person(rng: random.Random | None = None) -> PersonalData:
    """An invented resident for demos, tests and benchmarks."""
    rng = rng or random.Random(secrets.randbits(64))
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2))
    phone = "13" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return PersonalData(name=name, id_number=synthetic_id_number(rng), phone=phone)


@dataclass
class DemoSummary:
    schemes_added: list[str] = field(default_factory=list)
    roles_granted: list[str] = field(default_factory=list)
    rules_published: list[str] = field(default_factory=list)
    limits_set: list[str] = field(default_factory=list)
    activities_published: list[str] = field(default_factory=list)
    policies_set: list[str] = field(default_factory=list)
    exchange_limits_set: list[str] = field(default_factory=list)
    items_listed: list[str] = field(default_factory=list)
    proposal_id: int | None = None


def scheme_flags(spec: dict[str, Any]) -> SchemeFlag:
    """The on-chain flags of a demo scheme entry."""
    exchange = spec.get("exchange", "none")
    if exchange not in _EXCHANGE_FLAGS:
        raise ConfigError(f"demo scheme {spec.get('code')}: unknown exchange mode {exchange!r}")
    flags = _EXCHANGE_FLAGS[exchange] | SchemeFlag.REDEMPTION
    if spec.get("gifts_allowed"):
        flags |= SchemeFlag.GIFTS
    if spec["code"] == "TIME":
        flags |= SchemeFlag.TIME_BANK
    return flags


def bootstrap_demo(ledger: Ledger, demo_path: Path) -> DemoSummary:
    """Admit the demo city's schemes and staff on a development network."""
    if not ledger.network.development:
        raise ConfigError("the demo city is for development networks only")
    try:
        city = json.loads(demo_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the demo city {demo_path}: {exc}") from None

    summary = DemoSummary()
    calls: list[Call] = []
    for spec in city["schemes"]:
        code = spec["code"]
        try:
            ledger.scheme(code)
            continue
        except UnknownScheme:
            pass
        calls.append(
            ledger.add_scheme_call(
                code=code,
                name=spec["name_zh"],
                unit="小时" if code == "TIME" else "分",
                issuer=ledger.operator(f"issuer-{code.lower()}").address,
                unit_value=round(spec["unit_value_csu"] * 1000),
                quota=DEMO_QUOTA,
                quota_period=DEMO_PERIOD_SECONDS,
                flags=scheme_flags(spec),
            )
        )
        summary.schemes_added.append(code)
    for role_name in ("registrar", "auditor"):
        account = ledger.operator(role_name).address
        if not ledger.has_role(role_name=role_name, account=account):
            calls.append(ledger.role_call(role_name=role_name, account=account, grant=True))
            summary.roles_granted.append(f"{role_name} -> {role_name}")
    if calls:
        summary.proposal_id = ledger.govern(calls, "demo city bootstrap").proposal.id
    _set_controls(ledger, city["schemes"], summary)

    for role_name, operator_name, codes in _STAFF:
        account = ledger.operator(operator_name).address
        for code in codes:
            if ledger.has_role(role_name=role_name, account=account, scheme=code):
                continue
            ledger.set_scheme_role(
                issuer=ledger.operator(f"issuer-{code.lower()}"),
                role_name=role_name,
                account=account,
                scheme=code,
                grant=True,
            )
            summary.roles_granted.append(f"{role_name} of {code} -> {operator_name}")
    for spec in city["schemes"]:
        _publish_rules(ledger, spec, summary)
        _set_limits(ledger, spec, city.get("anti_farming_demo_limits") or {}, summary)
    _publish_activities(ledger, city.get("activities") or [], summary)
    _set_exchange_limits(ledger, city["schemes"], summary)
    _list_catalogue(ledger, city.get("catalogue") or [], summary)
    return summary


def _set_controls(ledger: Ledger, schemes: list[dict[str, Any]], summary: DemoSummary) -> None:
    """Each demo scheme's expiry (its ``expiry_months``), and the pauser role for every council
    member, so that any one of them can stop a scheme at once (resuming takes the council)."""
    calls: list[Call] = []
    for spec in schemes:
        months = int(spec.get("expiry_months") or 0)
        s = ledger.scheme(spec["code"])
        if ledger.schemes.policy_of(s.id).expiry_months != months:
            calls.append(ledger.controls.policy_call(scheme=s.id, expiry_months=months))
            summary.policies_set.append(f"{s.code}: expiry {months or 'none'}")
    for name in ledger.network.council.members:
        account = ledger.operator(name).address
        if not ledger.has_role(role_name="pauser", account=account):
            calls.append(ledger.role_call(role_name="pauser", account=account, grant=True))
            summary.roles_granted.append(f"pauser -> {name}")
    if calls:
        ledger.govern(calls, "demo city: expiry and pausers")


# --- Exchange ---
#: Demo exchange limits of every scheme, in standard units: the least one exchange is worth, one
#: member's exchanges out of a scheme per day and per month, all exchanges out of and into a scheme
#: per day.
DEMO_EXCHANGE_LIMITS = {
    "min_value": "10",
    "member_daily": "1000",
    "member_monthly": "10000",
    "scheme_daily_out": "1000000",
    "scheme_daily_in": "1000000",
}


def _set_exchange_limits(
    ledger: Ledger, schemes: list[dict[str, Any]], summary: DemoSummary
) -> None:
    """The demo exchange limits for every scheme that gives or accepts exchanges (one proposal)."""
    calls = []
    for spec in schemes:
        if spec.get("exchange", "none") == "none":
            continue
        wanted = ledger.exchange.new_limits(scheme=spec["code"], **DEMO_EXCHANGE_LIMITS)
        if ledger.exchange.limits(spec["code"]) != wanted:
            calls.append(ledger.exchange.limits_call(scheme=spec["code"], **DEMO_EXCHANGE_LIMITS))
            summary.exchange_limits_set.append(spec["code"])
    if calls:
        ledger.govern(calls, "demo city exchange limits")

    # --- end Exchange ---


#: How long the demo catalogue stays open, and how long a member has to collect an order.
DEMO_CATALOGUE_DAYS = 90
DEMO_COLLECTION_HOURS = 7 * 24


def _list_catalogue(ledger: Ledger, items: list[dict[str, Any]], summary: DemoSummary) -> None:
    """The demo city's catalogue, listed by merchant-1 (a merchant of VOL, BEE and CULTURE) and
    open for 90 days; items already listed (the same details) are left alone."""
    if not items:
        return
    merchant = ledger.operator("merchant-1")
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    for spec in items:
        before = ledger.catalogue_contract.item_count()
        name = spec["item_zh"]
        ledger.catalogue.add_item(
            merchant=merchant,
            scheme=spec["scheme"],
            kind=spec.get("kind", "ticket" if "票" in name else "gift"),
            name=name,
            description=spec.get("description_zh", name),
            merchant_name=spec["merchant_zh"],
            place=spec.get("place_zh", spec["merchant_zh"]),
            price=int(spec["price"]),
            stock=int(spec["stock"]),
            per_member=int(spec.get("per_member", 2)),
            available_from=now,
            available_until=now + DEMO_CATALOGUE_DAYS * 86400,
            collection_period=DEMO_COLLECTION_HOURS * 3600,
        )
        if ledger.catalogue_contract.item_count() > before:
            summary.items_listed.append(f"{name} ({spec['scheme']})")


def _publish_activities(
    ledger: Ledger, activities: list[dict[str, Any]], summary: DemoSummary
) -> None:
    """The demo city's activities, open for the next 30 days, unless activities exist already."""
    if not activities or ledger.activities.count() > 0:
        return
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    for spec in activities:
        code = spec["scheme"]
        ledger.earning.create_activity(
            organiser=ledger.operator(f"issuer-{code.lower()}"),
            scheme=code,
            name=spec["name_zh"],
            place=spec.get("place_zh", "社区"),
            content=spec.get("content_zh", spec["name_zh"]),
            organising_unit=spec.get("unit_zh", f"{spec.get('place_zh', '社区')}居委会"),
            person_in_charge=spec.get("person_zh", "社区负责人"),
            start=now,
            end=now + 30 * 86400,
            capacity=int(spec.get("capacity", 10)),
        )
        summary.activities_published.append(spec["name_zh"])


def _set_limits(
    ledger: Ledger, spec: dict[str, Any], demo: dict[str, Any], summary: DemoSummary
) -> None:
    """Anti-farming limits for a demo scheme that earns points, from the city's demo limits
    (which give no daily points cap: the weekly one bounds a day too)."""
    code = spec["code"]
    if not spec.get("rules") or not demo:
        return
    weekly = int((demo.get("max_points_per_member_per_week") or {}).get(code, 1000))
    limits = Limits(
        records_per_day=int(demo.get("max_records_per_member_per_day", 6)),
        minutes_per_day=int(demo.get("max_hours_per_member_per_day", 12)) * 60,
        points_per_day=weekly,
        points_per_week=weekly,
        approvals_per_hour=int(demo.get("max_approvals_per_reviewer_per_hour", 60)),
        late_working_days=10,
    )
    if ledger.records.limits(ledger.scheme(code).id) != limits:
        issuer = ledger.operator(f"issuer-{code.lower()}")
        ledger.earning.set_limits(issuer=issuer, scheme=code, limits=limits)
        summary.limits_set.append(code)


def _publish_rules(ledger: Ledger, spec: dict[str, Any], summary: DemoSummary) -> None:
    """The demo scheme's earning rule, unless the scheme has one already."""
    rules = spec.get("rules") or {}
    code = spec["code"]
    if not rules or ledger.rules.current_version(ledger.scheme(code).id) != 0:
        return
    scheme = ledger.scheme(code)
    issuer_name = ledger.operator_name(scheme.issuer)
    if issuer_name is None:
        raise ConfigError(f"no operator holds the key of {code}'s issuer {scheme.issuer}")
    issuer = ledger.operator(issuer_name)
    if "duration" in rules and "fixed" in rules:
        raise ConfigError(f"demo scheme {code} has both duration and fixed rules; choose one")
    if "duration" in rules:
        duration = rules["duration"]
        ledger.publish_duration_rule(
            issuer=issuer,
            scheme=code,
            points_per_hour=duration["points_per_hour"],
            grades={g: str(c) for g, c in duration["grades"].items()},
        )
        summary.rules_published.append(f"{code} duration")
    elif "fixed" in rules:
        names = [a["action"] for a in rules["fixed"]]
        if len(set(names)) != len(names):
            raise ConfigError(f"demo scheme {code} lists an action type twice")
        table = {a["action"]: a["points"] for a in rules["fixed"]}
        ledger.publish_fixed_rule(issuer=issuer, scheme=code, actions=table)
        summary.rules_published.append(f"{code} fixed")
