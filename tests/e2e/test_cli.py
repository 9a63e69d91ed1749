"""``vpl``, end to end: each command against the session's deployed chain, vault and manifest.

Commands run in-process with Typer's CliRunner, pointed at the ``ledger`` fixture's node
(``--rpc-url``), data directory (vault, development secrets) and deployments directory; the
chain commands run as real subprocesses on a throwaway data directory and port.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest
from eth_account import Account
from sqlmodel import select

from ledger.chain.contracts import MemberStatus, SchemeFlag
from ledger.errors import RecordNotFound
from ledger.ledger import Ledger
from ledger.store import PersonalDataAccess, session
from tests.e2e.runner import Vpl, fails, ok
from tests.factories import id_number, new_member, new_scheme
from tests.probes import issue_points


def fresh_address() -> str:
    return str(Account.create().address)


def fresh_code() -> str:
    return "CLI" + secrets.token_hex(4).upper()


# --- deploy ------------------------------------------------------------------------------------


def test_deploy_on_a_deployed_chain_is_a_no_op(vpl: Vpl, ledger: Ledger) -> None:
    data = ok(vpl("--json", "deploy"))

    assert data["created"] is False
    assert data["contracts"] == {n: c.address for n, c in ledger.manifest.contracts.items()}
    readable = vpl("deploy")
    assert readable.exit_code == 0
    assert "already deployed, manifest matches the chain" in readable.stdout


# --- schemes -----------------------------------------------------------------------------------


def test_scheme_add_with_approve_all_is_listed_and_shown(vpl: Vpl, ledger: Ledger) -> None:
    code = fresh_code()

    added = ok(
        vpl(
            "--json", "scheme", "add", code, "--name", "测试积分", "--issuer", "issuer-bee",
            "--quota", "5000", "--value", "1500", "--flags", "gifts,redemption", "--approve-all",
        )
    )  # fmt: skip

    assert added["state"] == "executed"
    assert added["next_step"] is None
    listed = {s["code"]: s for s in ok(vpl("--json", "scheme", "list"))}
    assert listed[code]["issuer"] == ledger.operator("issuer-bee").address
    assert listed[code]["issuer_operator"] == "issuer-bee"
    assert listed[code]["flags"] == ["gifts", "redemption"]
    shown = ok(vpl("--json", "scheme", "show", code.lower()))
    assert shown["id"] == listed[code]["id"]
    assert (shown["unit_value"], shown["value_csu"], shown["quota"]) == (1500, 1.5, 5000)
    assert (shown["total_supply"], shown["issued"], shown["burned"]) == (0, 0, 0)
    assert shown["remaining_quota"] == 5000
    assert ok(vpl("--json", "scheme", "show", str(shown["id"])))["code"] == code
    assert ledger.scheme(code).flags == SchemeFlag.GIFTS | SchemeFlag.REDEMPTION


def test_the_issuer_publishes_rules_and_anyone_reads_them(vpl: Vpl, ledger: Ledger) -> None:
    scheme = new_scheme(ledger)

    published = ok(
        vpl("--json", "rule", "duration", scheme.code, "--points-per-hour", "10",
            "--grades", "A=1.2,B=1.0,C=0.8,D=0.5")
    )  # fmt: skip
    assert published == {
        "scheme_id": scheme.id,
        "version": 1,
        "kind": "duration",
        "points_per_hour": 10,
        "grades": {"A": 1.2, "B": 1.0, "C": 0.8, "D": 0.5},
    }
    second = ok(
        vpl("--json", "rule", "duration", scheme.code, "--points-per-hour", "12", "--grades", "A=1")
    )
    assert (second["version"], second["grades"]) == (2, {"A": 1.0})
    assert ok(vpl("--json", "rule", "show", scheme.code, "--version", "1"))["points_per_hour"] == 10
    other = new_scheme(ledger)
    fixed = ok(vpl("--json", "rule", "fixed", other.code, "--actions", "safety_hazard=50"))
    assert (fixed["version"], fixed["actions"]) == (1, {"safety_hazard": 50})
    flip = vpl("--json", "rule", "fixed", scheme.code, "--actions", "safety_hazard=50")
    assert flip.exit_code == 3
    assert "keeps the kind of its first rule" in json.loads(flip.output)["error"]["message"]

    gap = vpl(
        "--json", "rule", "duration", scheme.code, "--points-per-hour", "10", "--grades", "A=1,C=1"
    )
    assert gap.exit_code == 2
    assert "without gaps" in json.loads(gap.output)["error"]["message"]
    stranger = vpl("--as", "issuer-bee", "rule", "duration", scheme.code, "--points-per-hour", "1",
                   "--grades", "A=1")  # fmt: skip
    assert stranger.exit_code == 3
    assert ledger.rules.current_version(scheme.id) == 2


@pytest.mark.parametrize(
    ("quota", "message"),
    [
        ("0", "quota must be positive (got 0)"),
        ("-5", "quota must be positive (got -5)"),
        (str(2**128), "is larger than the maximum"),
        ("12.5", "is not a whole number"),
    ],
)
def test_a_quota_that_is_not_a_positive_128_bit_number_exits_2_and_proposes_nothing(
    vpl: Vpl, ledger: Ledger, quota: str, message: str
) -> None:
    proposals, schemes = ledger.council.proposal_count(), ledger.schemes.scheme_count()

    result = vpl(
        "scheme", "add", fresh_code(), "--name", "x", "--issuer", "issuer-vol",
        f"--quota={quota}", "--approve-all",
    )  # fmt: skip

    fails(result, 2, message)
    assert ledger.council.proposal_count() == proposals
    assert ledger.schemes.scheme_count() == schemes


def test_an_unknown_scheme_exits_3_with_a_hint(vpl: Vpl) -> None:
    fails(vpl("scheme", "show", "NOSUCH"), 3, "there is no scheme with code NOSUCH")


def test_an_unknown_flag_suggests_the_closest_one(vpl: Vpl, ledger: Ledger) -> None:
    proposals = ledger.council.proposal_count()

    result = vpl(
        "scheme", "add", fresh_code(), "--name", "x", "--issuer", "issuer-vol", "--quota", "10",
        "--flags", "gift",
    )  # fmt: skip

    fails(result, 2, "Did you mean 'gifts'?")
    assert ledger.council.proposal_count() == proposals


# --- members -----------------------------------------------------------------------------------


def test_member_register_reads_the_id_number_from_stdin_and_show_masks_it(
    vpl: Vpl, ledger: Ledger
) -> None:
    address, number = fresh_address(), id_number()

    registered = vpl(
        "--json", "member", "register", address, "--name", "陈小红", "--phone", "13912345678",
        input=number + "\n",
    )  # fmt: skip

    data = ok(registered)
    assert (data["address"], data["status"], data["created"]) == (address, "active", True)
    assert number not in registered.output
    assert ledger.personal_data(address).data.id_number == number  # type: ignore[union-attr]

    masked = vpl("--json", "member", "show", address)
    shown = ok(masked)["personal"]
    assert number not in masked.output and "陈小红" not in masked.output
    assert shown["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert (shown["name"], shown["phone"], shown["masked"]) == ("陈**", "139****5678", True)
    readable = vpl("member", "show", address)
    assert readable.exit_code == 0 and number not in readable.output

    reveal = ("--json", "member", "show", address, "--reveal")
    revealed = ok(vpl(*reveal, "--purpose", "complaint 2026-17"))["personal"]
    assert (revealed["name"], revealed["id_number"]) == ("陈小红", number)
    with session(ledger.engine) as db:
        logged = db.exec(select(PersonalDataAccess).where(PersonalDataAccess.member == address))
        rows = [(r.operator, r.purpose) for r in logged]
    assert rows == [(ledger.operator("registrar").address, "complaint 2026-17")]

    no_purpose = vpl(*reveal)
    assert no_purpose.exit_code == 2 and number not in no_purpose.output
    stranger = vpl("--as", "merchant-1", *reveal, "--purpose", "curious")
    assert stranger.exit_code == 3 and "陈小红" not in stranger.output
    assert json.loads(stranger.output)["error"]["code"] == "access_denied"

    again = ok(vpl("--json", "member", "register", address, input=f"陈小红\n{number}\n"))
    assert again["created"] is False


def test_member_freeze_and_unfreeze(vpl: Vpl, ledger: Ledger) -> None:
    member = new_member(ledger)

    frozen = ok(vpl("--json", "member", "freeze", member.address, "--reason", "3"))
    assert (frozen["status"], frozen["frozen_reason"]) == ("frozen", 3)
    fails(vpl("member", "freeze", member.address, "--reason", "3"), 3, "is frozen")

    thawed = ok(vpl("--json", "member", "unfreeze", member.address, "--reason", "4"))
    assert thawed["status"] == "active"
    assert ledger.member(member.address).status is MemberStatus.ACTIVE


def test_registrar_work_signed_by_a_council_key_exits_3_and_changes_nothing(
    vpl: Vpl, ledger: Ledger
) -> None:
    member = new_member(ledger)

    result = vpl("--as", "council-1", "member", "freeze", member.address, "--reason", "1")

    fails(result, 3, "lacks the role registrar")
    assert ledger.member(member.address).status is MemberStatus.ACTIVE


def test_registering_the_same_person_twice_exits_3_and_stores_nothing(
    vpl: Vpl, ledger: Ledger
) -> None:
    member = new_member(ledger)
    second = fresh_address()

    result = vpl(
        "member", "register", second, "--name", member.personal.name,
        "--id-number", member.personal.id_number,
    )  # fmt: skip

    fails(result, 3, f"this person is already registered, as {member.address}")
    assert member.personal.id_number not in result.output
    assert not ledger.member(second).registered
    with pytest.raises(RecordNotFound):
        ledger.vault.get(second)


def _miscased(address: str) -> str:
    """The address with the case of one letter flipped: a broken EIP-55 checksum."""
    body = address[2:]
    i = next(i for i, c in enumerate(body) if c.isalpha())
    return "0x" + body[:i] + body[i].swapcase() + body[i + 1 :]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda a: a[:-3], "is not an address (0x followed by 40 hex digits)"),
        (lambda a: "0x" + "g" * 40, "is not an address"),
        (_miscased, "has a wrong checksum"),
    ],
    ids=["short", "not-hex", "checksum"],
)
def test_a_bad_member_address_exits_2_and_registers_nothing(
    vpl: Vpl, ledger: Ledger, make: Callable[[str], str], message: str
) -> None:
    address = fresh_address()
    members = ledger.members.member_count()

    result = vpl("member", "register", make(address), "--name", "张三", input=id_number())

    fails(result, 2, message)
    assert ledger.members.member_count() == members
    assert not ledger.member(address).registered


def test_balance_lists_every_scheme(vpl: Vpl, ledger: Ledger) -> None:
    member = new_member(ledger)
    scheme = new_scheme(ledger)
    issue_points(ledger, member.address, scheme.id, 25, secrets.token_bytes(32))

    balances = ok(vpl("--json", "balance", member.address))

    assert len(balances) == ledger.schemes.scheme_count()
    mine = next(b for b in balances if b["scheme"] == scheme.code)
    assert (mine["amount"], mine["scheme_id"], mine["unit"]) == (25, scheme.id, scheme.unit)


# --- roles -------------------------------------------------------------------------------------


def test_the_issuer_grants_a_scheme_reviewer_and_role_check_sees_it(
    vpl: Vpl, ledger: Ledger
) -> None:
    scheme = new_scheme(ledger, issuer=ledger.operator("issuer-green").address)
    reviewer = fresh_address()
    assert not ok(vpl("--json", "role", "check", "reviewer", reviewer, "--scheme", scheme.code))[
        "has_role"
    ]

    granted = ok(vpl("--json", "role", "grant", "reviewer", reviewer, "--scheme", scheme.code))

    assert granted["signed_by"] == ledger.operator("issuer-green").address
    assert granted["has_role"] is True
    check = ok(vpl("--json", "role", "check", "reviewer", reviewer, "--scheme", scheme.code))
    assert check == {
        "role": "reviewer",
        "scheme": scheme.code,
        "account": reviewer,
        "has_role": True,
    }
    ok(vpl("--json", "role", "revoke", "reviewer", reviewer, "--scheme", scheme.code))
    assert not ledger.has_role(role_name="reviewer", account=reviewer, scheme=scheme.id)


def test_a_scheme_role_granted_by_another_issuer_exits_3_and_grants_nothing(
    vpl: Vpl, ledger: Ledger
) -> None:
    scheme = new_scheme(ledger)  # issued by issuer-vol
    reviewer = fresh_address()

    result = vpl(
        "--as", "issuer-bee", "role", "grant", "reviewer", reviewer, "--scheme", scheme.code
    )

    fails(result, 3, f"is not the issuer of scheme {scheme.id}")
    assert not ledger.has_role(role_name="reviewer", account=reviewer, scheme=scheme.id)


def test_a_scheme_role_without_a_scheme_and_an_unknown_role_exit_2(vpl: Vpl) -> None:
    fails(vpl("role", "grant", "reviewer", fresh_address()), 2, "name it with --scheme")
    fails(vpl("role", "check", "reviewr", fresh_address()), 2, "unknown role 'reviewr'")


# --- council -----------------------------------------------------------------------------------


def test_a_proposal_needs_a_second_approval_then_executes(vpl: Vpl, ledger: Ledger) -> None:
    scheme = new_scheme(ledger)

    from_block = ledger.w3.eth.block_number + 5
    proposed = ok(
        vpl(
            "--json",
            "council",
            "propose",
            "value",
            scheme.code,
            "1500",
            "--from-block",
            str(from_block),
        )
    )

    pid = proposed["id"]
    assert (proposed["state"], proposed["approvals"], proposed["threshold"]) == ("open", 1, 2)
    assert proposed["approved_by"] == ["council-1"]
    assert (
        proposed["next_step"] == f"needs 1 more approval: vpl --as council-2 council approve {pid}"
    )
    readable = vpl("council", "show", str(pid))
    assert f"vpl --as council-2 council approve {pid}" in readable.stdout
    assert "setUnitValue" in readable.stdout

    fails(vpl("council", "approve", str(pid)), 3, f"has already approved proposal {pid}")
    assert ledger.council.proposal(pid).approvals == 1
    assert ledger.scheme(scheme.id).unit_value == 1000

    approved = ok(vpl("--json", "--as", "council-2", "council", "approve", str(pid)))
    assert approved["state"] == "approved"
    assert approved["next_step"] == f"ready to execute: vpl council execute {pid}"

    executed = ok(vpl("--json", "council", "execute", str(pid)))
    assert (executed["state"], executed["next_step"]) == ("executed", None)
    # In force from the stated block, not before.
    assert ledger.schemes.unit_value_at(scheme.id, from_block - 1) == 1000
    assert ledger.schemes.unit_value_at(scheme.id, from_block) == 1500
    while ledger.w3.eth.block_number < from_block:
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert ledger.scheme(scheme.id).unit_value == 1500
    fails(vpl("council", "execute", str(pid)), 3, f"proposal {pid} is already executed")
    assert pid not in [p["id"] for p in ok(vpl("--json", "council", "list"))]
    closed = {p["id"]: p for p in ok(vpl("--json", "council", "list", "--all"))}
    assert closed[pid]["state"] == "executed"


def test_a_ledger_wide_role_is_granted_by_approve_with_execute(vpl: Vpl, ledger: Ledger) -> None:
    auditor = fresh_address()

    proposed = ok(vpl("--json", "role", "grant", "auditor", auditor))
    assert proposed["state"] == "open"
    assert not ledger.has_role(role_name="auditor", account=auditor)

    done = ok(
        vpl("--json", "--as", "council-3", "council", "approve", str(proposed["id"]), "--execute")
    )

    assert done["state"] == "executed"
    assert ok(vpl("--json", "role", "check", "auditor", auditor))["has_role"] is True


def test_a_proposal_can_lose_its_approval_and_be_cancelled(vpl: Vpl, ledger: Ledger) -> None:
    scheme = new_scheme(ledger)
    pid = ok(vpl("--json", "council", "propose", "quota", scheme.code, "777"))["id"]

    revoked = ok(vpl("--json", "council", "revoke", str(pid)))
    assert (revoked["approvals"], revoked["approved_by"]) == (0, [])

    cancelled = ok(vpl("--json", "council", "cancel", str(pid)))
    assert cancelled["state"] == "cancelled"
    fails(
        vpl("--as", "council-2", "council", "approve", str(pid)), 3, "already executed or cancelled"
    )
    assert ledger.scheme(scheme.id).quota == scheme.quota


def test_an_unknown_operator_exits_2_and_suggests_the_closest_name(vpl: Vpl) -> None:
    fails(
        vpl("--as", "counsil-2", "council", "approve", "1"),
        2,
        "no operator named 'counsil-2' in network 'local'. Did you mean 'council-2'?",
    )


def test_approve_all_is_refused_outside_development(vpl: Vpl) -> None:
    result = vpl(
        "--network", "besu-qbft.example", "council", "propose", "threshold", "2", "--approve-all"
    )

    fails(result, 2, "--approve-all is for development networks only")


# --- output ------------------------------------------------------------------------------------


def test_an_error_in_json_mode_is_one_json_document_on_stdout(vpl: Vpl) -> None:
    result = vpl("--json", "scheme", "show", "NOSUCH")

    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "unknown_scheme"
    assert error["message"].startswith("there is no scheme with code NOSUCH")
    assert error["details"]["error"] == "SchemeUnknownCode"

    bad = vpl("--json", "member", "show", "0x1234")
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["error"]["code"] == "invalid_address"


def test_secrets_new_prints_two_fresh_32_byte_keys(vpl: Vpl) -> None:
    import base64

    first, second = ok(vpl("--json", "secrets", "new")), ok(vpl("--json", "secrets", "new"))

    keys = [first["vault_key"], first["commitment_key"], second["vault_key"]]
    assert len(set(keys)) == 3
    assert all(len(base64.b64decode(k, validate=True)) == 32 for k in keys)
