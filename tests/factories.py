"""Factories for test data: valid resident ID numbers, fresh members (holding points or not) and
schemes."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Scheme, SchemeFlag
from ledger.demo import synthetic_id_number, synthetic_person
from ledger.ledger import Ledger
from ledger.store import PersonalData
from tests.contracts.helpers import source
from tests.probes import issue_points

_serial = itertools.count(1)
#: Valid, invented resident ID numbers and residents (shared with demos and benchmarks).
id_number = synthetic_id_number
person = synthetic_person


@dataclass(frozen=True)
class Member:
    account: LocalAccount
    personal: PersonalData

    @property
    def address(self) -> str:
        return self.account.address


def new_member(ledger: Ledger) -> Member:
    """A freshly registered member with its own key."""
    account: LocalAccount = Account.create()
    personal = person()
    ledger.register_member(
        registrar=ledger.operator("registrar"), address=account.address, personal=personal
    )
    return Member(account=account, personal=personal)


def new_holder(ledger: Ledger, scheme_id: int, points: int = 0) -> Member:
    """A freshly registered member holding `points` of scheme `scheme_id` (issued straight
    through PointsLedger by the test IssuerProbe)."""
    member = new_member(ledger)
    if points:
        issue_points(ledger, member.address, scheme_id, points, source())
    return member


def new_scheme(
    ledger: Ledger,
    *,
    issuer: str | None = None,
    quota: int = 1_000_000,
    flags: SchemeFlag = SchemeFlag.GIFTS,
    unit_value: int = 1000,
) -> Scheme:
    """A freshly admitted scheme with a unique code, worth `unit_value` thousandths of the
    standard unit a point."""
    code = f"T{next(_serial)}{secrets.token_hex(3).upper()}"
    call = ledger.add_scheme_call(
        code=code,
        name=f"测试积分 {code}",
        unit="分",
        issuer=issuer or ledger.operator("issuer-vol").address,
        unit_value=unit_value,
        quota=quota,
        quota_period=30 * 24 * 3600,
        flags=flags,
    )
    ledger.govern([call])
    return ledger.scheme(code)


def timebank_scheme(ledger: Ledger, *, flags: SchemeFlag = SchemeFlag.TIME_BANK) -> Scheme:
    """A fresh time-bank scheme (1 point = 1 hour) of issuer-time, with reviewer-1 as reviewer."""
    s = new_scheme(ledger, issuer=ledger.operator("issuer-time").address, flags=flags)
    ledger.set_scheme_role(
        issuer=ledger.operator("issuer-time"),
        scheme=s.id,
        role_name="reviewer",
        account=ledger.operator("reviewer-1").address,
        grant=True,
    )
    return s
