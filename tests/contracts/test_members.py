"""MemberRegistry: who may hold points. Registration by registrars, freezes with reason codes, and
recovery of a lost key, which only the council can do and which takes the member's points along."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import MemberInfo, MemberStatus, Scheme, Standing
from ledger.errors import (
    AlreadyRegistered,
    ContractRevert,
    InvalidAmount,
    InvalidRequest,
    MemberFrozen,
    NotAMember,
    NotAuthorized,
    RecordNotFound,
)
from ledger.ledger import Ledger
from ledger.real_name import identity_commitment
from ledger.store import PersonalData
from tests.contracts.governance import council, govern, open_proposal
from tests.contracts.helpers import (
    COUNCIL_ROLE,
    NO_STANDING,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    events,
    hex32,
    raw_call,
    receipt,
    send,
    source,
)
from tests.contracts.refusals import points_frozen, reverts
from tests.factories import Member, new_member, new_scheme, person
from tests.probes import issue_points


@pytest.fixture(scope="module")
def schemes(ledger: Ledger) -> tuple[Scheme, Scheme]:
    """Two schemes to hold points in (shared: each test checks only its own members' balances)."""
    return new_scheme(ledger), new_scheme(ledger)


def commitment_of(ledger: Ledger, personal: PersonalData) -> bytes:
    return identity_commitment(ledger.settings.commitment_key_bytes(), personal.id_number)


def member_state(ledger: Ledger, *addresses: str) -> tuple[Any, ...]:
    """What a refusal must leave as it was: the members, who holds their identity, the count."""
    infos = [ledger.member(a) for a in addresses]
    return (
        infos,
        [ledger.members.holder_of(i.commitment) for i in infos if i.registered],
        ledger.members.member_count(),
    )


def balances(ledger: Ledger, address: str, schemes: tuple[Scheme, ...]) -> list[int]:
    return [ledger.points.balance_of(address, s.id) for s in schemes]


def standings(ledger: Ledger, address: str, schemes: tuple[Scheme, ...]) -> list[Standing]:
    """The member's whole account word per scheme: balance and earning standing."""
    return [ledger.points.standing(address, s.id) for s in schemes]


def status_epoch(ledger: Ledger) -> int:
    return int(ledger.members.contract.functions.statusEpoch().call())


def not_in_vault(ledger: Ledger, address: str) -> bool:
    try:
        ledger.vault.get(address)
    except RecordNotFound:
        return True
    return False


# --- registration --------------------------------------------------------------------------------


def test_a_registrar_registers_a_member_with_only_a_commitment_on_chain(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    account, personal = Account.create().address, person()
    count = ledger.members.member_count()

    registration = ledger.register_member(registrar=registrar, address=account, personal=personal)

    commitment = commitment_of(ledger, personal)
    info = ledger.member(account)
    assert registration.created and registration.member == info
    assert info == MemberInfo(
        address=account,
        commitment=commitment,
        status=MemberStatus.ACTIVE,
        frozen_reason=0,
        registered_at=info.registered_at,
        registrar=registrar.address,
        successor=None,
    )
    assert ledger.members.holder_of(commitment) == account
    assert ledger.members.member_count() == count + 1
    assert registration.tx_hash is not None
    assert events(ledger.members, receipt(ledger, registration.tx_hash), "MemberRegistered") == [
        {"member": account, "commitment": commitment, "registrar": registrar.address}
    ]
    entry = ledger.personal_data(account)
    assert (entry.address, entry.status, entry.data) == (account, "registered", personal)


def test_repeating_a_registration_returns_it_unchanged(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    member = new_member(ledger)
    before = member_state(ledger, member.address)

    again = ledger.register_member(
        registrar=registrar, address=member.address, personal=member.personal
    )

    assert (again.created, again.tx_hash) == (False, None)
    assert member_state(ledger, member.address) == before


@pytest.mark.parametrize("who", ["issuer-vol", "council-1", "auditor"])
def test_only_a_registrar_can_register(ledger: Ledger, who: str) -> None:
    outsider = ledger.operator(who)
    account, commitment = Account.create().address, commitment_of(ledger, person())
    before = member_state(ledger, account)

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": outsider.address, "neededRole": hex32(ledger.members.role("REGISTRAR_ROLE"))},
    ):
        ledger.members.register(outsider, account, commitment)

    assert member_state(ledger, account) == before
    assert ledger.members.holder_of(commitment) is None


def test_a_registration_the_chain_refuses_leaves_nothing_in_the_vault(ledger: Ledger) -> None:
    outsider = ledger.operator("issuer-vol")
    account, personal = Account.create().address, person()

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": outsider.address, "neededRole": hex32(ledger.members.role("REGISTRAR_ROLE"))},
    ):
        ledger.register_member(registrar=outsider, address=account, personal=personal)

    assert not_in_vault(ledger, account)
    assert ledger.vault.find_by_commitment(commitment_of(ledger, personal)) is None
    assert not ledger.member(account).registered


def second_address_refused(
    ledger: Ledger, register: Callable[[Member, str, bytes], Any]
) -> tuple[Member, str, bytes]:
    """A member; `register`ing another address for the same person (the member, the address,
    their commitment) is refused with MemberCommitmentInUse and changes neither address. The
    member, the address and the commitment."""
    first = new_member(ledger)
    second = Account.create().address
    commitment = commitment_of(ledger, first.personal)
    before = member_state(ledger, first.address, second)

    with reverts(
        AlreadyRegistered,
        "MemberCommitmentInUse",
        {"commitment": hex32(commitment), "holder": first.address},
    ):
        register(first, second, commitment)

    assert member_state(ledger, first.address, second) == before
    return first, second, commitment


def test_the_ledger_refuses_a_second_address_for_the_same_person_before_writing(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    first, second, commitment = second_address_refused(
        ledger,
        lambda member, address, _: ledger.register_member(
            registrar=registrar, address=address, personal=member.personal
        ),
    )

    assert not_in_vault(ledger, second)
    holder = ledger.vault.find_by_commitment(commitment)
    assert holder is not None and holder.address == first.address


def test_the_contract_refuses_a_second_address_for_the_same_commitment(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    second_address_refused(
        ledger,
        lambda _, address, commitment: ledger.members.register(registrar, address, commitment),
    )


def test_the_ledger_refuses_a_registered_address_for_another_person_before_writing(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    member = new_member(ledger)
    other = person()
    before = member_state(ledger, member.address)

    with reverts(AlreadyRegistered, "MemberAlreadyRegistered", {"account": member.address}):
        ledger.register_member(registrar=registrar, address=member.address, personal=other)

    assert member_state(ledger, member.address) == before
    assert ledger.vault.get(member.address).data == member.personal
    assert ledger.vault.find_by_commitment(commitment_of(ledger, other)) is None


def test_the_contract_refuses_a_registered_address_for_another_commitment(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    member = new_member(ledger)
    other = commitment_of(ledger, person())
    before = member_state(ledger, member.address)

    with reverts(AlreadyRegistered, "MemberAlreadyRegistered", {"account": member.address}):
        ledger.members.register(registrar, member.address, other)

    assert member_state(ledger, member.address) == before
    assert ledger.members.holder_of(other) is None


def test_a_zero_commitment_is_refused(ledger: Ledger, registrar: LocalAccount) -> None:
    account = Account.create().address
    before = member_state(ledger, account)

    with reverts(ContractRevert, "MemberInvalidCommitment", {"commitment": ZERO_BYTES32}):
        ledger.members.register(registrar, account, b"\x00" * 32)

    assert member_state(ledger, account) == before


def test_the_zero_address_is_refused(ledger: Ledger, registrar: LocalAccount) -> None:
    count = ledger.members.member_count()

    with reverts(ContractRevert, "MemberInvalidAddress", {"account": ZERO_ADDRESS}):
        ledger.members.register(registrar, ZERO_ADDRESS, commitment_of(ledger, person()))

    assert ledger.members.member_count() == count


def test_a_batch_registration_is_all_or_nothing(ledger: Ledger, registrar: LocalAccount) -> None:
    first, second = Account.create().address, Account.create().address
    commitment = commitment_of(ledger, person())
    before = member_state(ledger, first, second)

    with reverts(
        AlreadyRegistered,
        "MemberCommitmentInUse",
        {"commitment": hex32(commitment), "holder": first},
    ):
        ledger.members.register_batch(registrar, [first, second], [commitment, commitment])

    assert member_state(ledger, first, second) == before
    assert ledger.members.holder_of(commitment) is None


def test_a_registration_batch_with_mismatched_lengths_is_refused(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    first, second = Account.create().address, Account.create().address
    commitment = commitment_of(ledger, person())
    before = member_state(ledger, first, second)

    with reverts(InvalidRequest, "MemberBatchLengthMismatch", {"accounts": 2, "commitments": 1}):
        ledger.members.register_batch(registrar, [first, second], [commitment])

    assert member_state(ledger, first, second) == before


# --- freezing ------------------------------------------------------------------------------------


def test_a_registrar_freezes_and_unfreezes_a_member_with_reason_codes(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    member = new_member(ledger)

    frozen = ledger.freeze_member(registrar=registrar, address=member.address, reason=3)

    assert events(ledger.members, frozen, "MemberFrozen") == [
        {"member": member.address, "reason": 3, "by": registrar.address}
    ]
    info = ledger.member(member.address)
    assert (info.status, info.frozen_reason) == (MemberStatus.FROZEN, 3)
    assert not ledger.members.contract.functions.isActive(member.address).call()

    unfrozen = ledger.unfreeze_member(registrar=registrar, address=member.address, reason=4)

    assert events(ledger.members, unfrozen, "MemberUnfrozen") == [
        {"member": member.address, "reason": 4, "by": registrar.address}
    ]
    info = ledger.member(member.address)
    assert (info.status, info.frozen_reason) == (MemberStatus.ACTIVE, 0)
    assert ledger.members.contract.functions.isActive(member.address).call()


def test_freezing_a_frozen_member_is_refused_with_the_standing_reason(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    member = new_member(ledger)
    ledger.freeze_member(registrar=registrar, address=member.address, reason=3)
    before = member_state(ledger, member.address)

    with reverts(MemberFrozen, "MemberIsFrozen", {"account": member.address, "reason": 3}):
        ledger.freeze_member(registrar=registrar, address=member.address, reason=9)

    assert member_state(ledger, member.address) == before


def test_unfreezing_an_active_member_is_refused(ledger: Ledger, registrar: LocalAccount) -> None:
    member = new_member(ledger)
    before = member_state(ledger, member.address)

    with reverts(ContractRevert, "MemberNotFrozen", {"account": member.address}):
        ledger.unfreeze_member(registrar=registrar, address=member.address, reason=4)

    assert member_state(ledger, member.address) == before


@pytest.mark.parametrize("action", ["freeze", "unfreeze"])
def test_reason_code_zero_is_refused(ledger: Ledger, registrar: LocalAccount, action: str) -> None:
    member = new_member(ledger)
    if action == "unfreeze":
        ledger.freeze_member(registrar=registrar, address=member.address, reason=3)
    before = member_state(ledger, member.address)

    with reverts(ContractRevert, "MemberInvalidReason", {"reason": 0}):
        getattr(ledger.members, action)(registrar, member.address, 0)
    with pytest.raises(InvalidAmount):
        getattr(ledger, f"{action}_member")(registrar=registrar, address=member.address, reason=0)

    assert member_state(ledger, member.address) == before


@pytest.mark.parametrize("action", ["freeze", "unfreeze"])
def test_only_a_registrar_or_the_council_can_freeze(ledger: Ledger, action: str) -> None:
    member = new_member(ledger)
    outsider = ledger.operator("issuer-vol")
    before = member_state(ledger, member.address)

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": outsider.address, "neededRole": hex32(ledger.members.role("REGISTRAR_ROLE"))},
    ):
        getattr(ledger.members, action)(outsider, member.address, 3)

    assert member_state(ledger, member.address) == before


def test_freezing_an_unregistered_address_is_refused(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    stranger = Account.create().address

    with reverts(NotAMember, "MemberNotRegistered", {"account": stranger}):
        ledger.members.freeze(registrar, stranger, 3)

    assert not ledger.member(stranger).registered


# --- the status epoch ----------------------------------------------------------------------------


def test_the_status_epoch_moves_when_a_member_stops_being_active(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    """Freezing and recovery move it (the points ledger then checks statuses again); registering
    and unfreezing do not, since they never make an active member inactive."""
    start = status_epoch(ledger)
    member = new_member(ledger)
    batch = [Account.create().address for _ in range(2)]
    ledger.members.register_batch(
        registrar, batch, [commitment_of(ledger, person()) for _ in batch]
    )
    assert status_epoch(ledger) == start

    ledger.freeze_member(registrar=registrar, address=member.address, reason=3)
    assert status_epoch(ledger) == start + 1

    ledger.unfreeze_member(registrar=registrar, address=member.address, reason=4)
    assert status_epoch(ledger) == start + 1

    successor = Account.create().address
    govern(ledger, [ledger.recovery_call(previous=member.address, successor=successor)])
    assert status_epoch(ledger) == start + 2
    assert ledger.member(successor).status is MemberStatus.ACTIVE


# --- recovery ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "mined"),
    [("registrar", False), ("council-1", False), ("member", False), ("registrar", True)],
    ids=["registrar", "council-member", "the-member", "registrar-mined"],
)
def test_recovery_cannot_be_called_directly(
    ledger: Ledger, schemes: tuple[Scheme, Scheme], who: str, mined: bool
) -> None:
    member = new_member(ledger)
    issue_points(ledger, member.address, schemes[0].id, 20, source())
    caller = member.account if who == "member" else ledger.operator(who)
    successor = Account.create().address
    call = ledger.recovery_call(previous=member.address, successor=successor)
    before = member_state(ledger, member.address, successor)

    with reverts(
        NotAuthorized,
        "AccessControlUnauthorizedAccount",
        {"account": caller.address, "neededRole": COUNCIL_ROLE},
    ):
        send(ledger, caller, call, mined=mined)

    assert member_state(ledger, member.address, successor) == before
    assert balances(ledger, member.address, schemes) == [20, 0]


def test_the_council_recovers_a_member_and_their_points_follow(
    ledger: Ledger, schemes: tuple[Scheme, Scheme]
) -> None:
    member = new_member(ledger)
    vol, bee = schemes
    issue_points(ledger, member.address, vol.id, 50, source())
    issue_points(ledger, member.address, bee.id, 7, source())
    supply = [ledger.points.total_supply(s.id) for s in schemes]
    count = ledger.members.member_count()
    old, new = member.address, Account.create().address
    commitment = ledger.member(old).commitment
    accounts = standings(ledger, old, schemes)

    result = govern(ledger, [ledger.recovery_call(previous=old, successor=new)])

    assert balances(ledger, old, schemes) == [0, 0]
    assert balances(ledger, new, schemes) == [50, 7]
    assert standings(ledger, new, schemes) == accounts
    assert [a.balance for a in accounts] == [50, 7]
    assert standings(ledger, old, schemes) == [NO_STANDING, NO_STANDING]
    assert [ledger.points.total_supply(s.id) for s in schemes] == supply
    previous = ledger.member(old)
    assert (previous.status, previous.successor) == (MemberStatus.RECOVERED, new)
    assert ledger.member(new) == MemberInfo(
        address=new,
        commitment=commitment,
        status=MemberStatus.ACTIVE,
        frozen_reason=0,
        registered_at=ledger.member(new).registered_at,
        registrar=ledger.council.address,
        successor=None,
    )
    assert ledger.members.holder_of(commitment) == new
    assert ledger.members.member_count() == count
    assert events(ledger.members, result, "MemberRecovered") == [
        {"previous": old, "successor": new, "commitment": commitment}
    ]
    assert events(ledger.points, result, "BalancesRecovered") == [
        {"previous": old, "successor": new, "schemeIds": [vol.id, bee.id], "amounts": [50, 7]}
    ]
    assert events(ledger.points, result, "TransferBatch") == [
        {
            "operator": ledger.members.address,
            "from": old,
            "to": new,
            "ids": [vol.id, bee.id],
            "values": [50, 7],
        }
    ]
    moved = ledger.personal_data(old)
    assert (moved.address, moved.status, moved.data) == (new, "registered", member.personal)
    assert ledger.personal_data(new) == moved
    assert ledger.vault.get(old).status == "recovered"


def test_a_recovered_address_can_no_longer_receive_points_or_be_frozen(
    ledger: Ledger, registrar: LocalAccount, schemes: tuple[Scheme, Scheme]
) -> None:
    member = new_member(ledger)
    new = Account.create().address
    govern(ledger, [ledger.recovery_call(previous=member.address, successor=new)])

    with reverts(NotAMember, "PointsNotAMember", {"account": member.address}):
        issue_points(ledger, member.address, schemes[0].id, 5, source())
    with reverts(
        ContractRevert, "MemberAlreadyRecovered", {"account": member.address, "successor": new}
    ):
        ledger.members.freeze(registrar, member.address, 3)

    issue_points(ledger, new, schemes[0].id, 5, source())
    assert balances(ledger, new, schemes) == [5, 0]


def test_a_frozen_member_stays_frozen_after_recovery(
    ledger: Ledger, registrar: LocalAccount, schemes: tuple[Scheme, Scheme]
) -> None:
    member = new_member(ledger)
    issue_points(ledger, member.address, schemes[1].id, 12, source())
    ledger.freeze_member(registrar=registrar, address=member.address, reason=5)
    new = Account.create().address

    govern(ledger, [ledger.recovery_call(previous=member.address, successor=new)])

    info = ledger.member(new)
    assert (info.status, info.frozen_reason) == (MemberStatus.FROZEN, 5)
    assert balances(ledger, new, schemes) == [0, 12]
    with reverts(*points_frozen(new)):
        issue_points(ledger, new, schemes[1].id, 1, source())
    assert balances(ledger, new, schemes) == [0, 12]


def test_the_ledger_refuses_recovery_to_a_registered_address(ledger: Ledger) -> None:
    member, other = new_member(ledger), new_member(ledger)

    with reverts(AlreadyRegistered, "MemberAlreadyRegistered", {"account": other.address}):
        ledger.recovery_call(previous=member.address, successor=other.address)


def test_the_ledger_refuses_recovery_of_an_unregistered_address(ledger: Ledger) -> None:
    stranger = Account.create().address

    with reverts(NotAMember, "MemberNotRegistered", {"account": stranger}):
        ledger.recovery_call(previous=stranger, successor=Account.create().address)


def _bad_recoveries(
    member: Member, other: Member
) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
    stranger = Account.create().address
    return {
        "to a registered address": (
            member.address,
            other.address,
            "MemberAlreadyRegistered",
            {"account": other.address},
        ),
        "to the same address": (
            member.address,
            member.address,
            "MemberInvalidAddress",
            {"account": member.address},
        ),
        "to address zero": (
            member.address,
            ZERO_ADDRESS,
            "MemberInvalidAddress",
            {"account": ZERO_ADDRESS},
        ),
        "of an unregistered address": (
            stranger,
            Account.create().address,
            "MemberNotRegistered",
            {"account": stranger},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "to a registered address",
        "to the same address",
        "to address zero",
        "of an unregistered address",
    ],
)
def test_the_contract_refuses_an_invalid_recovery_even_from_the_council(
    ledger: Ledger, schemes: tuple[Scheme, Scheme], case: str
) -> None:
    member, other = new_member(ledger), new_member(ledger)
    issue_points(ledger, member.address, schemes[0].id, 9, source())
    previous, successor, error, args = _bad_recoveries(member, other)[case]
    call = raw_call(ledger.members, "recover", previous, successor)
    pid = open_proposal(ledger, [call])
    before = member_state(ledger, member.address, other.address)

    with reverts(ContractRevert, error, args):
        ledger.execute(member=council(ledger)[0], proposal_id=pid)

    assert member_state(ledger, member.address, other.address) == before
    assert balances(ledger, member.address, schemes) == [9, 0]
    assert not ledger.council.proposal(pid).executed
