"""``Ledger``: the chain connection, the contract clients and the off-chain store, built from Settings.

Everything the CLI and the API do goes through here; each operation is keyword-only, checks its
input before anything is written, and is safe to run again after an interruption.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from web3 import Web3
from web3.logs import DISCARD

from ledger.chain import accounts, compiler, deploy
from ledger.chain.connection import connect
from ledger.chain.contracts import (
    ActivitiesClient,
    Call,
    CatalogueClient,
    ContractClient,
    CouncilClient,
    DurationRule,
    EarningRulesClient,
    FixedRule,
    GiftsClient,
    MemberInfo,
    MemberRegistryClient,
    MemberStatus,
    PointsLedgerClient,
    Proposal,
    RuleKind,
    Scheme,
    SchemeFlag,
    SchemeRegistryClient,
    ServiceRecordsClient,
)
from ledger.chain.contracts.exchange import ExchangeClient
from ledger.chain.contracts.rules import parse_actions, parse_grades
from ledger.chain.revert import RevertDecoder
from ledger.chain.roles import RoleSpec, role, role_names_by_id
from ledger.chain.tx import Signer, TxResult, TxSender
from ledger.config import NetworkConfig, Settings
from ledger.errors import (
    AccessDenied,
    AlreadyRegistered,
    ConfigError,
    ContractRevert,
    InputError,
    InvalidRequest,
    NotAMember,
    RecordNotFound,
    UnknownScheme,
)
from ledger.real_name import commitment_key_id, identity_commitment
from ledger.store import (
    PersonalData,
    PersonalDataAccess,
    Vault,
    VaultEntry,
    init_db,
    make_engine,
    session,
    utcnow,
)
from ledger.values import MAX_UINT64, parse_address, parse_amount, parse_reason

if TYPE_CHECKING:
    from ledger.chain.contracts.timebank import TimeBankClient
    from ledger.earning.records import Earning
    from ledger.identity.proxies import Proxies
    from ledger.spending.catalogue import Catalogue
    from ledger.spending.controls import Controls
    from ledger.spending.exchange import Exchange
    from ledger.spending.gifts import Gifts
    from ledger.spending.timebank import TimeBank

log = logging.getLogger(__name__)
#: Roles whose holders may see a member's personal data unmasked (each access is logged).
REVEALERS = ("registrar", "auditor")
#: How many blocks ahead a value change takes effect unless the proposer says when.
VALUE_CHANGE_LEAD_BLOCKS = 10
C = TypeVar("C", bound=ContractClient)


@dataclass(frozen=True)
class Registration:
    member: MemberInfo
    #: False when the same person and address were already registered (a repeated request).
    created: bool
    tx_hash: str | None


@dataclass(frozen=True)
class Balance:
    scheme: Scheme
    amount: int


@dataclass(frozen=True)
class ProposalOutcome:
    proposal: Proposal
    #: open, approved (ready to execute), executed, cancelled or expired.
    state: str
    threshold: int
    #: Current council members whose approval counts.
    approved_by: tuple[str, ...]
    tx_hash: str | None

    @property
    def missing(self) -> int:
        """Approvals still needed before the proposal can run."""
        return max(self.threshold - self.proposal.approvals, 0)


@dataclass(frozen=True)
class SchemeSupply:
    """Where a scheme's points stand: issued + minted - burned = total supply = what accounts
    hold plus what is held for orders and time-bank requests."""

    total_supply: int
    issued: int
    burned: int
    remaining_quota: int
    #: Created by exchanges into the scheme (outside the issuance quota).
    minted: int = 0
    #: Held for orders and time-bank requests (part of the supply).
    held: int = 0


class Ledger:
    """The ledger of one network, as configured by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- wiring (lazy: nothing connects until it is used) --------------------------------------

    @cached_property
    def network(self) -> NetworkConfig:
        return self.settings.network_config

    @cached_property
    def w3(self) -> Web3:
        return connect(self.network)

    @cached_property
    def build(self) -> compiler.Build:
        return compiler.build(self.settings)

    @cached_property
    def decoder(self) -> RevertDecoder:
        return RevertDecoder((a.abi for a in self.build.artifacts.values()), role_names_by_id())

    @cached_property
    def sender(self) -> TxSender:
        return TxSender(
            self.w3,
            chain_id=self.network.chain_id,
            decoder=self.decoder,
            confirmations=self.network.confirmations,
            gas_price=self.network.gas_price_wei,
            # a validator network mines once a block: look a few times per block, no more
            poll_seconds=(
                self.network.validators.period_seconds / 5 if self.network.validators else 1.0
            ),
        )

    @cached_property
    def manifest(self) -> deploy.Manifest:
        """The verified deployment: refuses a chain whose code does not match it."""
        manifest = deploy.load_manifest(self.settings)
        deploy.verify(self.w3, manifest, self.build)
        return manifest

    def _client(self, cls: type[C], name: str) -> C:
        return cls(self.w3, self.sender, self.manifest.address(name), self.build.get(name).abi)

    @cached_property
    def council(self) -> CouncilClient:
        return self._client(CouncilClient, "Council")

    @cached_property
    def members(self) -> MemberRegistryClient:
        return self._client(MemberRegistryClient, "MemberRegistry")

    @cached_property
    def schemes(self) -> SchemeRegistryClient:
        return self._client(SchemeRegistryClient, "SchemeRegistry")

    @cached_property
    def points(self) -> PointsLedgerClient:
        return self._client(PointsLedgerClient, "PointsLedger")

    @cached_property
    def rules(self) -> EarningRulesClient:
        return self._client(EarningRulesClient, "EarningRules")

    @cached_property
    def activities(self) -> ActivitiesClient:
        return self._client(ActivitiesClient, "Activities")

    @cached_property
    def records(self) -> ServiceRecordsClient:
        return self._client(ServiceRecordsClient, "ServiceRecords")

    # --- Exchange ---
    @cached_property
    def exchange_contract(self) -> ExchangeClient:
        return self._client(ExchangeClient, "Exchange")

    @cached_property
    def exchange(self) -> Exchange:
        """Cross-scheme exchange and inter-issuer clearing."""
        from ledger.spending.exchange import Exchange

        return Exchange(self)

    # --- end Exchange ---

    @cached_property
    def controls(self) -> Controls:
        """Scheme policy, pause, frozen points and expiry."""
        from ledger.spending.controls import Controls

        return Controls(self)

    @cached_property
    def gifts_contract(self) -> GiftsClient:
        return self._client(GiftsClient, "Gifts")

    @cached_property
    def gifts(self) -> Gifts:
        """Gifts between members and community funds (共同缔造基金)."""
        from ledger.spending.gifts import Gifts

        return Gifts(self)

    @cached_property
    def earning(self) -> Earning:
        """Activities, service records, review and batch issuance."""
        from ledger.earning.records import Earning

        return Earning(self)

    # --- TimeBank ---
    @cached_property
    def timebank_contract(self) -> TimeBankClient:
        from ledger.chain.contracts.timebank import TimeBankClient

        return self._client(TimeBankClient, "TimeBank")

    @cached_property
    def timebank(self) -> TimeBank:
        """The time bank (爱心银行): requests for help paid in hours."""
        from ledger.spending.timebank import TimeBank

        return TimeBank(self)

    @cached_property
    def proxies(self) -> Proxies:
        """Proxies: a family member or community worker recorded as acting for a member."""
        from ledger.identity.proxies import Proxies

        return Proxies(self)

    # --- end TimeBank ---

    @cached_property
    def catalogue_contract(self) -> CatalogueClient:
        return self._client(CatalogueClient, "Catalogue")

    @cached_property
    def catalogue(self) -> Catalogue:
        """The redemption catalogue: items, redemptions and their orders."""
        from ledger.spending.catalogue import Catalogue

        return Catalogue(self)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.resolved_database_url)
        init_db(engine)
        return engine

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.engine, self.settings.vault_key_bytes())

    def operator(self, name: str) -> LocalAccount:
        """The signing account of a named operator from the network file."""
        return accounts.operator(self.network, name)

    def operator_name(self, address: str) -> str | None:
        """The network file's name for `address`, if it is an operator (no key is unlocked)."""
        return self.operators_by_address.get(Web3.to_checksum_address(address))

    @cached_property
    def operators_by_address(self) -> dict[str, str]:
        """Checksummed address -> operator name, for every operator of the network file."""
        return {
            accounts.operator_address(self.network, name): name
            for name in accounts.operator_names(self.network)
        }

    def deploy(self, *, fresh: bool = False) -> deploy.DeployOutcome:
        """Deploy the contracts once (a no-op when the manifest already matches the chain)."""
        outcome = deploy.deploy(self.settings, self.w3, self.sender, self.build, fresh=fresh)
        if outcome.replaced is not None:
            self._set_store_aside(outcome.replaced)
        self.__dict__["manifest"] = outcome.manifest
        for name in (
            "council",
            "members",
            "schemes",
            "points",
            "rules",
            "activities",
            "records",
            "catalogue_contract",
            "timebank_contract",
            "gifts_contract",
        ):
            self.__dict__.pop(name, None)
        return outcome

    def _set_store_aside(self, old_manifest: Path) -> None:
        """A new deployment starts with an empty store: the old one belongs to the old chain."""
        if self.settings.database_url is not None:
            log.warning(
                "a new deployment replaced %s; the database at VPL_DATABASE_URL still holds the old "
                "deployment's members: clear it before registering anyone",
                old_manifest,
            )
            return
        if "engine" in self.__dict__:
            self.engine.dispose()
            for name in ("engine", "vault"):
                self.__dict__.pop(name, None)
        database = self.settings.data_dir / "vpl.db"
        suffix = old_manifest.suffixes[-2] if len(old_manifest.suffixes) >= 2 else ".old"
        for part in ("", "-wal", "-shm"):
            current = database.with_name(database.name + part)
            if current.exists():
                current.rename(database.with_name(f"vpl{suffix}.db{part}"))
        log.warning("the store of the replaced deployment was kept as vpl%s.db", suffix)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()

    # --- members -------------------------------------------------------------------------------

    def register_member(
        self, *, registrar: Signer, address: str, personal: PersonalData
    ) -> Registration:
        """Register a person's account: the vault keeps who they are, the chain only a commitment.

        Repeating a registration that already succeeded returns it unchanged; a person or an address
        that is already registered otherwise is refused before anything is written.
        """
        address = parse_address(address, what="member address")
        key = self.settings.commitment_key_bytes()
        expected = self.manifest.commitment_key_id
        if expected is not None and commitment_key_id(key) != expected:
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
            self._apply_recovery(address, info.successor)
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

    def freeze_member(self, *, registrar: Signer, address: str, reason: int | str) -> TxResult:
        return self.members.freeze(
            registrar, parse_address(address, what="member address"), parse_reason(reason)
        )

    def unfreeze_member(self, *, registrar: Signer, address: str, reason: int | str) -> TxResult:
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

    def _apply_recovery(self, previous: str, successor: str) -> None:
        """Move the vault entry after the council recovered a member on chain (idempotent)."""
        try:
            entry = self.vault.get(previous)
        except RecordNotFound:
            log.warning("recovered member %s has no vault entry", previous)
            return
        if entry.status != "recovered":
            self.vault.relink(previous, successor)

    # --- schemes and balances ------------------------------------------------------------------

    def scheme(self, code_or_id: str | int) -> Scheme:
        """A scheme by code ("VOL") or id."""
        if isinstance(code_or_id, int) or str(code_or_id).isdigit():
            return self.schemes.scheme(int(code_or_id))
        return self.schemes.scheme(self.schemes.scheme_id(str(code_or_id).strip().upper()))

    def add_scheme_call(
        self,
        *,
        code: str,
        name: str,
        unit: str,
        issuer: str,
        unit_value: int | str,
        quota: int | str,
        quota_period: int | str,
        flags: SchemeFlag,
    ) -> Call:
        code = code.strip().upper()
        try:
            taken = self.scheme(code)
        except UnknownScheme:
            pass
        else:
            raise InvalidRequest(
                f"the scheme code {code} is taken by scheme {taken.id} ({taken.name})",
                error="SchemeCodeInUse",
                args={"code": code, "schemeId": taken.id},
            )
        return self.schemes.add_scheme_call(
            code=code,
            name=name,
            unit=unit,
            issuer=parse_address(issuer, what="issuer address"),
            unit_value=parse_amount(unit_value, what="unit value", maximum=MAX_UINT64),
            quota=parse_amount(quota, what="quota"),
            quota_period=parse_amount(quota_period, what="quota period", maximum=MAX_UINT64),
            flags=flags,
        )

    def scheme_supply(self, code_or_id: str | int) -> SchemeSupply:
        s = self.scheme(code_or_id)
        return SchemeSupply(
            total_supply=self.points.total_supply(s.id),
            issued=self.points.issued(s.id),
            burned=self.points.burned(s.id),
            remaining_quota=self.points.remaining_quota(s.id),
            minted=self.points.minted(s.id),
            held=self.points.held_total(s.id),
        )

    def quota_call(
        self, *, scheme: str | int, quota: int | str, quota_period: int | str | None = None
    ) -> Call:
        """Council call: a new quota (and optionally period) for a scheme."""
        s = self.scheme(scheme)
        period = (
            s.quota_period
            if quota_period is None
            else parse_amount(quota_period, what="quota period", maximum=MAX_UINT64)
        )
        return self.schemes.set_quota_call(s.id, parse_amount(quota, what="quota"), period)

    def unit_value_call(
        self, *, scheme: str | int, unit_value: int | str, from_block: int | str | None = None
    ) -> Call:
        """Council call: a scheme's value in thousandths of the city standard unit, in force from
        ``from_block`` (by default 10 blocks from now; it must still be ahead when the proposal
        is executed, or the execution is refused and the proposal stays open)."""
        value = parse_amount(unit_value, what="unit value", maximum=MAX_UINT64)
        block = (
            self.w3.eth.block_number + VALUE_CHANGE_LEAD_BLOCKS
            if from_block is None
            else parse_amount(from_block, what="from block", maximum=MAX_UINT64)
        )
        return self.schemes.set_unit_value_call(self.scheme(scheme).id, value, block)

    def issuer_call(self, *, scheme: str | int, issuer: str) -> Call:
        """Council call: hand a scheme to another issuer."""
        address = parse_address(issuer, what="issuer address")
        return self.schemes.set_issuer_call(self.scheme(scheme).id, address)

    def flags_call(self, *, scheme: str | int, flags: SchemeFlag | str) -> Call:
        """Council call: what members may do with a scheme's points."""
        parsed = SchemeFlag.parse(flags) if isinstance(flags, str) else flags
        return self.schemes.set_flags_call(self.scheme(scheme).id, parsed)

    # --- earning rules -------------------------------------------------------------------------

    def publish_duration_rule(
        self,
        *,
        issuer: Signer,
        scheme: str | int,
        points_per_hour: int | str,
        grades: Mapping[str, int | str | Decimal] | str,
    ) -> DurationRule:
        """A new duration rule version: points = hours x points per hour x grade coefficient.

        Publishing what is already in force is a repeated request: it returns that version.
        """
        s = self.scheme(scheme)
        rate = parse_amount(points_per_hour, what="points per hour", maximum=1_000_000)
        coefficients = parse_grades(grades)
        current = self._current_rule(s.id)
        if (
            isinstance(current, DurationRule)
            and current.points_per_hour == rate
            and list(current.grades.values()) == coefficients
        ):
            return current
        version, _ = self.rules.publish_duration_rule(issuer, s.id, rate, coefficients)
        return self.rules.duration_rule(s.id, version)

    def publish_fixed_rule(
        self, *, issuer: Signer, scheme: str | int, actions: Mapping[str, int | str] | str
    ) -> FixedRule:
        """A new fixed-point rule version: a table of action types and their points.

        Publishing what is already in force is a repeated request: it returns that version.
        """
        s = self.scheme(scheme)
        table = parse_actions(actions)
        current = self._current_rule(s.id)
        if isinstance(current, FixedRule) and current.actions == table:
            return current
        version, _ = self.rules.publish_fixed_rule(issuer, s.id, table)
        return self.rules.fixed_rule(s.id, version)

    def _current_rule(self, scheme_id: int) -> DurationRule | FixedRule | None:
        version = self.rules.current_version(scheme_id)
        return None if version == 0 else self.rule(scheme_id, version)

    def rule(self, scheme: str | int, version: int | None = None) -> DurationRule | FixedRule:
        """A scheme's rule version (the current one by default)."""
        s = self.scheme(scheme)
        if version is None:
            version = self.rules.current_version(s.id)
            if version == 0:
                raise RecordNotFound(
                    f"scheme {s.code} has no earning rules yet; its issuer publishes them with "
                    "`vpl rule duration` or `vpl rule fixed`"
                )
        if self.rules.kind(s.id, version) is RuleKind.DURATION:
            return self.rules.duration_rule(s.id, version)
        return self.rules.fixed_rule(s.id, version)

    def balances(self, address: str) -> list[Balance]:
        """The member's balance in every scheme."""
        address = parse_address(address, what="member address")
        schemes = self.schemes.schemes()
        amounts = self.points.balances(address, [s.id for s in schemes]) if schemes else {}
        return [Balance(scheme=s, amount=amounts[s.id]) for s in schemes]

    # --- roles ---------------------------------------------------------------------------------

    def role_call(
        self, *, role_name: str, account: str, grant: bool, scheme: str | int | None = None
    ) -> Call:
        """The council call granting or revoking a role (scheme roles need the scheme)."""
        spec = role(role_name)
        account = parse_address(account, what="account")
        verb = "grant" if grant else "revoke"
        if spec.per_scheme:
            if scheme is None:
                raise _needs_scheme(spec)
            s = self.scheme(scheme)
            fn = "grantSchemeRole" if grant else "revokeSchemeRole"
            return self.schemes._call(
                fn, s.id, spec.id, account, summary=f"{verb} {spec.name} of {s.code} to {account}"
            )
        client = self._role_contract(spec)
        fn = "grantRole" if grant else "revokeRole"
        return client._call(fn, spec.id, account, summary=f"{verb} {spec.name} to {account}")

    def set_scheme_role(
        self, *, issuer: Signer, role_name: str, account: str, scheme: str | int, grant: bool
    ) -> TxResult:
        """A scheme's issuer names or removes its own staff directly (no council needed)."""
        spec = role(role_name)
        if not spec.per_scheme:
            raise _not_scheme_role(spec)
        s = self.scheme(scheme)
        account = parse_address(account, what="account")
        if grant:
            return self.schemes.grant_scheme_role(issuer, s.id, spec.id, account)
        return self.schemes.revoke_scheme_role(issuer, s.id, spec.id, account)

    def has_role(self, *, role_name: str, account: str, scheme: str | int | None = None) -> bool:
        spec = role(role_name)
        account = parse_address(account, what="account")
        if spec.per_scheme:
            if scheme is None:
                raise _needs_scheme(spec)
            return self.schemes.has_scheme_role(self.scheme(scheme).id, spec.id, account)
        return self._role_contract(spec).has_role(spec.id, account)

    def schemes_with_role(self, *, role_name: str, account: str) -> list[int]:
        """The schemes for which `account` holds the per-scheme role now: the registry's grants
        to it, each checked against the chain's current state (a grant may have been revoked)."""
        spec = role(role_name)
        account = parse_address(account, what="account")
        granted = self.schemes.contract.events.SchemeRoleGranted().get_logs(
            from_block=self.manifest.contracts["SchemeRegistry"].block,
            argument_filters={"role": spec.id, "account": account},
        )
        ids = sorted({int(e["args"]["schemeId"]) for e in granted})
        return [i for i in ids if self.schemes.has_scheme_role(i, spec.id, account)]

    def _role_contract(self, spec: RoleSpec) -> ContractClient:
        clients: dict[str, ContractClient] = {
            "MemberRegistry": self.members,
            "PointsLedger": self.points,
            "SchemeRegistry": self.schemes,
        }
        return clients[spec.contract]

    # --- council -------------------------------------------------------------------------------

    def seat_call(self, *, account: str, add: bool) -> Call:
        """Council call: grant or remove a council seat."""
        account = parse_address(account, what="council member")
        seated = self.council.is_member(account)
        if add and seated:
            raise InvalidRequest(
                f"{account} already has a council seat",
                error="CouncilAlreadyMember",
                args={"account": account},
            )
        if not add and not seated:
            raise InvalidRequest(
                f"{account} has no council seat",
                error="CouncilInvalidMember",
                args={"account": account},
            )
        if add:
            return self.council.add_member_call(account)
        return self.council.remove_member_call(account)

    def threshold_call(self, *, threshold: int | str) -> Call:
        """Council call: how many approvals a proposal needs (1..number of members)."""
        value = parse_amount(threshold, what="threshold")
        seats = len(self.council.members())
        if value > seats:
            raise InvalidRequest(
                f"a threshold of {value} does not fit a council of {seats}",
                error="CouncilInvalidThreshold",
                args={"threshold": value, "members": seats},
            )
        return self.council.set_threshold_call(value)

    def propose(
        self,
        *,
        proposer: Signer,
        calls: Sequence[Call],
        description: str = "",
        check: bool = True,
    ) -> ProposalOutcome:
        """Put calls to the council; the proposer's approval counts.

        With ``check`` each call is first simulated as the council would run it, so a call that
        would fail is refused now rather than leaving a proposal that can never execute. Turn it
        off only for calls that depend on earlier calls of the same proposal.
        """
        if check:
            self.check_calls(calls)
        text = description or "; ".join(c.summary for c in calls)
        same = self._open_proposal_with(calls, text)
        if same is not None:
            log.info("proposal %d already puts these calls to the council", same.proposal.id)
            if proposer.address not in same.approved_by:
                return self.approve(member=proposer, proposal_id=same.proposal.id)
            return same
        proposal_id, result = self.council.propose(proposer, calls, text)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def _open_proposal_with(
        self, calls: Sequence[Call], description: str
    ) -> ProposalOutcome | None:
        """A recent open proposal with exactly these calls and description: a repeated request."""
        targets = tuple(c.target.lower() for c in calls)
        datas = tuple(c.data.lower() for c in calls)
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        count = self.council.proposal_count()
        for pid in range(count, max(count - 20, 0), -1):
            p = self.council.proposal(pid)
            if (
                not (p.executed or p.cancelled or now + 60 > p.deadline)
                and p.description == description
                and tuple(t.lower() for t in p.targets) == targets
                and tuple(d.lower() for d in p.calldatas) == datas
            ):
                return self.proposal(pid)
        return None

    def check_calls(self, calls: Sequence[Call]) -> None:
        """Simulate each call from the council's address; raises the first call's refusal."""
        for call in calls:
            self.sender.call(
                call.target, call.data, sender=self.council.address, context=call.summary
            )

    def revoke_approval(self, *, member: Signer, proposal_id: int) -> ProposalOutcome:
        result = self.council.revoke_approval(member, proposal_id)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def cancel(self, *, member: Signer, proposal_id: int) -> ProposalOutcome:
        """Cancel an open proposal (its proposer only)."""
        result = self.council.cancel(member, proposal_id)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def approve(
        self, *, member: Signer, proposal_id: int, execute: bool = False
    ) -> ProposalOutcome:
        """Approve as a council member; with ``execute``, also run it once enough have approved."""
        result = self.council.approve(member, proposal_id)
        outcome = self.proposal(proposal_id, tx_hash=result.tx_hash)
        if execute and outcome.state == "approved":
            return self.execute(member=member, proposal_id=proposal_id)
        return outcome

    def execute(self, *, member: Signer, proposal_id: int) -> ProposalOutcome:
        result = self.council.execute(member, proposal_id)
        for event in self.members.contract.events.MemberRecovered().process_receipt(
            result.receipt, errors=DISCARD
        ):
            self._apply_recovery(event["args"]["previous"], event["args"]["successor"])
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def govern(
        self, calls: Sequence[Call], description: str = "", *, check: bool = True
    ) -> ProposalOutcome:
        """Development shortcut: propose, approve and execute with the configured council keys."""
        if not self.network.development:
            raise InputError(
                f"approving with every council key is for development networks only; on "
                f"{self.network.name!r} each council member approves with their own key"
            )
        names = self.network.council.members
        outcome = self.propose(
            proposer=self.operator(names[0]), calls=calls, description=description, check=check
        )
        for name in names:
            if outcome.state != "open":
                break
            member = self.operator(name)
            if member.address not in outcome.approved_by:
                outcome = self.approve(member=member, proposal_id=outcome.proposal.id)
        return self.execute(member=self.operator(names[0]), proposal_id=outcome.proposal.id)

    def proposals(self, *, include_closed: bool = False, last: int = 200) -> list[ProposalOutcome]:
        """Proposals among the `last` made, newest first (open ones only unless include_closed)."""
        out = []
        count = self.council.proposal_count()
        for pid in range(count, max(count - last, 0), -1):
            outcome = self.proposal(pid)
            if include_closed or outcome.state in ("open", "approved"):
                out.append(outcome)
        return out

    def proposal(self, proposal_id: int, *, tx_hash: str | None = None) -> ProposalOutcome:
        """A proposal with its state, threshold and who has approved it."""
        proposal = self.council.proposal(proposal_id)
        threshold = self.council.threshold()
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        approved = tuple(
            m for m in self.council.members() if self.council.has_approved(proposal_id, m)
        )
        return ProposalOutcome(
            proposal=proposal,
            state=proposal.state(threshold, now),
            threshold=threshold,
            approved_by=approved,
            tx_hash=tx_hash,
        )


def _needs_scheme(spec: RoleSpec) -> InputError:
    return InputError(f"the {spec.name} role belongs to a scheme: name it with --scheme")


def _not_scheme_role(spec: RoleSpec) -> InputError:
    return InputError(
        f"{spec.name} is a council-granted role, not a scheme role; use a council proposal"
    )
