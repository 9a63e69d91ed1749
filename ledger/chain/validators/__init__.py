"""A validator network on this machine: several go-ethereum nodes sealing blocks together.

The brief's chain is run by several known parties, each keeping the ledger and verifying it. This
package runs that shape on loopback: N validator nodes of go-ethereum v1.13.15, the last release
whose clique proof-of-authority engine seals blocks (clique left geth in 1.14; Hyperledger Besu,
with QBFT, is in no package registry reachable from the build machines). Clique signers take turns
sealing a block every ``period_seconds``; with N signers, any ``floor(N/2) + 1`` keep sealing, so
3 validators tolerate the loss of one.

Its parts:

* ``layout``: each validator's number, key, ports and directory; the geth binary (built from the
  Go module proxy once, cached under the data directory keyed by version); the genesis naming the
  validators as the clique signers; each node's key file and command line;
* ``network``: ``ValidatorNetwork``, the nodes started, peered explicitly (``admin_addPeer``
  between every pair, as a permissioned network is: no node finds or accepts strangers), stopped
  and inspected.

Clique refuses the Shanghai fork, so this chain runs the London/Paris EVM: the contracts are
compiled for ``evmVersion: paris`` (``hardhat-free-config/compiler.json``), which ganache and anvil
run as well.
"""

from ledger.chain.validators.layout import Validator, ValidatorLayout, throwaway_settings
from ledger.chain.validators.network import ValidatorNetwork, ValidatorStatus

__all__ = [
    "Validator",
    "ValidatorLayout",
    "ValidatorNetwork",
    "ValidatorStatus",
    "throwaway_settings",
]
