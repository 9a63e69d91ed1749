"""Chain nodes on this machine: the local ganache or anvil node of a development network.

* ``local``: ``LocalNode``, started, stopped and inspected;
* ``files``: what it runs and keeps in its directory (binary, command line, state, pid file);
* ``probe``: what answers at a JSON-RPC URL (chain id, block, client), and waiting for it;
* ``host``: this machine's processes and ports (alive, stopped with their group, free, taken).

The go-ethereum validator networks are ``ledger.chain.validators``.
"""

from ledger.chain.node.local import LocalNode, NodeStatus

__all__ = ["LocalNode", "NodeStatus"]
