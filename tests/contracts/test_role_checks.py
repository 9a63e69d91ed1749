"""Every admin-only function refuses anyone but the council, and scheme staff changes anyone but
the scheme's issuer; each refusal names the account and the role it lacks, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from ledger.chain.contracts import Scheme
from ledger.chain.roles import DEFAULT_ADMIN_ROLE, role
from ledger.errors import NotAuthorized
from ledger.ledger import Ledger
from tests.contracts.helpers import hex32, raw_call, send
from tests.contracts.refusals import reverts
from tests.factories import new_scheme

ADMIN = hex32(DEFAULT_ADMIN_ROLE)


@pytest.fixture(scope="module")
def scheme(ledger: Ledger) -> Scheme:
    return new_scheme(ledger)


def _admin_calls(ledger: Ledger) -> dict[str, tuple[Any, str, list[Any]]]:
    someone = Account.create().address
    return {
        "PointsLedger.setURI": (ledger.points, "setURI", ["https://elsewhere/{id}"]),
        "MemberRegistry.linkLedger": (ledger.members, "linkLedger", [someone]),
        "MemberRegistry.grantRole": (
            ledger.members,
            "grantRole",
            [role("registrar").id, someone],
        ),
        "MemberRegistry.revokeRole": (
            ledger.members,
            "revokeRole",
            [role("registrar").id, ledger.operator("registrar").address],
        ),
        "PointsLedger.grantRole": (ledger.points, "grantRole", [role("issuance").id, someone]),
        "SchemeRegistry.grantRole": (ledger.schemes, "grantRole", [DEFAULT_ADMIN_ROLE, someone]),
    }


@pytest.mark.parametrize(
    "case",
    [
        "PointsLedger.setURI",
        "MemberRegistry.linkLedger",
        "MemberRegistry.grantRole",
        "MemberRegistry.revokeRole",
        "PointsLedger.grantRole",
        "SchemeRegistry.grantRole",
    ],
)
@pytest.mark.parametrize("who", ["issuer-vol", "registrar", "council-1"])
def test_admin_functions_refuse_everyone_but_the_council_contract(
    ledger: Ledger, case: str, who: str
) -> None:
    client, fn, args = _admin_calls(ledger)[case]
    account = ledger.operator(who)
    uri = ledger.points.uri(1)
    registrars = ledger.has_role(
        role_name="registrar", account=ledger.operator("registrar").address
    )

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {
            "account": account.address,
            "neededRole": ADMIN,
        },
    ):
        send(ledger, account, raw_call(client, fn, *args))

    assert ledger.points.uri(1) == uri
    assert ledger.members.contract.functions.ledger().call() == ledger.points.address
    assert (
        ledger.has_role(role_name="registrar", account=ledger.operator("registrar").address)
        == registrars
    )


@pytest.mark.parametrize("fn", ["grantSchemeRole", "revokeSchemeRole"])
def test_only_the_schemes_issuer_changes_its_staff(ledger: Ledger, scheme: Scheme, fn: str) -> None:
    reviewer = ledger.operator("reviewer-2").address
    ledger.set_scheme_role(
        issuer=ledger.operator("issuer-vol"),
        role_name="reviewer",
        account=reviewer,
        scheme=scheme.id,
        grant=True,
    )
    other_issuer = ledger.operator("issuer-bee")
    call = raw_call(ledger.schemes, fn, scheme.id, role("reviewer").id, reviewer)

    with reverts(
        NotAuthorized,
        "SchemeUnauthorizedIssuer",
        {
            "schemeId": scheme.id,
            "account": other_issuer.address,
        },
    ):
        send(ledger, other_issuer, call)

    assert ledger.has_role(role_name="reviewer", account=reviewer, scheme=scheme.id)
