"""Relayed calls: members and staff act without ever holding native gas.

Every contract of the ledger is ERC-2771-aware and trusts the deployed ``Forwarder`` (OpenZeppelin
5.0.2 ``ERC2771Forwarder``, EIP-712 domain "VolunteerPointsLedger", version "1"). A person signs a
``ForwardRequest`` off chain with their own key; the ``relayer`` operator submits it with
``execute`` and pays the gas; the target contract sees the *signer* as ``_msgSender()``. So a
member or a staff account can have a zero balance forever: here a council member whose account has
never held gas nor sent a transaction approves and executes proposals. A request that was
tampered with, claims another signer, expired, was signed for another chain, or is replayed is
refused by the forwarder, and nothing happens.

Runs on a node of this module's own, because it changes the council's membership.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from ledger.chain.contracts import Call
from ledger.chain.relay import DOMAIN_NAME, DOMAIN_VERSION, FORWARD_REQUEST_TYPES, ForwardRequest
from ledger.chain.tx import TxResult
from ledger.errors import ContractRevert
from ledger.ledger import Ledger
from tests.chain_helpers import make_settings, own_deployment

REQUEST_GAS = 500_000


@dataclass
class Relay:
    """A ledger on its own node, its forwarder, and a council member with no gas at all."""

    ledger: Ledger
    forwarder: Contract
    member: LocalAccount

    @property
    def relayer(self) -> LocalAccount:
        return self.ledger.operator("relayer")

    def now(self) -> int:
        return int(self.ledger.w3.eth.get_block("latest")["timestamp"])

    def forwarder_nonce(self, account: str) -> int:
        return int(self.forwarder.functions.nonces(account).call())

    def request(self, signer: LocalAccount, call: Call, **changes: Any) -> ForwardRequest:
        """A request for `call` from `signer`, valid for an hour, with the sender's next nonce."""
        sender = changes.pop("sender", signer.address)
        return ForwardRequest(
            sender=sender,
            to=call.target,
            data=bytes.fromhex(call.data.removeprefix("0x")),
            nonce=changes.pop("nonce", self.forwarder_nonce(sender)),
            deadline=changes.pop("deadline", self.now() + 3600),
            gas=changes.pop("gas", REQUEST_GAS),
            **changes,
        )

    def sign(
        self, signer: LocalAccount, request: ForwardRequest, *, chain_id: int | None = None
    ) -> bytes:
        domain = {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id or self.ledger.network.chain_id,
            "verifyingContract": self.forwarder.address,
        }
        signed = signer.sign_typed_data(
            domain_data=domain, message_types=FORWARD_REQUEST_TYPES, message_data=request.message()
        )
        return bytes(signed.signature)

    def submit(self, request: ForwardRequest, signature: bytes) -> TxResult:
        """The relayer sends ``execute(request)`` and pays for it."""
        data = self.forwarder.encode_abi("execute", args=[as_struct(request, signature)])
        return self.ledger.sender.send(self.relayer, self.forwarder.address, data, context="relay")

    def verify(self, request: ForwardRequest, signature: bytes) -> bool:
        return bool(self.forwarder.functions.verify(as_struct(request, signature)).call())

    def proposal(self) -> int:
        """A fresh open proposal from council-1 (granting the auditor role to a new address)."""
        call = self.ledger.role_call(
            role_name="auditor", account=Account.create().address, grant=True
        )
        outcome = self.ledger.propose(proposer=self.ledger.operator("council-1"), calls=[call])
        return outcome.proposal.id

    def approval(
        self, signer: LocalAccount | None = None, **changes: Any
    ) -> tuple[int, ForwardRequest]:
        """A fresh proposal, and `signer`'s (the member's) request to approve it."""
        pid = self.proposal()
        call = self.ledger.council._call("approve", pid, summary="approve")
        return pid, self.request(signer or self.member, call, **changes)

    def nothing_sent_by_member(self) -> None:
        w3 = self.ledger.w3
        assert w3.eth.get_balance(self.member.address) == 0
        assert w3.eth.get_transaction_count(self.member.address) == 0


def as_struct(request: ForwardRequest, signature: bytes) -> tuple[Any, ...]:
    return request.struct(signature)


@pytest.fixture(scope="module")
def relay(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    settings = make_settings(tmp_path_factory.mktemp("chain-relay"), "ganache")
    shutil.copytree(ledger.settings.build_dir, settings.build_dir)  # no second compilation
    with own_deployment(settings) as (own, _):
        member: LocalAccount = Account.create()
        own.govern([own.council.add_member_call(member.address)], "seat a member with no gas")
        assert own.council.is_member(member.address)
        forwarder = own.w3.eth.contract(
            address=Web3.to_checksum_address(own.manifest.address("Forwarder")),
            abi=list(own.build.get("Forwarder").abi),
        )
        yield Relay(ledger=own, forwarder=forwarder, member=member)


# --- a member without gas acts through the forwarder ------------------------------------------


def test_every_contract_trusts_the_forwarder(relay: Relay) -> None:
    manifest = relay.ledger.manifest
    for name in ("Council", "SchemeRegistry", "MemberRegistry", "PointsLedger"):
        contract = relay.ledger.w3.eth.contract(
            address=Web3.to_checksum_address(manifest.address(name)),
            abi=list(relay.ledger.build.get(name).abi),
        )
        assert contract.functions.isTrustedForwarder(relay.forwarder.address).call(), name
    assert relay.forwarder.functions.eip712Domain().call()[1:5] == [
        DOMAIN_NAME,
        DOMAIN_VERSION,
        relay.ledger.network.chain_id,
        relay.forwarder.address,
    ]


def test_a_council_member_without_native_coin_approves_through_the_relayer(relay: Relay) -> None:
    council = relay.ledger.council
    pid, request = relay.approval()
    nonce = relay.forwarder_nonce(relay.member.address)
    signature = relay.sign(relay.member, request)
    assert relay.verify(request, signature)

    result = relay.submit(request, signature)

    assert (
        relay.ledger.w3.eth.get_transaction(HexBytes(result.tx_hash))["from"]
        == relay.relayer.address
    )
    assert council.has_approved(pid, relay.member.address)
    assert not council.has_approved(pid, relay.relayer.address)
    assert council.proposal(pid).approvals == 2
    (event,) = council._events(result, "ProposalApproved")
    assert event["args"]["member"] == relay.member.address
    assert relay.forwarder_nonce(relay.member.address) == nonce + 1
    relay.nothing_sent_by_member()


def test_a_relayed_execution_runs_the_proposal_as_the_signer(relay: Relay) -> None:
    council = relay.ledger.council
    pid = relay.proposal()
    for fn in ("approve", "execute"):
        request = relay.request(relay.member, council._call(fn, pid, summary=fn))
        result = relay.submit(request, relay.sign(relay.member, request))

    (event,) = council._events(result, "ProposalExecuted")
    assert event["args"]["executor"] == relay.member.address
    proposal = council.proposal(pid)
    assert proposal.executed
    relay.nothing_sent_by_member()


# --- what the forwarder refuses ------------------------------------------------------------------


def refused(relay: Relay, request: ForwardRequest, signature: bytes) -> ContractRevert:
    """Submit a request that must be refused; check that nothing was sent, return the error."""
    w3 = relay.ledger.w3
    block = w3.eth.block_number
    relayer_nonce = w3.eth.get_transaction_count(relay.relayer.address)
    nonce = relay.forwarder_nonce(request.sender)
    with pytest.raises(ContractRevert) as info:
        relay.submit(request, signature)
    assert w3.eth.block_number == block
    assert w3.eth.get_transaction_count(relay.relayer.address) == relayer_nonce
    assert relay.forwarder_nonce(request.sender) == nonce
    return info.value


def test_a_request_tampered_with_after_signing_is_refused(relay: Relay) -> None:
    council = relay.ledger.council
    signed_for, other = relay.proposal(), relay.proposal()
    request = relay.request(relay.member, council._call("approve", signed_for, summary="approve"))
    signature = relay.sign(relay.member, request)
    tampered = replace(request, data=bytes.fromhex(council._encode("approve", other)[2:]))
    assert not relay.verify(tampered, signature)

    error = refused(relay, tampered, signature)

    assert error.error == "ERC2771ForwarderInvalidSigner"
    assert error.args_by_name["from"] == relay.member.address
    assert error.args_by_name["signer"] != relay.member.address
    assert not council.has_approved(other, relay.member.address)
    assert not council.has_approved(signed_for, relay.member.address)


@pytest.mark.parametrize("field", ["gas", "value", "deadline", "to"])
def test_any_changed_field_breaks_the_signature(relay: Relay, field: str) -> None:
    council = relay.ledger.council
    request = relay.request(relay.member, council._call("approve", 1, summary="approve"))
    signature = relay.sign(relay.member, request)
    changed: dict[str, Any] = {
        "gas": request.gas + 1,
        "value": 1,
        "deadline": request.deadline + 1,
        "to": relay.ledger.manifest.address("MemberRegistry"),
    }
    assert relay.verify(request, signature)
    assert not relay.verify(replace(request, **{field: changed[field]}), signature)


def test_a_request_claiming_another_signer_is_refused(relay: Relay) -> None:
    council = relay.ledger.council
    impersonated = relay.ledger.operator("council-2").address
    pid, request = relay.approval(sender=impersonated)
    signature = relay.sign(relay.member, request)

    error = refused(relay, request, signature)

    assert error.error == "ERC2771ForwarderInvalidSigner"
    assert error.args_by_name == {"signer": relay.member.address, "from": impersonated}
    assert not council.has_approved(pid, impersonated)
    assert council.proposal(pid).approvals == 1


def test_an_expired_request_is_refused(relay: Relay) -> None:
    council = relay.ledger.council
    deadline = relay.now() - 1
    pid, request = relay.approval(deadline=deadline)
    signature = relay.sign(relay.member, request)

    error = refused(relay, request, signature)

    assert error.error == "ERC2771ForwarderExpiredRequest"
    assert error.args_by_name == {"deadline": deadline}
    assert not council.has_approved(pid, relay.member.address)


def test_a_request_signed_for_another_chain_is_refused(relay: Relay) -> None:
    council = relay.ledger.council
    pid, request = relay.approval()
    signature = relay.sign(relay.member, request, chain_id=20231)

    error = refused(relay, request, signature)

    assert error.error == "ERC2771ForwarderInvalidSigner"
    assert not council.has_approved(pid, relay.member.address)


def test_a_relayed_request_cannot_be_replayed(relay: Relay) -> None:
    council = relay.ledger.council
    pid, request = relay.approval()
    signature = relay.sign(relay.member, request)
    relay.submit(request, signature)
    # revoke the approval: a replay of the first request would approve again
    revoke = relay.request(relay.member, council._call("revokeApproval", pid, summary="revoke"))
    relay.submit(revoke, relay.sign(relay.member, revoke))
    assert not council.has_approved(pid, relay.member.address)

    error = refused(relay, request, signature)

    assert error.error == "ERC2771ForwarderInvalidSigner"
    assert not council.has_approved(pid, relay.member.address)


def test_a_signer_without_the_right_is_refused_by_the_target_as_themselves(relay: Relay) -> None:
    council = relay.ledger.council
    stranger: LocalAccount = Account.create()  # not a council member, no gas either
    pid, request = relay.approval(stranger)
    signature = relay.sign(stranger, request)
    assert relay.verify(request, signature)  # the request itself is genuine

    error = refused(relay, request, signature)

    # OpenZeppelin 5.0.2 replaces the target's own error with FailedInnerCall; simulating the
    # call directly as the signer shows who the council saw
    assert error.error == "FailedInnerCall"
    with pytest.raises(ContractRevert) as direct:
        relay.ledger.sender.call(
            council.address, council._encode("approve", pid), sender=stranger.address
        )
    assert direct.value.error == "CouncilUnauthorizedMember"
    assert direct.value.args_by_name == {"account": stranger.address}
    assert council.proposal(pid).approvals == 1
