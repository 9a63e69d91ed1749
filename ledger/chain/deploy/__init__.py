"""Deployment and the deployment manifest.

``deploy`` puts the contracts on a chain once and writes a manifest (chain id, genesis hash,
addresses, deploy block and its hash, artifact and code hashes) under
``hardhat-free-config/deployments/``. Running it again is a no-op when the manifest matches the
chain. ``verify`` is what every client runs before it trusts a manifest: it refuses another chain
(chain id, the hash of the deployment block) and a chain whose code at the manifest's addresses is
not the code that was deployed there.

The genesis hash is recorded but does not identify the chain: anvil (1.7) makes a new genesis
block each time it starts and writes every one of them into its state file, in no set order, so
after a few restarts ``eth_getBlockByNumber(0)`` names one of them at random, though the chain's
history, code and balances are intact. The deployment block is the chain's own: its hash covers
its parent's, so it proves the history up to the deployment, and the code hashes prove the rest.

Its parts: ``manifest`` (what a deployment holds, its manifest file, ``verify``) and ``rollout``
(``deploy``: created in rounds, wired, handed to the council, resumed after an interruption).
"""

from ledger.chain.deploy.manifest import (
    ANCHOR_ROLE,
    ANCHORER,
    CONTRACTS,
    DEFAULT_ADMIN_ROLE,
    GOVERNED,
    ISSUANCE_ROLE,
    SPENDING_CONTRACTS,
    SPENDING_ROLE,
    DeployedContract,
    Manifest,
    load_manifest,
    manifest_path,
    verify,
)
from ledger.chain.deploy.rollout import DeployOutcome, deploy

__all__ = [
    "ANCHORER",
    "ANCHOR_ROLE",
    "CONTRACTS",
    "DEFAULT_ADMIN_ROLE",
    "GOVERNED",
    "ISSUANCE_ROLE",
    "SPENDING_CONTRACTS",
    "SPENDING_ROLE",
    "DeployOutcome",
    "DeployedContract",
    "Manifest",
    "deploy",
    "load_manifest",
    "manifest_path",
    "verify",
]
