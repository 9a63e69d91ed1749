"""Membership: registering a person's account (the vault keeps who they are, the chain only a
keyed commitment), their personal data and who may see it unmasked, freezing, and recovery to a
new address."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from web3.logs import DISCARD

from ledger.chain.contracts import Call, MemberInfo, MemberRegistryClient, MemberStatus
from ledger.chain.tx import Signer, TxResult
from ledger.errors import (
    AccessDenied,
    AlreadyRegistered,
    ConfigError,
    ContractRevert,
    InputError,
    NotAMember,
    RecordNotFound,
)
from ledger.real_name import commitment_key_id, identity_commitment
from ledger.store import PersonalData, PersonalDataAccess, Vault, VaultEntry, session, utcnow
from ledger.values import parse_address, parse_reason

log = logging.getLogger(__name__)
#: Roles whose holders may see a member's personal data unmasked (each access is logged).
REVEALERS = ("registrar", "auditor")


@dataclass(frozen=True)
class Registration:
    member: MemberInfo
    #: False when the same person and address were already registered (a repeated request).
    created: bool
    tx_hash: str | None


@dataclass(frozen=True, eq=False)
class Membership:
    """Members of one deployment."""

    members: MemberRegistryClient
    vault: Vault
    engine: Engine
    #: The key identity commitments are made with (read when first needed).
    commitment_key: Callable[[], bytes]
    #: The fingerprint of that key the deployment's manifest holds (None: not recorded).
    key_id: str | None
    #: ``has_role(role_name=, account=)``: who may see personal data unmasked.
    has_role: Callable[..., bool]

    def register(self, *, registrar: Signer, address: str, personal: PersonalData) -> Registration:
        """Register a person's account: the vault keeps who they are, the chain only a commitment.

        Repeating a registration that already succeeded returns it unchanged; a person or an address
        that is already registered otherwise is refused before anything is written.
        """
        address = parse_address(address, what="member address")
        key = self.commitment_key()
        if self.key_id is not None and commitment_key_id(key) != self.key_id:
            raise ConfigError(
                "VPL_COMMITMENT_KEY is not the key this deployment's members were registered with "
                "(its fingerprint differs from the manifest's); with another key the same person "
                "could be registered twice. Use the original key (or the data directory it lives in)"
            )
        commitment = identity_commitment(key, personal.id_number)
        on_chain = self.members.member(address)
        by_person = self.vault.find_by_commitment(commitment)

        if by_person is not None and by_person.address != address and by_person.status == "pending":
            raise AlreadyRegistered(
                f"a registration of this person to {by_person.address} was interrupted; run it "
                f"again for {by_person.address} to complete it",
                error="MemberCommitmentInUse",
                args={"commitment": "0x" + commitment.hex(), "holder": by_person.address},
            )
        if by_person is not None and by_person.address != address:
            raise AlreadyRegistered(
                f"this person is already registered, as {by_person.address}; one person holds one "
                "member account (a lost key is recovered with `vpl member recover`)",
                error="MemberCommitmentInUse",
                args={"commitment": "0x" + commitment.hex(), "holder": by_person.address},
            )
        if on_chain.registered:
            if on_chain.commitment == commitment and by_person is not None:
                if by_person.status == "pending":
                    self.vault.set_status(address, "registered")
                return Registration(member=on_chain, created=False, tx_hash=None)
            raise AlreadyRegistered(
                f"{address} is already registered to another person",
                error="MemberAlreadyRegistered",
                args={"account": address},
            )
        holder = self.members.holder_of(commitment)
        if holder is not None:
            raise AlreadyRegistered(
                f"this person is already registered on chain, as {holder}",
                error="MemberCommitmentInUse",
                args={"commitment": "0x" + commitment.hex(), "holder": holder},
            )
        if by_person is None:
            try:
                self.vault.get(address)
            except RecordNotFound:
                pass
            else:
                raise AlreadyRegistered(
                    f"{address} is already in the vault for another person",
                    error="MemberAlreadyRegistered",
                    args={"account": address},
                )
            self.vault.put(address=address, commitment=commitment, data=personal, status="pending")
        try:
            result = self.members.register(registrar, address, commitment)
        except ContractRevert:
            self.vault.delete(address)
            raise
        self.vault.set_status(address, "registered")
        log.info("registered member %s (tx %s)", address, result.tx_hash)
        return Registration(
            member=self.members.member(address), created=True, tx_hash=result.tx_hash
        )

    def member(self, address: str) -> MemberInfo:
        return self.members.member(parse_address(address, what="member address"))

    def personal_data(self, address: str) -> VaultEntry:
        """The vault entry of a member (following recovery to the live address)."""
        address = parse_address(address, what="member address")
        info = self.members.member(address)
        if info.status is MemberStatus.RECOVERED and info.successor:
            self.apply_recovery(address, info.successor)
        return self.vault.resolve(address)

    def reveal_personal_data(self, *, operator: Signer, address: str, purpose: str) -> VaultEntry:
        """A member's personal data unmasked, for a registrar or auditor, with the access logged."""
        purpose = " ".join(purpose.split())
        if not purpose:
            raise InputError("say why the personal data is needed (a purpose is logged with it)")
        allowed = any(self.has_role(role_name=name, account=operator.address) for name in REVEALERS)
        if not allowed:
            raise AccessDenied(
                f"{operator.address} is neither a registrar nor an auditor and may not see "
                "personal data unmasked"
            )
        entry = self.personal_data(address)
        with session(self.engine) as db:
            db.add(
                PersonalDataAccess(
                    at=utcnow(), operator=operator.address, member=entry.address, purpose=purpose
                )
            )
        log.info("personal data of %s revealed to %s", entry.address, operator.address)
        return entry

    def freeze(self, *, registrar: Signer, address: str, reason: int | str) -> TxResult:
        return self.members.freeze(
            registrar, parse_address(address, what="member address"), parse_reason(reason)
        )

    def unfreeze(self, *, registrar: Signer, address: str, reason: int | str) -> TxResult:
        return self.members.unfreeze(
            registrar, parse_address(address, what="member address"), parse_reason(reason)
        )

    def recovery_call(self, *, previous: str, successor: str) -> Call:
        """The council call that moves a member and their balances to a new address."""
        previous = parse_address(previous, what="previous address")
        successor = parse_address(successor, what="new address")
        old = self.members.member(previous)
        if not old.registered:
            raise NotAMember(
                f"{previous} is not a registered member; nothing to recover",
                error="MemberNotRegistered",
                args={"account": previous},
            )
        try:
            in_vault = self.vault.get(successor)
        except RecordNotFound:
            in_vault = None
        if self.members.member(successor).registered or in_vault is not None:
            raise AlreadyRegistered(
                f"{successor} is already registered (or being registered); recovery needs a "
                "fresh address",
                error="MemberAlreadyRegistered",
                args={"account": successor},
            )
        return self.members.recover_call(previous, successor)

    def follow_recoveries(self, result: TxResult) -> None:
        """Move the vault entries of the members a mined transaction (an executed council
        proposal) recovered to new addresses."""
        for event in self.members.contract.events.MemberRecovered().process_receipt(
            result.receipt, errors=DISCARD
        ):
            self.apply_recovery(event["args"]["previous"], event["args"]["successor"])

    def apply_recovery(self, previous: str, successor: str) -> None:
        """Move the vault entry after the council recovered a member on chain (idempotent)."""
        try:
            entry = self.vault.get(previous)
        except RecordNotFound:
            log.warning("recovered member %s has no vault entry", previous)
            return
        if entry.status != "recovered":
            self.vault.relink(previous, successor)
