"""SchemeRegistry: schemes are admitted and changed only by the council; each scheme's issuer
names its own staff (reviewers, merchants, organisers)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Call, Scheme, SchemeFlag
from ledger.chain.roles import role
from ledger.errors import ContractRevert, InputError, NotAuthorized, UnknownScheme
from ledger.ledger import Ledger
from tests.contracts.governance import council, govern, open_proposal
from tests.contracts.helpers import (
    COUNCIL_ROLE,
    MAX_UINT128,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    events,
    hex32,
    raw_call,
    send,
)
from tests.contracts.refusals import reverts
from tests.factories import new_scheme

DAY = 24 * 3600
STAFF = ["reviewer", "merchant", "organiser"]


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    """A scheme shared by tests that leave it as they found it (issuer: issuer-vol)."""
    return new_scheme(ledger)


@pytest.fixture
def issuer(ledger: Ledger) -> LocalAccount:
    return ledger.operator("issuer-vol")


def fresh_code() -> str:
    return "S" + secrets.token_hex(5).upper()


def raw_code(text: bytes) -> bytes:
    """A code as raw bytes32, bypassing the client's checks, to reach the contract's own."""
    return text.ljust(32, b"\x00")


def scheme_state(ledger: Ledger, scheme_id: int) -> tuple[Scheme, int]:
    """What a refusal must leave as it was: the scheme and how many schemes there are."""
    return ledger.scheme(scheme_id), ledger.schemes.scheme_count()


def staff(ledger: Ledger, scheme_id: int, account: str) -> list[bool]:
    return [ledger.has_role(role_name=r, account=account, scheme=scheme_id) for r in STAFF]


def add_scheme_raw(ledger: Ledger, **overrides: Any) -> Call:
    """An addScheme call with valid fields except `overrides`, encoded straight from the ABI."""
    fields: dict[str, Any] = {
        "code": raw_code(fresh_code().encode()),
        "name": "测试积分",
        "unit": "分",
        "issuer": ledger.operator("issuer-vol").address,
        "unitValue": 1000,
        "quota": 10_000,
        "quotaPeriod": DAY,
        "flags": int(SchemeFlag.GIFTS),
    }
    fields.update(overrides)
    return raw_call(ledger.schemes, "addScheme", *fields.values())


# --- admission -----------------------------------------------------------------------------------


def test_the_council_admits_a_scheme(ledger: Ledger) -> None:
    code, issuer = fresh_code(), ledger.operator("issuer-bee").address
    count = ledger.schemes.scheme_count()
    call = ledger.add_scheme_call(
        code=code,
        name="江城小蜜蜂积分",
        unit="分",
        issuer=issuer,
        unit_value=1500,
        quota=10_000,
        quota_period=DAY,
        flags=SchemeFlag.GIFTS | SchemeFlag.REDEMPTION,
    )

    result = govern(ledger, [call])

    created_at = ledger.w3.eth.get_block(result.block_number)["timestamp"]
    assert ledger.scheme(code) == Scheme(
        id=count + 1,
        code=code,
        issuer=issuer,
        unit_value=1500,
        quota_period=DAY,
        flags=SchemeFlag.GIFTS | SchemeFlag.REDEMPTION,
        created_at=created_at,
        quota=10_000,
        name="江城小蜜蜂积分",
        unit="分",
    )
    assert ledger.schemes.scheme_count() == count + 1
    assert ledger.schemes.scheme_id(code) == count + 1
    assert ledger.schemes.contract.functions.issuerOf(count + 1).call() == issuer
    assert events(ledger.schemes, result, "SchemeAdded") == [
        {
            "schemeId": count + 1,
            "code": raw_code(code.encode()),
            "issuer": issuer,
            "name": "江城小蜜蜂积分",
            "unit": "分",
            "unitValue": 1500,
            "quota": 10_000,
            "quotaPeriod": DAY,
            "flags": int(SchemeFlag.GIFTS | SchemeFlag.REDEMPTION),
        }
    ]


def test_the_extreme_valid_values_are_accepted(ledger: Ledger) -> None:
    code = ("X-_" + secrets.token_hex(8).upper())[:16]
    call = add_scheme_raw(
        ledger,
        code=raw_code(code.encode()),
        name="名" * 32,  # 96 bytes of UTF-8
        quota=MAX_UINT128,
        quotaPeriod=3600,
        flags=31,
    )

    govern(ledger, [call])

    added = ledger.scheme(code)
    assert (added.code, added.quota, added.quota_period) == (code, MAX_UINT128, 3600)
    assert added.flags == SchemeFlag(31) and len(added.name.encode()) == 96


@pytest.mark.parametrize(
    ("who", "mined"),
    [("issuer-vol", False), ("council-1", False), ("issuer-vol", True)],
    ids=["issuer", "council-member", "issuer-mined"],
)
def test_a_scheme_cannot_be_added_outside_the_council(
    ledger: Ledger, who: str, mined: bool
) -> None:
    sender = ledger.operator(who)
    code = fresh_code()
    call = ledger.add_scheme_call(
        code=code,
        name="私设积分",
        unit="分",
        issuer=sender.address,
        unit_value=1000,
        quota=1000,
        quota_period=DAY,
        flags=SchemeFlag.GIFTS,
    )
    count = ledger.schemes.scheme_count()

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": sender.address, "neededRole": COUNCIL_ROLE},
    ):
        send(ledger, sender, call, mined=mined)

    assert ledger.schemes.scheme_count() == count
    with reverts(UnknownScheme, "SchemeUnknownCode", {"code": hex32(raw_code(code.encode()))}):
        ledger.schemes.scheme_id(code)


def _invalid(ledger: Ledger, scheme: Scheme) -> dict[str, tuple[Call, str, dict[str, Any]]]:
    """Council calls the contract refuses, with the error it gives."""
    sid, s = scheme.id, ledger.schemes

    def add(**fields: Any) -> Call:
        return add_scheme_raw(ledger, **fields)

    def code_error(text: bytes) -> tuple[Call, str, dict[str, Any]]:
        return add(code=raw_code(text)), "SchemeInvalidCode", {"code": hex32(raw_code(text))}

    taken = raw_code(scheme.code.encode())
    return {
        "duplicate code": (
            add(code=taken),
            "SchemeCodeInUse",
            {"code": hex32(taken), "schemeId": sid},
        ),
        "lowercase code": code_error(b"vol"),
        "empty code": code_error(b""),
        "17-character code": code_error(b"A" * 17),
        "code with a space": code_error(b"A B"),
        "code with a gap": code_error(b"A\x00B"),
        "code starting with a digit": code_error(b"2024"),
        "empty name": (add(name=""), "SchemeInvalidName", {}),
        "97-byte name": (add(name="x" * 97), "SchemeInvalidName", {}),
        "empty unit": (add(unit=""), "SchemeInvalidName", {}),
        "zero issuer": (add(issuer=ZERO_ADDRESS), "SchemeInvalidIssuer", {"issuer": ZERO_ADDRESS}),
        "zero value": (add(unitValue=0), "SchemeInvalidValue", {"unitValue": 0}),
        "zero quota": (add(quota=0), "SchemeInvalidQuota", {"quota": 0, "quotaPeriod": DAY}),
        "quota over 2^128-1": (
            add(quota=MAX_UINT128 + 1),
            "SchemeInvalidQuota",
            {"quota": MAX_UINT128 + 1, "quotaPeriod": DAY},
        ),
        "period under an hour": (
            add(quotaPeriod=3599),
            "SchemeInvalidQuota",
            {"quota": 10_000, "quotaPeriod": 3599},
        ),
        "unknown flags": (add(flags=32), "SchemeInvalidFlags", {"flags": 32}),
        "set zero quota": (
            s.set_quota_call(sid, 0, DAY),
            "SchemeInvalidQuota",
            {"quota": 0, "quotaPeriod": DAY},
        ),
        "set quota over 2^128-1": (
            s.set_quota_call(sid, MAX_UINT128 + 1, DAY),
            "SchemeInvalidQuota",
            {"quota": MAX_UINT128 + 1, "quotaPeriod": DAY},
        ),
        "set period under an hour": (
            s.set_quota_call(sid, 10, 3599),
            "SchemeInvalidQuota",
            {"quota": 10, "quotaPeriod": 3599},
        ),
        "set zero value": (
            s.set_unit_value_call(sid, 0, 10**9),
            "SchemeInvalidValue",
            {"unitValue": 0},
        ),
        "set zero issuer": (
            s.set_issuer_call(sid, ZERO_ADDRESS),
            "SchemeInvalidIssuer",
            {"issuer": ZERO_ADDRESS},
        ),
        "set unknown flags": (
            raw_call(s, "setFlags", sid, 64),
            "SchemeInvalidFlags",
            {"flags": 64},
        ),
        "change an unknown scheme": (
            s.set_unit_value_call(10**6, 5, 10**9),
            "SchemeUnknown",
            {"schemeId": 10**6},
        ),
    }


INVALID = [
    "duplicate code",
    "lowercase code",
    "empty code",
    "17-character code",
    "code with a space",
    "code with a gap",
    "empty name",
    "97-byte name",
    "empty unit",
    "zero issuer",
    "zero value",
    "zero quota",
    "quota over 2^128-1",
    "period under an hour",
    "unknown flags",
    "set zero quota",
    "set quota over 2^128-1",
    "set period under an hour",
    "set zero value",
    "set zero issuer",
    "set unknown flags",
    "change an unknown scheme",
]


@pytest.mark.parametrize("case", INVALID)
def test_the_contract_refuses_an_invalid_scheme_even_from_the_council(
    ledger: Ledger, scheme: Scheme, case: str
) -> None:
    call, error, args = _invalid(ledger, scheme)[case]
    pid = open_proposal(ledger, [call])
    before = scheme_state(ledger, scheme.id)

    with reverts(UnknownScheme if error == "SchemeUnknown" else ContractRevert, error, args):
        ledger.execute(member=council(ledger)[0], proposal_id=pid)

    assert scheme_state(ledger, scheme.id) == before
    assert not ledger.council.proposal(pid).executed


@pytest.mark.parametrize(
    "overrides",
    [{"code": "A" * 17}, {"code": ""}, {"code": "积分"}, {"quota": 0}, {"unit_value": 0}],
    ids=["long-code", "empty-code", "non-ascii-code", "zero-quota", "zero-value"],
)
def test_the_ledger_refuses_an_invalid_scheme_before_proposing(
    ledger: Ledger, overrides: dict[str, Any]
) -> None:
    fields: dict[str, Any] = {
        "code": fresh_code(),
        "name": "测试积分",
        "unit": "分",
        "issuer": ledger.operator("issuer-vol").address,
        "unit_value": 1000,
        "quota": 1000,
        "quota_period": DAY,
        "flags": SchemeFlag.GIFTS,
    }
    fields.update(overrides)

    with pytest.raises(InputError):
        ledger.add_scheme_call(**fields)


def test_an_unknown_scheme_id_is_refused(ledger: Ledger) -> None:
    unknown = ledger.schemes.scheme_count() + 1

    for scheme_id in (unknown, 0):
        with reverts(UnknownScheme, "SchemeUnknown", {"schemeId": scheme_id}):
            ledger.scheme(scheme_id)
        assert not ledger.schemes.contract.functions.exists(scheme_id).call()


def test_an_unknown_scheme_code_is_refused(ledger: Ledger) -> None:
    code = fresh_code()

    with reverts(UnknownScheme, "SchemeUnknownCode", {"code": hex32(raw_code(code.encode()))}):
        ledger.scheme(code)


# --- staff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role_name", STAFF)
def test_the_issuer_names_and_removes_staff_directly(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount, role_name: str
) -> None:
    account = Account.create().address
    role_id = role(role_name).id

    granted = ledger.set_scheme_role(
        issuer=issuer, role_name=role_name, account=account, scheme=scheme.id, grant=True
    )

    assert events(ledger.schemes, granted, "SchemeRoleGranted") == [
        {"schemeId": scheme.id, "role": role_id, "account": account, "sender": issuer.address}
    ]
    assert staff(ledger, scheme.id, account) == [r == role_name for r in STAFF]

    revoked = ledger.set_scheme_role(
        issuer=issuer, role_name=role_name, account=account, scheme=scheme.id, grant=False
    )

    assert events(ledger.schemes, revoked, "SchemeRoleRevoked") == [
        {"schemeId": scheme.id, "role": role_id, "account": account, "sender": issuer.address}
    ]
    assert staff(ledger, scheme.id, account) == [False, False, False]


def test_a_scheme_role_belongs_to_its_scheme_only(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount
) -> None:
    other = new_scheme(ledger)
    account = Account.create().address

    ledger.set_scheme_role(
        issuer=issuer, role_name="reviewer", account=account, scheme=scheme.id, grant=True
    )

    assert staff(ledger, scheme.id, account) == [True, False, False]
    assert staff(ledger, other.id, account) == [False, False, False]


def test_granting_a_held_role_or_revoking_an_absent_one_changes_nothing(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount
) -> None:
    held, absent = Account.create().address, Account.create().address
    ledger.set_scheme_role(
        issuer=issuer, role_name="merchant", account=held, scheme=scheme.id, grant=True
    )

    again = ledger.set_scheme_role(
        issuer=issuer, role_name="merchant", account=held, scheme=scheme.id, grant=True
    )
    missing = ledger.set_scheme_role(
        issuer=issuer, role_name="merchant", account=absent, scheme=scheme.id, grant=False
    )

    assert events(ledger.schemes, again, "SchemeRoleGranted") == []
    assert events(ledger.schemes, missing, "SchemeRoleRevoked") == []
    assert staff(ledger, scheme.id, held) == [False, True, False]
    assert staff(ledger, scheme.id, absent) == [False, False, False]


@pytest.mark.parametrize("who", ["issuer-bee", "council-1", "reviewer-1"])
@pytest.mark.parametrize("grant", [True, False], ids=["grant", "revoke"])
def test_only_the_issuer_or_the_council_names_staff(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount, who: str, grant: bool
) -> None:
    """Another scheme's issuer, a lone council member, or the scheme's own reviewer cannot."""
    sender = ledger.operator(who)
    if who == "reviewer-1":
        ledger.set_scheme_role(
            issuer=issuer,
            role_name="reviewer",
            account=sender.address,
            scheme=scheme.id,
            grant=True,
        )
    account = Account.create().address
    if not grant:
        ledger.set_scheme_role(
            issuer=issuer, role_name="organiser", account=account, scheme=scheme.id, grant=True
        )
    before = staff(ledger, scheme.id, account)

    with reverts(
        NotAuthorized,
        "SchemeUnauthorizedIssuer",
        {"schemeId": scheme.id, "account": sender.address},
    ):
        ledger.set_scheme_role(
            issuer=sender, role_name="organiser", account=account, scheme=scheme.id, grant=grant
        )

    assert staff(ledger, scheme.id, account) == before


@pytest.mark.parametrize("role_name", ["registrar", "auditor", "issuance"])
def test_only_scheme_roles_can_be_named_by_an_issuer(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount, role_name: str
) -> None:
    account = Account.create().address
    role_id = role(role_name).id

    with reverts(ContractRevert, "SchemeInvalidRole", {"role": hex32(role_id)}):
        ledger.schemes.grant_scheme_role(issuer, scheme.id, role_id, account)
    with pytest.raises(InputError):
        ledger.set_scheme_role(
            issuer=issuer, role_name=role_name, account=account, scheme=scheme.id, grant=True
        )

    assert not ledger.schemes.has_scheme_role(scheme.id, role_id, account)


def test_the_council_role_is_not_a_scheme_role(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount
) -> None:
    account = Account.create().address

    with reverts(ContractRevert, "SchemeInvalidRole", {"role": ZERO_BYTES32}):
        ledger.schemes.grant_scheme_role(issuer, scheme.id, b"\x00" * 32, account)

    assert not ledger.schemes.has_scheme_role(scheme.id, b"\x00" * 32, account)


def test_staff_cannot_be_address_zero(ledger: Ledger, scheme: Scheme, issuer: LocalAccount) -> None:
    with reverts(ContractRevert, "SchemeInvalidAccount", {"account": ZERO_ADDRESS}):
        ledger.schemes.grant_scheme_role(issuer, scheme.id, role("reviewer").id, ZERO_ADDRESS)


def test_staff_of_an_unknown_scheme_is_refused(ledger: Ledger, issuer: LocalAccount) -> None:
    unknown = ledger.schemes.scheme_count() + 1

    with reverts(UnknownScheme, "SchemeUnknown", {"schemeId": unknown}):
        ledger.schemes.grant_scheme_role(
            issuer, unknown, role("reviewer").id, Account.create().address
        )


# --- changes by the council ----------------------------------------------------------------------


def test_the_council_changes_quota_value_issuer_and_flags_and_names_staff(
    ledger: Ledger, issuer: LocalAccount
) -> None:
    scheme = new_scheme(ledger)
    successor = ledger.operator("issuer-bee")
    reviewer = Account.create().address
    s = ledger.schemes
    new_flags = SchemeFlag.EXCHANGE_IN | SchemeFlag.TIME_BANK
    from_block = ledger.w3.eth.block_number + 20

    result = govern(
        ledger,
        [
            s.set_quota_call(scheme.id, 5_000, 2 * 3600),
            s.set_unit_value_call(scheme.id, 2_500, from_block),
            s.set_issuer_call(scheme.id, successor.address),
            s.set_flags_call(scheme.id, new_flags),
            ledger.role_call(role_name="reviewer", account=reviewer, grant=True, scheme=scheme.id),
        ],
    )

    changed = ledger.scheme(scheme.id)
    # The new value waits for its block: never retroactive, not before it is due.
    assert (changed.quota, changed.quota_period, changed.unit_value) == (
        5_000,
        7200,
        scheme.unit_value,
    )
    assert s.unit_value_at(scheme.id, result.block_number) == scheme.unit_value
    assert s.unit_value_at(scheme.id, from_block) == 2_500
    while ledger.w3.eth.block_number < from_block:
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    changed = ledger.scheme(scheme.id)
    assert changed.unit_value == 2_500
    assert (changed.issuer, changed.flags) == (successor.address, new_flags)
    assert (changed.code, changed.name, changed.created_at) == (
        scheme.code,
        scheme.name,
        scheme.created_at,
    )
    sid = scheme.id
    assert events(s, result, "SchemeQuotaChanged") == [
        {"schemeId": sid, "quota": 5_000, "quotaPeriod": 7200}
    ]
    assert events(s, result, "SchemeValueChanged") == [
        {
            "schemeId": sid,
            "previousValue": scheme.unit_value,
            "unitValue": 2_500,
            "fromBlock": from_block,
        }
    ]
    assert events(s, result, "SchemeIssuerChanged") == [
        {"schemeId": sid, "previousIssuer": issuer.address, "issuer": successor.address}
    ]
    assert events(s, result, "SchemeFlagsChanged") == [
        {"schemeId": sid, "previousFlags": int(SchemeFlag.GIFTS), "flags": int(new_flags)}
    ]
    assert events(s, result, "SchemeRoleGranted") == [
        {
            "schemeId": sid,
            "role": role("reviewer").id,
            "account": reviewer,
            "sender": ledger.council.address,
        }
    ]
    assert ledger.points.remaining_quota(sid) == 5_000

    with reverts(
        NotAuthorized, "SchemeUnauthorizedIssuer", {"schemeId": sid, "account": issuer.address}
    ):
        ledger.set_scheme_role(
            issuer=issuer, role_name="reviewer", account=reviewer, scheme=sid, grant=False
        )
    ledger.set_scheme_role(
        issuer=successor, role_name="reviewer", account=reviewer, scheme=sid, grant=False
    )
    assert staff(ledger, sid, reviewer) == [False, False, False]


@pytest.mark.parametrize("fn", ["setQuota", "setUnitValue", "setIssuer", "setFlags"])
def test_a_scheme_cannot_be_changed_outside_the_council(
    ledger: Ledger, scheme: Scheme, issuer: LocalAccount, fn: str
) -> None:
    s = ledger.schemes
    call = {
        "setQuota": s.set_quota_call(scheme.id, 10**9, DAY),
        "setUnitValue": s.set_unit_value_call(scheme.id, 9_999, 10**9),
        "setIssuer": s.set_issuer_call(scheme.id, ledger.operator("issuer-bee").address),
        "setFlags": s.set_flags_call(scheme.id, SchemeFlag(31)),
    }[fn]
    before = scheme_state(ledger, scheme.id)

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": issuer.address, "neededRole": COUNCIL_ROLE},
    ):
        send(ledger, issuer, call)

    assert scheme_state(ledger, scheme.id) == before
