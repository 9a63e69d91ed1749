"""The ledger behaves the same on ganache and on anvil: the shared suite (the "anvil smoke run").

Every test here takes ``any_ledger`` and so runs once per node kind; a difference between the
nodes (how they report a revert, a receipt, a log) shows up as a failure on one of them.
"""

from __future__ import annotations

import secrets

import pytest
from eth_account import Account

from ledger.chain.contracts import MemberStatus
from ledger.chain.roles import role
from ledger.errors import AlreadyRegistered, CouncilRefused, NotAMember, NotAuthorized
from ledger.ledger import Ledger
from ledger.real_name import identity_commitment
from tests.factories import new_member, new_scheme, person
from tests.probes import issue_points


def source() -> bytes:
    """A unique non-zero source id (stands in for an approved service record)."""
    return secrets.token_bytes(32)


def test_a_registered_member_is_active_with_a_commitment(any_ledger: Ledger) -> None:
    before = any_ledger.members.member_count()
    member = new_member(any_ledger)

    info = any_ledger.member(member.address)
    assert info.status is MemberStatus.ACTIVE
    assert info.registrar == any_ledger.operator("registrar").address
    assert len(info.commitment) == 32 and info.commitment != b"\x00" * 32
    assert any_ledger.members.member_count() == before + 1
    assert any_ledger.members.holder_of(info.commitment) == member.address


def test_issued_points_show_in_balances_and_erc1155_balance_of_batch(any_ledger: Ledger) -> None:
    member = new_member(any_ledger)
    vol = new_scheme(any_ledger)
    other = new_scheme(any_ledger)

    issue_points(any_ledger, member.address, vol.id, 50, source())
    issue_points(any_ledger, member.address, vol.id, 30, source())
    issue_points(any_ledger, member.address, other.id, 7, source())

    by_scheme = {b.scheme.id: b.amount for b in any_ledger.balances(member.address)}
    assert by_scheme[vol.id] == 80
    assert by_scheme[other.id] == 7
    assert len(by_scheme) == any_ledger.schemes.scheme_count()
    raw = any_ledger.points.contract.functions.balanceOfBatch(
        [member.address, member.address], [vol.id, other.id]
    ).call()
    assert raw == [80, 7]
    assert any_ledger.points.issued(vol.id) == 80
    assert any_ledger.points.total_supply(vol.id) == 80
    assert any_ledger.points.remaining_quota(vol.id) == vol.quota - 80


def test_issuing_to_a_stranger_is_refused_with_points_not_a_member(any_ledger: Ledger) -> None:
    vol = new_scheme(any_ledger)
    stranger = Account.create().address

    with pytest.raises(NotAMember) as info:
        issue_points(any_ledger, stranger, vol.id, 10, source())

    assert info.value.error == "PointsNotAMember"
    assert info.value.args_by_name == {"account": stranger}
    assert str(info.value) == (f"{stranger} is not an active member and cannot hold or move points")
    assert info.value.details["call"] == "issue"
    assert any_ledger.points.issued(vol.id) == 0


def test_issuing_without_the_issuance_role_is_refused_with_the_role_named(
    any_ledger: Ledger,
) -> None:
    member = new_member(any_ledger)
    vol = new_scheme(any_ledger)
    outsider = any_ledger.operator("issuer-vol")

    with pytest.raises(NotAuthorized) as info:
        any_ledger.points.issue(outsider, member.address, vol.id, 10, source())

    assert info.value.error == "AccessControlUnauthorizedAccount"
    assert info.value.args_by_name == {
        "account": outsider.address,
        "neededRole": "0x" + role("issuance").id.hex(),
    }
    assert "lacks the role issuance" in str(info.value)


def test_registering_the_same_person_twice_is_refused(any_ledger: Ledger) -> None:
    registrar = any_ledger.operator("registrar")
    data = person()
    first = Account.create().address
    any_ledger.register_member(registrar=registrar, address=first, personal=data)

    with pytest.raises(AlreadyRegistered) as info:
        any_ledger.register_member(
            registrar=registrar, address=Account.create().address, personal=data
        )
    commitment = identity_commitment(any_ledger.settings.commitment_key_bytes(), data.id_number)
    assert info.value.error == "MemberCommitmentInUse"
    assert info.value.args_by_name == {"commitment": "0x" + commitment.hex(), "holder": first}


def test_council_govern_runs_a_proposal_once_enough_members_approve(any_ledger: Ledger) -> None:
    account = Account.create().address
    call = any_ledger.role_call(role_name="auditor", account=account, grant=True)
    assert not any_ledger.has_role(role_name="auditor", account=account)

    outcome = any_ledger.govern([call], "make an auditor")

    assert outcome.state == "executed"
    assert outcome.proposal.executed
    assert outcome.proposal.approvals == any_ledger.network.council.threshold
    assert outcome.proposal.description == "make an auditor"
    assert any_ledger.has_role(role_name="auditor", account=account)


def test_a_council_refusal_is_decoded_with_its_arguments(any_ledger: Ledger) -> None:
    proposer = any_ledger.operator(any_ledger.network.council.members[0])
    call = any_ledger.role_call(role_name="auditor", account=Account.create().address, grant=True)
    opened = any_ledger.propose(proposer=proposer, calls=[call])
    pid = opened.proposal.id
    assert opened.state == "open"

    with pytest.raises(CouncilRefused) as approved_twice:
        any_ledger.approve(member=proposer, proposal_id=pid)
    assert approved_twice.value.error == "CouncilAlreadyApproved"
    assert approved_twice.value.args_by_name == {"proposalId": pid, "member": proposer.address}

    with pytest.raises(CouncilRefused) as too_early:
        any_ledger.execute(member=proposer, proposal_id=pid)
    assert too_early.value.error == "CouncilNotEnoughApprovals"
    assert too_early.value.args_by_name == {
        "proposalId": pid,
        "approvals": 1,
        "threshold": any_ledger.network.council.threshold,
    }
    assert "more council members must approve it first" in str(too_early.value)


@pytest.mark.anvil
def test_a_revert_decodes_identically_on_ganache_and_anvil(
    ganache_ledger: Ledger, anvil_ledger: Ledger
) -> None:
    stranger = "0x000000000000000000000000000000000000dEaD"
    decoded = []
    for node in (ganache_ledger, anvil_ledger):
        scheme = new_scheme(node)
        with pytest.raises(NotAMember) as info:
            issue_points(node, stranger, scheme.id, 10, source())
        decoded.append(
            (type(info.value), info.value.error, info.value.args_by_name, str(info.value))
        )

    assert decoded[0] == decoded[1]
    assert decoded[0][1:3] == ("PointsNotAMember", {"account": stranger})
