"""Errors of the chain below the contracts: building them, the nodes, requests and transactions,
the deployment, and the event index that follows the chain."""

from __future__ import annotations

from ledger.errors.base import LedgerError

# --- build and node ----------------------------------------------------------------------------


class BuildError(LedgerError):
    code = "build_error"


class NodeError(LedgerError):
    code = "node_error"


class NodeAlreadyRunning(NodeError):
    code = "node_already_running"


class NodeNotRunning(NodeError):
    code = "node_not_running"


class StaleNode(NodeError):
    code = "stale_node"


class WrongChain(NodeError):
    """The node answers with another chain id than the network file's: another network's node."""

    code = "wrong_chain"


# --- chain -------------------------------------------------------------------------------------


class ChainError(LedgerError):
    code = "chain_error"


class RetryableChainError(ChainError):
    """The request may not have reached the node; sending the same signed bytes again is safe."""

    code = "chain_unavailable"


class TransactionFailed(ChainError):
    code = "transaction_failed"


# --- deployment --------------------------------------------------------------------------------


class DeploymentError(LedgerError):
    code = "deployment_error"


class NotDeployed(DeploymentError):
    code = "not_deployed"


class ForeignCode(DeploymentError):
    code = "foreign_code"


# --- event index -------------------------------------------------------------------------------


class IndexerError(LedgerError):
    """The event index could not follow the chain or answer a query; not retryable as it is."""

    code = "indexer_error"


class RetryableIndexerError(IndexerError):
    """The chain changed while a sync read it, or the node did not answer: sync again."""

    code = "indexer_retry"


class ReorgTooDeep(IndexerError):
    code = "reorg_too_deep"


class IndexMismatch(IndexerError):
    code = "index_mismatch"


class IndexBehind(IndexerError):
    """A query about blocks the index has not reached; ``details`` say the indexed block, the
    chain head seen at the last sync and how many blocks behind it is."""

    code = "index_behind"
