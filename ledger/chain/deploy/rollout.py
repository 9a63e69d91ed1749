"""Putting the contracts on a chain once: created in rounds, each round's transactions in flight
together, wired, handed to the council, and recorded in the manifest; an interrupted run is
resumed, a second run against the same chain is a no-op."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eth_abi import encode as abi_encode
from eth_utils import keccak
from pydantic import BaseModel, ValidationError
from web3 import Web3
from web3.contract import Contract

from ledger.chain import accounts
from ledger.chain.compiler import Build
from ledger.chain.deploy.manifest import (
    ANCHOR_ROLE,
    ANCHORER,
    DEFAULT_ADMIN_ROLE,
    GOVERNED,
    ISSUANCE_ROLE,
    SPENDING_CONTRACTS,
    SPENDING_ROLE,
    DeployedContract,
    Manifest,
    block_hash,
    load_manifest,
    manifest_path,
    other_chain,
    verify,
)
from ledger.chain.tx import TxSender, created_address
from ledger.config import Settings
from ledger.errors import ChainError, DeploymentError, ForeignCode
from ledger.files import write_text_atomically
from ledger.real_name import commitment_key_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployOutcome:
    manifest: Manifest
    created: bool
    path: Path
    #: Where the manifest of a replaced deployment (--fresh, or a reset chain) was kept.
    replaced: Path | None = None


def _set_aside(path: Path, why: str) -> Path:
    """Rename `path` to a name of its own (never over an earlier one)."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    for n in range(1000):
        backup = path.with_suffix(f".{why}-{stamp}{f'-{n}' if n else ''}.json")
        try:
            os.link(path, backup)
        except FileExistsError:
            continue
        path.unlink()
        return backup
    raise DeploymentError(f"cannot set {path} aside: too many earlier copies beside it")


def _was_reset(w3: Web3, manifest: Manifest) -> bool:
    """A development chain started anew: not the deployment's chain, no code at any address."""
    return other_chain(w3, manifest) is not None and not any(
        w3.eth.get_code(Web3.to_checksum_address(c.address)) for c in manifest.contracts.values()
    )


def deploy(
    settings: Settings, w3: Web3, sender: TxSender, build: Build, *, fresh: bool = False
) -> DeployOutcome:
    """Deploy once; a second run against the same chain is a no-op."""
    path = manifest_path(settings)
    if path.exists():
        if fresh:
            if not settings.network_config.development:
                raise DeploymentError("--fresh is refused outside development networks")
            backup = _set_aside(path, "replaced")
            log.info("moved the old manifest to %s", backup)
        else:
            manifest = load_manifest(settings)
            try:
                verify(w3, manifest, build)
            except ForeignCode:
                if not (settings.network_config.development and _was_reset(w3, manifest)):
                    raise
                backup = _set_aside(path, "reset")
                log.warning(
                    "the development chain was reset since the manifest was written (none of its "
                    "contracts is there); deploying afresh, old manifest kept as %s",
                    backup,
                )
            else:
                return DeployOutcome(manifest=manifest, created=False, path=path)
    else:
        backup = None
    manifest = _deploy_all(settings, w3, sender, build)
    write_text_atomically(path, manifest.model_dump_json(indent=2) + "\n")
    path.with_suffix(".partial.json").unlink(missing_ok=True)
    return DeployOutcome(manifest=manifest, created=True, path=path, replaced=backup)


class _Progress(BaseModel):
    """What an interrupted deployment had already put on chain (``<manifest>.partial.json``)."""

    #: The hash of the Forwarder's block: the chain the deployment was made on (see ``verify``).
    deploy_block_hash: str
    build_hash: str
    contracts: dict[str, DeployedContract]


def _resumable(w3: Web3, progress_path: Path, build: Build) -> _Progress | None:
    """What an interrupted deployment of this build on this chain left, still in place."""
    if not progress_path.exists():
        return None
    try:
        progress = _Progress.model_validate_json(progress_path.read_text(encoding="utf-8"))
    except ValidationError:
        return None
    forwarder = progress.contracts.get("Forwarder")
    if progress.build_hash != build.build_hash or forwarder is None:
        return None
    if block_hash(w3, forwarder.block) != progress.deploy_block_hash:
        return None
    kept = {
        name: c
        for name, c in progress.contracts.items()
        if "0x" + keccak(w3.eth.get_code(Web3.to_checksum_address(c.address))).hex() == c.codehash
    }
    if kept:
        log.warning("resuming an interrupted deployment: %s already deployed", ", ".join(kept))
    return progress.model_copy(update={"contracts": kept})


def _deploy_all(settings: Settings, w3: Web3, sender: TxSender, build: Build) -> Manifest:
    """Deploy, wire and hand over to the council; resumes an interrupted run of the same build.

    The contracts are created in four rounds, each round's transactions in flight together (a
    round's constructors name contracts of earlier rounds only), then the wiring is sent all at
    once: on a validator network that is a few blocks, not two per transaction. Each contract
    created is recorded in ``<manifest>.partial.json`` when its round is mined, and each wiring
    step first reads whether it is already done, so running deploy again after a crash finishes
    the job instead of leaving the deployer as admin or deploying twice.
    """
    net = settings.network_config
    deployer = accounts.operator(net, "deployer")
    council_members = [accounts.operator_address(net, name) for name in net.council.members]
    genesis = block_hash(w3, 0) or ""
    progress_path = manifest_path(settings).with_suffix(".partial.json")
    resumed = _resumable(w3, progress_path, build)
    deployed = dict(resumed.contracts) if resumed is not None else {}
    deploy_block_hash = resumed.deploy_block_hash if resumed is not None else ""

    Spec = tuple[str, list[str], list[object]]

    def create(*specs: Spec) -> None:
        """Create the contracts of `specs` not created yet, all in flight at once (their
        arguments name contracts of earlier calls only); each is recorded as soon as it is."""
        nonlocal deploy_block_hash
        todo = [(name, types, args) for name, types, args in specs if name not in deployed]
        sent = [
            sender.submit_create(
                deployer,
                build.get(name).bytecode + abi_encode(types, args).hex(),
                context=f"deploy {name}",
            )
            for name, types, args in todo
        ]
        failed: list[ChainError] = []
        for (name, _, _), outcome in zip(todo, sender.wait_all(sent), strict=True):
            if isinstance(outcome, ChainError):
                failed.append(outcome)
                continue
            address = created_address(outcome, context=f"deploy {name}")
            code = w3.eth.get_code(Web3.to_checksum_address(address))
            deployed[name] = DeployedContract(
                address=address,
                codehash="0x" + keccak(code).hex(),
                artifact_hash=build.get(name).artifact_hash,
                tx_hash=outcome.tx_hash,
                block=outcome.block_number,
            )
            log.info("deployed %s at %s", name, address)
            if name == "Forwarder":
                deploy_block_hash = outcome.block_hash
        progress = _Progress(
            deploy_block_hash=deploy_block_hash, build_hash=build.build_hash, contracts=deployed
        )
        write_text_atomically(progress_path, progress.model_dump_json(indent=2))
        if failed:
            raise failed[0]

    def address(name: str) -> str:
        return deployed[name].address

    admin = deployer.address
    create(("Forwarder", [], []))
    forwarder = address("Forwarder")
    create(
        (
            "Council",
            ["address[]", "uint256", "uint64", "address"],
            [council_members, net.council.threshold, net.council.proposal_lifetime_seconds,
             forwarder],
        ),
        ("SchemeRegistry", ["address", "address"], [admin, forwarder]),
        ("MemberRegistry", ["address", "address"], [admin, forwarder]),
        ("StoreAnchors", ["address", "address"], [admin, forwarder]),
    )  # fmt: skip
    schemes, members = address("SchemeRegistry"), address("MemberRegistry")
    create(
        (
            "PointsLedger",
            ["address", "address", "address", "address", "string"],
            [admin, forwarder, members, schemes, net.metadata_uri],
        ),
        ("EarningRules", ["address", "address", "address"], [admin, forwarder, schemes]),
        (
            "Activities",
            ["address", "address", "address", "address"],
            [admin, forwarder, schemes, members],
        ),
    )
    points, rules, activities = (
        address("PointsLedger"),
        address("EarningRules"),
        address("Activities"),
    )
    # The spending contracts all take (admin, forwarder, schemes, members, points).
    spending: list[Spec] = [
        (name, ["address"] * 5, [admin, forwarder, schemes, members, points])
        for name in SPENDING_CONTRACTS
    ]
    create(
        (
            "ServiceRecords",
            ["address"] * 7,
            [admin, forwarder, schemes, members, points, rules, activities],
        ),
        *spending,
    )
    records = address("ServiceRecords")
    spenders = [address(name) for name in SPENDING_CONTRACTS]
    council = address("Council")

    def contract(name: str) -> Contract:
        return w3.eth.contract(
            address=Web3.to_checksum_address(deployed[name].address), abi=list(build.get(name).abi)
        )

    # the wiring not done yet (each step reads whether it is), sent all at once in this order
    wiring: list[tuple[str, str, tuple[object, ...]]] = []
    if contract("MemberRegistry").functions.ledger().call().lower() != points.lower():
        wiring.append(("MemberRegistry", "linkLedger", (points,)))
    if int(contract("Activities").functions.records().call(), 16) == 0:
        wiring.append(("Activities", "linkRecords", (records,)))
    if not contract("PointsLedger").functions.hasRole(ISSUANCE_ROLE, records).call():
        wiring.append(("PointsLedger", "grantRole", (ISSUANCE_ROLE, records)))
    for spender in spenders:
        if not contract("PointsLedger").functions.hasRole(SPENDING_ROLE, spender).call():
            wiring.append(("PointsLedger", "grantRole", (SPENDING_ROLE, spender)))
    if ANCHORER in net.operators:
        anchorer = accounts.operator_address(net, ANCHORER)
        if not contract("StoreAnchors").functions.hasRole(ANCHOR_ROLE, anchorer).call():
            wiring.append(("StoreAnchors", "grantRole", (ANCHOR_ROLE, anchorer)))
    for name in GOVERNED:
        has_role = contract(name).functions.hasRole
        if not has_role(DEFAULT_ADMIN_ROLE, council).call():
            wiring.append((name, "grantRole", (DEFAULT_ADMIN_ROLE, council)))
        if has_role(DEFAULT_ADMIN_ROLE, admin).call():
            wiring.append((name, "renounceRole", (DEFAULT_ADMIN_ROLE, admin)))
    sent = [
        sender.submit(deployer, address(name), contract(name).encode_abi(fn, args=list(args)),
                      context=fn)
        for name, fn, args in wiring
    ]  # fmt: skip
    for outcome in sender.wait_all(sent):
        if isinstance(outcome, ChainError):
            raise outcome

    return Manifest(
        network=net.name,
        chain_id=net.chain_id,
        genesis_hash=genesis,
        deployer=deployer.address,
        deploy_block=deployed["Forwarder"].block,
        deploy_block_hash=deploy_block_hash,
        deployed_at=datetime.now(UTC),
        build_hash=build.build_hash,
        compiler_version=build.compiler_version,
        council_members=council_members,
        council_threshold=net.council.threshold,
        commitment_key_id=commitment_key_id(settings.commitment_key_bytes()),
        contracts=deployed,
    )
