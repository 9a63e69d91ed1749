"""Factories for test data: valid resident ID numbers, fresh members and schemes."""

from __future__ import annotations

import itertools
import random
import secrets
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.contracts import Scheme, SchemeFlag
from ledger.identity import id_check_char
from ledger.ledger import Ledger
from ledger.store import PersonalData

_serial = itertools.count(1)
_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def id_number(rng: random.Random | None = None) -> str:
    """A valid, random 18-digit resident ID number (correct check character)."""
    rng = rng or random.Random(secrets.randbits(64))
    region = rng.choice(["110105", "420102", "440604", "510104"])
    birth = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"{region}{birth}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def person() -> PersonalData:
    """A plausible, unique resident."""
    rng = random.Random(secrets.randbits(64))
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2))
    phone = "13" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return PersonalData(name=name, id_number=id_number(rng), phone=phone)


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


def new_scheme(
    ledger: Ledger,
    *,
    issuer: str | None = None,
    quota: int = 1_000_000,
    flags: SchemeFlag = SchemeFlag.GIFTS,
) -> Scheme:
    """A freshly admitted scheme with a unique code."""
    code = f"T{next(_serial)}{secrets.token_hex(3).upper()}"
    call = ledger.add_scheme_call(
        code=code,
        name=f"测试积分 {code}",
        unit="分",
        issuer=issuer or ledger.operator("issuer-vol").address,
        unit_value=1000,
        quota=quota,
        quota_period=30 * 24 * 3600,
        flags=flags,
    )
    ledger.govern([call])
    return ledger.scheme(code)
