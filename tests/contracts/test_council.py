"""Council: M-of-N proposals, and the council as the only admin of the ledger's contracts.

These tests change the council itself and move the chain's clock, so the module runs on a node
of its own; after every test the council is put back to its configured state (council-1..3,
threshold 2, the configured proposal lifetime).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Call, MemberStatus
from ledger.chain.roles import DEFAULT_ADMIN_ROLE, role
from ledger.errors import ContractRevert, CouncilRefused, InvalidRequest, NotAMember, NotAuthorized
from ledger.ledger import Ledger
from tests.conftest import _start
from tests.contracts.governance import council, execute, govern, open_proposal
from tests.contracts.helpers import ZERO_ADDRESS, events, raw_call, receipt, send, spare
from tests.contracts.refusals import reverts
from tests.factories import person
from tests.probes import minter, probe_address

INITIAL_THRESHOLD = 2
MAX_CALLS = 32


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """This module's own deployed ledger, so that council changes stay here."""
    yield from _start(tmp_path_factory, "ganache")


@pytest.fixture(autouse=True)
def _council_restored(ledger: Ledger) -> Iterator[None]:
    yield
    restore_council(ledger)


@pytest.fixture
def c1(ledger: Ledger) -> LocalAccount:
    return council(ledger)[0]


@pytest.fixture
def c2(ledger: Ledger) -> LocalAccount:
    return council(ledger)[1]


@pytest.fixture
def c3(ledger: Ledger) -> LocalAccount:
    return council(ledger)[2]


@pytest.fixture
def outsider() -> LocalAccount:
    """A funded account with no council seat."""
    return spare(2)


def restore_council(ledger: Ledger) -> None:
    """Put the council back to the network file's members, threshold and lifetime."""
    initial = [a.address for a in council(ledger)]
    lifetime = ledger.network.council.proposal_lifetime_seconds
    members = ledger.council.members()
    threshold = ledger.council.threshold()
    current_lifetime = ledger.council.contract.functions.proposalLifetime().call()
    if (sorted(members), threshold, current_lifetime) == (
        sorted(initial),
        INITIAL_THRESHOLD,
        lifetime,
    ):
        return
    calls = [ledger.council.add_member_call(a) for a in initial if a not in members]
    calls.append(ledger.council.set_threshold_call(INITIAL_THRESHOLD))
    calls += [ledger.council.remove_member_call(a) for a in members if a not in initial]
    calls.append(raw_call(ledger.council, "setProposalLifetime", lifetime))
    keys: dict[str, LocalAccount] = {a.address: a for a in [*council(ledger), spare(0), spare(1)]}
    signers = [keys[a] for a in members if a in keys][:threshold]
    proposal_id = ledger.propose(proposer=signers[0], calls=calls).proposal.id
    for signer in signers[1:]:
        ledger.approve(member=signer, proposal_id=proposal_id)
    ledger.execute(member=signers[0], proposal_id=proposal_id)


def grant_auditor(ledger: Ledger, account: str | None = None) -> Call:
    """A harmless proposal call whose effect is easy to observe."""
    return ledger.role_call(
        role_name="auditor", account=account or Account.create().address, grant=True
    )


def is_auditor(ledger: Ledger, call: Call) -> bool:
    account = ledger.members.contract.decode_function_input(call.data)[1]["account"]
    return ledger.has_role(role_name="auditor", account=account)


def proposal_state(ledger: Ledger, proposal_id: int) -> tuple[Any, ...]:
    """Everything a refusal must leave as it was: the proposal, who approved, the council."""
    voters = [a.address for a in [*council(ledger), spare(0), spare(1), spare(2)]]
    return (
        ledger.council.proposal(proposal_id),
        [ledger.council.has_approved(proposal_id, v) for v in voters],
        ledger.council.proposal_count(),
        ledger.council.members(),
        ledger.council.threshold(),
    )


def council_state(ledger: Ledger) -> tuple[Any, ...]:
    return (
        ledger.council.members(),
        ledger.council.threshold(),
        ledger.council.proposal_count(),
        ledger.council.contract.functions.proposalLifetime().call(),
    )


@contextmanager
def proposal_unchanged(
    ledger: Ledger, pid: int, kind: type[ContractRevert], error: str, args: dict[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """`reverts`, and the proposal, who approved it and the council as they were (which it
    yields)."""
    before = proposal_state(ledger, pid)
    with reverts(kind, error, args):
        yield before
    assert proposal_state(ledger, pid) == before


@contextmanager
def council_unchanged(
    ledger: Ledger, kind: type[ContractRevert], error: str, args: dict[str, Any]
) -> Iterator[None]:
    """`reverts`, and the council and its proposals as they were."""
    before = council_state(ledger)
    with reverts(kind, error, args):
        yield
    assert council_state(ledger) == before


def not_enough(
    pid: int, approvals: int, threshold: int = INITIAL_THRESHOLD
) -> tuple[type[ContractRevert], str, dict[str, Any]]:
    """The refusal of a proposal with `approvals` of the `threshold` it needs."""
    args = {"proposalId": pid, "approvals": approvals, "threshold": threshold}
    return CouncilRefused, "CouncilNotEnoughApprovals", args


def proposed(ledger: Ledger, proposer: LocalAccount, *approvers: LocalAccount) -> tuple[Call, int]:
    """A fresh auditor grant proposed by `proposer` and approved by `approvers` too; the call and
    the proposal."""
    call = grant_auditor(ledger)
    pid = ledger.propose(proposer=proposer, calls=[call]).proposal.id
    for approver in approvers:
        ledger.approve(member=approver, proposal_id=pid)
    return call, pid


def opened(ledger: Ledger) -> tuple[Call, int]:
    """A fresh auditor grant approved by just enough council members, not executed yet; the call
    and the proposal."""
    call = grant_auditor(ledger)
    return call, open_proposal(ledger, [call])


def travel(ledger: Ledger, seconds: int) -> None:
    """Move the node's clock forward and mine a block at the new time (ganache)."""
    for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
        response = ledger.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        assert "error" not in response, response


# --- deployment ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "contract", ["schemes", "members", "points", "rules", "activities", "records"]
)
def test_after_deployment_only_the_council_is_admin(ledger: Ledger, contract: str) -> None:
    client = getattr(ledger, contract)
    deployer = ledger.operator("deployer").address

    assert client.has_role(DEFAULT_ADMIN_ROLE, ledger.council.address)
    assert not client.has_role(DEFAULT_ADMIN_ROLE, deployer)
    for member in council(ledger):
        assert not client.has_role(DEFAULT_ADMIN_ROLE, member.address)


def test_after_deployment_the_deployer_holds_no_operational_role(ledger: Ledger) -> None:
    deployer = ledger.operator("deployer").address

    for name in ("registrar", "auditor", "issuance"):
        assert not ledger.has_role(role_name=name, account=deployer)
    assert not ledger.council.is_member(deployer)


def test_after_deployment_the_council_is_the_configured_one(ledger: Ledger) -> None:
    assert ledger.council.members() == [a.address for a in council(ledger)]
    assert ledger.council.threshold() == INITIAL_THRESHOLD
    assert ledger.members.contract.functions.ledger().call() == ledger.points.address
    assert ledger.points.contract.functions.memberRegistry().call() == ledger.members.address
    assert ledger.points.contract.functions.schemeRegistry().call() == ledger.schemes.address


# --- proposing, approving, executing -------------------------------------------------------------


def test_propose_counts_the_proposers_approval(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount, c3: LocalAccount
) -> None:
    call = grant_auditor(ledger)
    count = ledger.council.proposal_count()

    outcome = ledger.propose(proposer=c1, calls=[call], description="an auditor for the audit")

    p = outcome.proposal
    assert p.id == count + 1 == ledger.council.proposal_count()
    assert (p.proposer, p.approvals, p.executed, p.cancelled) == (c1.address, 1, False, False)
    assert p.targets == (call.target,) and p.calldatas == (call.data,)
    assert p.description == "an auditor for the audit"
    assert p.deadline == p.created_at + ledger.network.council.proposal_lifetime_seconds
    assert outcome.state == "open"
    assert ledger.council.has_approved(p.id, c1.address)
    assert not ledger.council.has_approved(p.id, c2.address)
    assert not ledger.council.has_approved(p.id, c3.address)
    assert outcome.tx_hash is not None
    result = receipt(ledger, outcome.tx_hash)
    (created,) = events(ledger.council, result, "ProposalCreated")
    assert created["proposalId"] == p.id and created["proposer"] == c1.address
    assert created["deadline"] == p.deadline
    assert events(ledger.council, result, "ProposalApproved") == [
        {"proposalId": p.id, "member": c1.address, "approvals": 1}
    ]
    assert not is_auditor(ledger, call)


def test_a_proposal_runs_once_enough_members_approve_and_any_member_executes(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount, c3: LocalAccount
) -> None:
    call = grant_auditor(ledger)
    pid = ledger.propose(proposer=c1, calls=[call]).proposal.id

    approved = ledger.approve(member=c2, proposal_id=pid)
    assert (approved.proposal.approvals, approved.state) == (2, "approved")
    assert approved.tx_hash is not None
    assert events(ledger.council, receipt(ledger, approved.tx_hash), "ProposalApproved") == [
        {"proposalId": pid, "member": c2.address, "approvals": 2}
    ]

    executed = ledger.execute(member=c3, proposal_id=pid)

    assert executed.state == "executed" and executed.proposal.executed
    assert is_auditor(ledger, call)
    assert executed.tx_hash is not None
    assert events(ledger.council, receipt(ledger, executed.tx_hash), "ProposalExecuted") == [
        {"proposalId": pid, "executor": c3.address}
    ]


ACTIONS: dict[str, Callable[[Ledger, LocalAccount, int], Any]] = {
    "approve": lambda ledger, who, pid: ledger.council.approve(who, pid),
    "revoke": lambda ledger, who, pid: ledger.council.revoke_approval(who, pid),
    "execute": lambda ledger, who, pid: ledger.council.execute(who, pid),
    "cancel": lambda ledger, who, pid: ledger.council.cancel(who, pid),
}


@pytest.mark.parametrize("action", ["propose", *ACTIONS])
def test_a_non_member_cannot_act_on_proposals(
    ledger: Ledger, outsider: LocalAccount, action: str
) -> None:
    pid = open_proposal(ledger, [grant_auditor(ledger)])
    args = {"account": outsider.address}

    with proposal_unchanged(ledger, pid, NotAuthorized, "CouncilUnauthorizedMember", args):
        if action == "propose":
            ledger.council.propose(outsider, [grant_auditor(ledger)], "not mine to propose")
        else:
            ACTIONS[action](ledger, outsider, pid)


def approving_again(ledger: Ledger, pid: int, member: LocalAccount) -> Any:
    """`member` approves the proposal again: refused, nothing changed; the proposal as it was."""
    args = {"proposalId": pid, "member": member.address}
    with proposal_unchanged(ledger, pid, CouncilRefused, "CouncilAlreadyApproved", args) as before:
        ledger.approve(member=member, proposal_id=pid)
    return before[0]


def test_a_member_cannot_approve_twice(ledger: Ledger, c1: LocalAccount, c2: LocalAccount) -> None:
    _, pid = proposed(ledger, c1, c2)

    assert approving_again(ledger, pid, c2).approvals == 2


def test_the_proposer_cannot_approve_again(ledger: Ledger, c1: LocalAccount) -> None:
    _, pid = proposed(ledger, c1)

    assert approving_again(ledger, pid, c1).approvals == 1


def test_execute_with_too_few_approvals_is_refused(ledger: Ledger, c1: LocalAccount) -> None:
    call, pid = proposed(ledger, c1)

    with proposal_unchanged(ledger, pid, *not_enough(pid, 1)):
        ledger.execute(member=c1, proposal_id=pid)

    assert not is_auditor(ledger, call)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_an_executed_proposal_is_closed(
    ledger: Ledger, c1: LocalAccount, c3: LocalAccount, action: str
) -> None:
    pid = open_proposal(ledger, [grant_auditor(ledger)])
    execute(ledger, pid)
    who = c3 if action == "approve" else c1

    with proposal_unchanged(
        ledger, pid, CouncilRefused, "CouncilProposalClosed", {"proposalId": pid}
    ):
        ACTIONS[action](ledger, who, pid)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_an_unknown_proposal_is_refused(ledger: Ledger, c1: LocalAccount, action: str) -> None:
    unknown = ledger.council.proposal_count() + 1

    with council_unchanged(
        ledger, CouncilRefused, "CouncilProposalUnknown", {"proposalId": unknown}
    ):
        ACTIONS[action](ledger, c1, unknown)


@pytest.mark.parametrize("unknown", [0, 10**9])
def test_reading_an_unknown_proposal_is_refused(ledger: Ledger, unknown: int) -> None:
    with reverts(CouncilRefused, "CouncilProposalUnknown", {"proposalId": unknown}):
        ledger.council.proposal(unknown)


def test_a_revoked_approval_no_longer_counts(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount
) -> None:
    call, pid = proposed(ledger, c1, c2)

    result = ledger.council.revoke_approval(c2, pid)

    assert events(ledger.council, result, "ApprovalRevoked") == [
        {"proposalId": pid, "member": c2.address, "approvals": 1}
    ]
    assert not ledger.council.has_approved(pid, c2.address)
    assert ledger.council.proposal(pid).approvals == 1
    with proposal_unchanged(ledger, pid, *not_enough(pid, 1)):
        ledger.execute(member=c1, proposal_id=pid)
    assert not is_auditor(ledger, call)


def test_revoking_an_approval_never_given_is_refused(
    ledger: Ledger, c1: LocalAccount, c3: LocalAccount
) -> None:
    _, pid = proposed(ledger, c1)
    args = {"proposalId": pid, "member": c3.address}

    with proposal_unchanged(ledger, pid, CouncilRefused, "CouncilNotApproved", args):
        ledger.council.revoke_approval(c3, pid)


def test_only_the_proposer_can_cancel_and_a_cancelled_proposal_is_closed(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount
) -> None:
    call, pid = opened(ledger)

    with proposal_unchanged(
        ledger, pid, NotAuthorized, "CouncilUnauthorizedMember", {"account": c2.address}
    ):
        ledger.council.cancel(c2, pid)

    result = ledger.council.cancel(c1, pid)

    assert events(ledger.council, result, "ProposalCancelled") == [
        {"proposalId": pid, "by": c1.address}
    ]
    assert ledger.council.proposal(pid).cancelled
    with reverts(CouncilRefused, "CouncilProposalClosed", {"proposalId": pid}):
        ledger.execute(member=c1, proposal_id=pid)
    assert not is_auditor(ledger, call)


def test_an_expired_proposal_can_no_longer_be_approved_or_executed(
    ledger: Ledger, c1: LocalAccount, c3: LocalAccount
) -> None:
    call, pid = opened(ledger)
    deadline = ledger.council.proposal(pid).deadline
    travel(ledger, ledger.network.council.proposal_lifetime_seconds + 1)
    before = proposal_state(ledger, pid)

    expired = {"proposalId": pid, "deadline": deadline}
    with reverts(CouncilRefused, "CouncilProposalExpired", expired):
        ledger.execute(member=c1, proposal_id=pid)
    with reverts(CouncilRefused, "CouncilProposalExpired", expired):
        ledger.approve(member=c3, proposal_id=pid)
    with reverts(CouncilRefused, "CouncilProposalExpired", expired):
        ledger.council.cancel(c1, pid)

    assert proposal_state(ledger, pid) == before
    (listed,) = [o for o in ledger.proposals(include_closed=True) if o.proposal.id == pid]
    assert listed.state == "expired"
    assert not is_auditor(ledger, call)


# --- proposal validation -------------------------------------------------------------------------


def test_a_proposal_without_calls_is_refused(ledger: Ledger, c1: LocalAccount) -> None:
    args = {"calls": 0, "maxCalls": MAX_CALLS}

    with council_unchanged(ledger, ContractRevert, "CouncilInvalidProposal", args):
        ledger.council.propose(c1, [], "nothing")


def test_a_proposal_of_more_than_max_calls_is_refused(ledger: Ledger, c1: LocalAccount) -> None:
    calls = [grant_auditor(ledger) for _ in range(MAX_CALLS + 1)]
    args = {"calls": MAX_CALLS + 1, "maxCalls": MAX_CALLS}

    with council_unchanged(ledger, ContractRevert, "CouncilInvalidProposal", args):
        ledger.council.propose(c1, calls, "too much at once")


def test_a_proposal_with_fewer_calldatas_than_targets_is_refused(
    ledger: Ledger, c1: LocalAccount
) -> None:
    mismatched = raw_call(ledger.council, "propose", [ledger.members.address] * 2, [b"\x01"], "")
    args = {"targets": 2, "calldatas": 1}

    with council_unchanged(ledger, InvalidRequest, "CouncilLengthMismatch", args):
        send(ledger, c1, mismatched)


def test_a_proposal_calling_an_account_without_code_is_refused(
    ledger: Ledger, c1: LocalAccount
) -> None:
    nobody = Account.create().address
    call = Call(target=nobody, data="0x12345678", summary="call a plain account")

    with council_unchanged(ledger, ContractRevert, "CouncilInvalidTarget", {"target": nobody}):
        ledger.council.propose(c1, [grant_auditor(ledger), call], "")


# --- membership ----------------------------------------------------------------------------------


def _self_calls(ledger: Ledger) -> dict[str, Call]:
    return {
        "addMember": ledger.council.add_member_call(spare(0).address),
        "removeMember": ledger.council.remove_member_call(council(ledger)[2].address),
        "setThreshold": ledger.council.set_threshold_call(1),
        "setProposalLifetime": raw_call(ledger.council, "setProposalLifetime", 3600),
    }


@pytest.mark.parametrize("fn", ["addMember", "removeMember", "setThreshold", "setProposalLifetime"])
@pytest.mark.parametrize("mined", [False, True], ids=["simulated", "mined"])
def test_membership_changes_outside_a_proposal_are_refused(
    ledger: Ledger, c1: LocalAccount, fn: str, mined: bool
) -> None:
    with council_unchanged(ledger, NotAuthorized, "CouncilOnlySelf", {"caller": c1.address}):
        send(ledger, c1, _self_calls(ledger)[fn], mined=mined)


def test_a_seat_and_a_higher_threshold_are_granted_through_one_proposal(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount
) -> None:
    seat = spare(0)
    result = govern(
        ledger,
        [ledger.council.add_member_call(seat.address), ledger.council.set_threshold_call(3)],
    )

    assert events(ledger.council, result, "CouncilMemberAdded") == [{"member": seat.address}]
    assert events(ledger.council, result, "ThresholdChanged") == [
        {"previousThreshold": INITIAL_THRESHOLD, "threshold": 3}
    ]
    assert ledger.council.members() == [*(a.address for a in council(ledger)), seat.address]
    assert ledger.council.threshold() == 3

    call, pid = proposed(ledger, seat, c1)
    with reverts(*not_enough(pid, 2, threshold=3)):
        ledger.execute(member=seat, proposal_id=pid)
    ledger.approve(member=c2, proposal_id=pid)
    assert ledger.execute(member=seat, proposal_id=pid).state == "executed"
    assert is_auditor(ledger, call)


def test_a_removed_members_approval_no_longer_counts(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount, c3: LocalAccount
) -> None:
    call, pending = proposed(ledger, c1, c2)
    assert ledger.council.proposal(pending).approvals == 2

    removal = ledger.propose(
        proposer=c1, calls=[ledger.council.remove_member_call(c2.address)]
    ).proposal.id
    ledger.approve(member=c3, proposal_id=removal)
    result = execute(ledger, removal)

    assert events(ledger.council, result, "CouncilMemberRemoved") == [{"member": c2.address}]
    assert not ledger.council.is_member(c2.address)
    assert ledger.council.proposal(pending).approvals == 1
    with reverts(*not_enough(pending, 1)):
        ledger.execute(member=c1, proposal_id=pending)
    with reverts(NotAuthorized, "CouncilUnauthorizedMember", {"account": c2.address}):
        ledger.approve(member=c2, proposal_id=pending)
    assert not is_auditor(ledger, call)


def test_proposing_the_same_calls_again_joins_the_open_proposal(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount
) -> None:
    call = grant_auditor(ledger)
    first = ledger.propose(proposer=c1, calls=[call], description="an auditor")
    count = ledger.council.proposal_count()

    again = ledger.propose(proposer=c1, calls=[call], description="an auditor")
    joined = ledger.propose(proposer=c2, calls=[call], description="an auditor")

    assert again.proposal.id == joined.proposal.id == first.proposal.id
    assert ledger.council.proposal_count() == count
    assert set(joined.approved_by) == {c1.address, c2.address}
    assert joined.state == "approved"


def test_govern_finishes_a_proposal_left_half_approved(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount
) -> None:
    call = grant_auditor(ledger)
    pending = ledger.propose(proposer=c1, calls=[call], description="interrupted").proposal.id
    ledger.approve(member=c2, proposal_id=pending)

    outcome = ledger.govern([call], "interrupted")

    assert (outcome.proposal.id, outcome.state) == (pending, "executed")
    assert is_auditor(ledger, call)


def test_a_member_seated_again_starts_with_no_approvals(
    ledger: Ledger, c1: LocalAccount, c2: LocalAccount, c3: LocalAccount
) -> None:
    _, pending = proposed(ledger, c1, c2)
    for change in (ledger.council.remove_member_call, ledger.council.add_member_call):
        seat = ledger.propose(proposer=c1, calls=[change(c2.address)]).proposal.id
        ledger.approve(member=c3, proposal_id=seat, execute=True)

    assert ledger.council.is_member(c2.address)
    assert not ledger.council.has_approved(pending, c2.address)
    assert ledger.council.proposal(pending).approvals == 1
    ledger.approve(member=c2, proposal_id=pending)
    assert ledger.council.proposal(pending).approvals == 2


def _invalid_changes(ledger: Ledger) -> dict[str, tuple[list[Call], str, dict[str, Any]]]:
    c = [a.address for a in council(ledger)]
    cc = ledger.council
    return {
        "threshold 0": (
            [cc.set_threshold_call(0)],
            "CouncilInvalidThreshold",
            {"threshold": 0, "members": 3},
        ),
        "threshold above members": (
            [cc.set_threshold_call(4)],
            "CouncilInvalidThreshold",
            {"threshold": 4, "members": 3},
        ),
        "removal below threshold": (
            [cc.remove_member_call(c[1]), cc.remove_member_call(c[2])],
            "CouncilInvalidThreshold",
            {"threshold": INITIAL_THRESHOLD, "members": 1},
        ),
        "seat for a member": (
            [cc.add_member_call(c[1])],
            "CouncilAlreadyMember",
            {"account": c[1]},
        ),
        "seat for address zero": (
            [cc.add_member_call(ZERO_ADDRESS)],
            "CouncilInvalidMember",
            {"account": ZERO_ADDRESS},
        ),
        "removing a non-member": (
            [cc.remove_member_call(spare(1).address)],
            "CouncilInvalidMember",
            {"account": spare(1).address},
        ),
        "lifetime under a minute": (
            [raw_call(cc, "setProposalLifetime", 59)],
            "CouncilInvalidLifetime",
            {"lifetime": 59},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "threshold 0",
        "threshold above members",
        "removal below threshold",
        "seat for a member",
        "seat for address zero",
        "removing a non-member",
        "lifetime under a minute",
    ],
)
def test_an_invalid_council_change_reverts_the_execution(
    ledger: Ledger, c1: LocalAccount, case: str
) -> None:
    calls, error, args = _invalid_changes(ledger)[case]
    pid = open_proposal(ledger, calls)

    with proposal_unchanged(ledger, pid, ContractRevert, error, args) as before:
        ledger.execute(member=c1, proposal_id=pid)

    assert not before[0].executed


@pytest.mark.parametrize("case", ["threshold 0", "seat for a member", "removing a non-member"])
def test_the_ledger_refuses_to_propose_a_call_that_would_fail(
    ledger: Ledger, c1: LocalAccount, case: str
) -> None:
    calls, error, args = _invalid_changes(ledger)[case]
    count = ledger.council.proposal_count()

    with reverts(ContractRevert, error, args):
        ledger.propose(proposer=c1, calls=calls)

    assert ledger.council.proposal_count() == count


def test_a_failing_call_reverts_the_whole_proposal_with_its_own_error_and_it_can_run_later(
    ledger: Ledger, c1: LocalAccount
) -> None:
    """Calls run all or nothing; the inner contract's error surfaces; the proposal stays open."""
    stranger = Account.create().address
    auditor = grant_auditor(ledger)
    freeze = raw_call(ledger.members, "freeze", stranger, 7)
    pid = open_proposal(ledger, [auditor, freeze])

    with proposal_unchanged(ledger, pid, NotAMember, "MemberNotRegistered", {"account": stranger}):
        ledger.execute(member=c1, proposal_id=pid)

    assert not is_auditor(ledger, auditor)

    ledger.register_member(
        registrar=ledger.operator("registrar"), address=stranger, personal=person()
    )
    result = execute(ledger, pid)

    assert ledger.council.proposal(pid).executed
    assert is_auditor(ledger, auditor)
    assert ledger.member(stranger).status is MemberStatus.FROZEN
    assert events(ledger.members, result, "MemberFrozen") == [
        {"member": stranger, "reason": 7, "by": ledger.council.address}
    ]


def test_the_council_can_grant_and_revoke_the_issuance_role_of_a_contract(
    ledger: Ledger,
) -> None:
    """Any contract will do here (EarningRules, which never calls issue): holding it is the point."""
    account = ledger.rules.address
    assert not ledger.has_role(role_name="issuance", account=account)

    govern(ledger, [ledger.role_call(role_name="issuance", account=account, grant=True)])
    assert ledger.has_role(role_name="issuance", account=account)

    govern(ledger, [ledger.role_call(role_name="issuance", account=account, grant=False)])
    assert not ledger.has_role(role_name="issuance", account=account)
    assert ledger.has_role(role_name="issuance", account=probe_address(ledger))
    assert ledger.has_role(role_name="issuance", account=ledger.records.address)


def test_after_deployment_service_records_holds_the_issuance_role_and_no_key_does(
    ledger: Ledger,
) -> None:
    points = ledger.points.contract.functions
    role_id = role("issuance").id

    assert points.getRoleAdmin(role_id).call() == DEFAULT_ADMIN_ROLE
    assert ledger.has_role(role_name="issuance", account=ledger.records.address)
    for name in ("deployer", *ledger.network.council.members, "registrar", "issuer-vol"):
        assert not ledger.has_role(role_name="issuance", account=ledger.operator(name).address)
    assert not ledger.has_role(role_name="issuance", account=minter().address)


#: Keys without contract code, by what they are.
PLAIN_KEYS: dict[str, Callable[[Ledger], str]] = {
    "a new key": lambda _: Account.create().address,
    "a funded spare key": lambda _: spare(1).address,
    "a scheme issuer": lambda ledger: ledger.operator("issuer-vol").address,
    "a council member": lambda ledger: council(ledger)[0].address,
    "the test minter": lambda _: minter().address,
}


@pytest.mark.parametrize("who", list(PLAIN_KEYS))
def test_the_contract_refuses_the_issuance_role_to_a_plain_key(
    ledger: Ledger, c1: LocalAccount, who: str
) -> None:
    """A key that could issue at will would be points with no approved record behind them."""
    account = PLAIN_KEYS[who](ledger)
    pid = open_proposal(
        ledger, [ledger.role_call(role_name="issuance", account=account, grant=True)]
    )
    before = proposal_state(ledger, pid)

    with reverts(NotAuthorized, "PointsIssuerNotContract", {"account": account}) as refused:
        ledger.execute(member=c1, proposal_id=pid)

    assert "is a plain key: only contracts" in str(refused.value)
    assert proposal_state(ledger, pid) == before
    assert not ledger.council.proposal(pid).executed
    assert not ledger.has_role(role_name="issuance", account=account)


def test_the_ledger_refuses_to_propose_the_issuance_role_for_a_plain_key(
    ledger: Ledger, c1: LocalAccount
) -> None:
    account = spare(1).address
    call = ledger.role_call(role_name="issuance", account=account, grant=True)
    count = ledger.council.proposal_count()

    with reverts(NotAuthorized, "PointsIssuerNotContract", {"account": account}):
        ledger.propose(proposer=c1, calls=[call])
    with reverts(NotAuthorized, "PointsIssuerNotContract", {"account": account}):
        ledger.govern([call])

    assert ledger.council.proposal_count() == count
    assert not ledger.has_role(role_name="issuance", account=account)
