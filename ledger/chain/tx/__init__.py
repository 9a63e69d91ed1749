"""The only way a transaction is signed, sent and confirmed: ``TxSender`` and what it gives back.

Many transactions can be in flight at once (``submit`` then ``wait_all``): nonces are assigned
here, the receipts of every outstanding transaction are asked for in one JSON-RPC batch per poll,
and a transaction the node has lost (a node that went down before passing it on) is sent again as
the same signed bytes.

* ``sender``: ``TxSender``, simulate, sign with the signer's next nonce, send, wait;
* ``rpc``: the node's raw answers, its refusals decoded alike across nodes;
* ``pool``: signed bytes sent exactly once, a full transaction pool waited out;
* ``nonces``: each signer's nonces, and the transactions in flight;
* ``lost``: transactions a node that went down lost, sent again, and nonce gaps filled;
* ``receipts``: ``TxResult`` and ``Sent``; many transactions awaited at once, confirmations,
  mined reverts decoded.
"""

from ledger.chain.tx.receipts import Sent, TxResult, created_address
from ledger.chain.tx.sender import Calldata, Delegated, Signer, TxSender

__all__ = ["Calldata", "Delegated", "Sent", "Signer", "TxResult", "TxSender", "created_address"]
