"""``Ledger``: the chain connection, the contract clients and the off-chain store, built from Settings.

Everything the CLI and the API do goes through here; each operation is keyword-only, checks its
input before anything is written, and is safe to run again after an interruption.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, Generic, ParamSpec, TypeVar, overload

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from web3 import Web3

from ledger.chain import accounts, compiler, deploy
from ledger.chain.connection import connect
from ledger.chain.contracts import (
    ActivitiesClient,
    CatalogueClient,
    ContractClient,
    CouncilClient,
    EarningRulesClient,
    GiftsClient,
    MemberRegistryClient,
    PointsLedgerClient,
    SchemeRegistryClient,
    ServiceRecordsClient,
)
from ledger.chain.contracts.exchange import ExchangeClient
from ledger.chain.revert import RevertDecoder
from ledger.chain.roles import role_names_by_id
from ledger.chain.tx import TxSender
from ledger.config import NetworkConfig, Settings
from ledger.governance.council import Governance
from ledger.governance.roles import Roles
from ledger.governance.rules import RuleBook
from ledger.governance.schemes import SchemeAdmin
from ledger.identity.members import Membership
from ledger.store import (
    Vault,
    init_db,
    make_engine,
)

if TYPE_CHECKING:
    from ledger.chain.contracts.timebank import TimeBankClient
    from ledger.earning.service import Earning
    from ledger.identity.proxies import Proxies
    from ledger.spending.catalogue import Catalogue
    from ledger.spending.controls import Controls
    from ledger.spending.exchange import Exchange
    from ledger.spending.gifts import Gifts
    from ledger.spending.timebank import TimeBank

log = logging.getLogger(__name__)
C = TypeVar("C", bound=ContractClient)
#: What a new deployment leaves as it was: the settings, the connection, the build and the store.
_KEPT_ON_DEPLOY = frozenset(
    (
        "settings",
        "network",
        "w3",
        "build",
        "decoder",
        "sender",
        "manifest",
        "engine",
        "vault",
        "operators_by_address",
    )
)
S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


class Delegate(Generic[S, P, R]):
    """A method of the façade that is a service's own: ``Ledger.x`` is ``ledger.<attr>.x``, with
    the service method's signature (so the type checker sees it whole)."""

    def __init__(self, attr: str, method: Callable[Concatenate[S, P], R]) -> None:
        self.attr = attr
        self.method = method

    @overload
    def __get__(self, ledger: None, owner: type | None = None) -> Delegate[S, P, R]: ...

    @overload
    def __get__(self, ledger: object, owner: type | None = None) -> Callable[P, R]: ...

    def __get__(
        self, ledger: object | None, owner: type | None = None
    ) -> Delegate[S, P, R] | Callable[P, R]:
        if ledger is None:  # looked up on the class itself (introspection, monkeypatch)
            return self
        return partial(self.method, getattr(ledger, self.attr))


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
        """Activities and tasks, service records, their review and limits, refused attempts."""
        from ledger.earning.service import Earning

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
        init_db(engine, upgrade=self.settings.database_auto_upgrade)
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
        # every contract client and service was built for the old deployment's addresses
        for name in [n for n in self.__dict__ if n not in _KEPT_ON_DEPLOY]:
            del self.__dict__[name]
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

    # --- services (each built from the parts it needs) ---------------------------------------

    @cached_property
    def scheme_admin(self) -> SchemeAdmin:
        """Schemes by code or id, the council calls that change them, supply and balances."""
        return SchemeAdmin(self.schemes, self.points, self.w3)

    @cached_property
    def rule_book(self) -> RuleBook:
        """Schemes' earning rules, published by their issuers."""
        return RuleBook(self.rules, self.scheme_admin.scheme)

    @cached_property
    def roles(self) -> Roles:
        """Grants, revocations and checks of roles."""
        return Roles(
            self.members,
            self.points,
            self.schemes,
            self.scheme_admin.scheme,
            self.manifest.contracts["SchemeRegistry"].block,
        )

    @cached_property
    def governance(self) -> Governance:
        """The council's proposals."""
        return Governance(
            self.council,
            self.sender,
            self.w3,
            self.network,
            self.operator,
            self.membership.follow_recoveries,
        )

    @cached_property
    def membership(self) -> Membership:
        """Registration, personal data, freezes and recovery of members."""
        return Membership(
            self.members,
            self.vault,
            self.engine,
            self.settings.commitment_key_bytes,
            self.manifest.commitment_key_id,
            self.roles.has_role,
        )

    # --- what the CLI and the API call: each is the named service's own method ---------------

    register_member = Delegate("membership", Membership.register)
    member = Delegate("membership", Membership.member)
    personal_data = Delegate("membership", Membership.personal_data)
    reveal_personal_data = Delegate("membership", Membership.reveal_personal_data)
    freeze_member = Delegate("membership", Membership.freeze)
    unfreeze_member = Delegate("membership", Membership.unfreeze)
    recovery_call = Delegate("membership", Membership.recovery_call)

    scheme = Delegate("scheme_admin", SchemeAdmin.scheme)
    scheme_code = Delegate("scheme_admin", SchemeAdmin.scheme_code)
    add_scheme_call = Delegate("scheme_admin", SchemeAdmin.add_scheme_call)
    scheme_supply = Delegate("scheme_admin", SchemeAdmin.supply)
    quota_call = Delegate("scheme_admin", SchemeAdmin.quota_call)
    unit_value_call = Delegate("scheme_admin", SchemeAdmin.unit_value_call)
    issuer_call = Delegate("scheme_admin", SchemeAdmin.issuer_call)
    flags_call = Delegate("scheme_admin", SchemeAdmin.flags_call)
    balances = Delegate("scheme_admin", SchemeAdmin.balances)

    publish_duration_rule = Delegate("rule_book", RuleBook.publish_duration_rule)
    publish_fixed_rule = Delegate("rule_book", RuleBook.publish_fixed_rule)
    rule = Delegate("rule_book", RuleBook.rule)

    role_call = Delegate("roles", Roles.role_call)
    set_scheme_role = Delegate("roles", Roles.set_scheme_role)
    has_role = Delegate("roles", Roles.has_role)
    schemes_with_role = Delegate("roles", Roles.schemes_with_role)

    seat_call = Delegate("governance", Governance.seat_call)
    threshold_call = Delegate("governance", Governance.threshold_call)
    propose = Delegate("governance", Governance.propose)
    check_calls = Delegate("governance", Governance.check_calls)
    revoke_approval = Delegate("governance", Governance.revoke_approval)
    cancel = Delegate("governance", Governance.cancel)
    approve = Delegate("governance", Governance.approve)
    execute = Delegate("governance", Governance.execute)
    govern = Delegate("governance", Governance.govern)
    proposals = Delegate("governance", Governance.proposals)
    proposal = Delegate("governance", Governance.proposal)
