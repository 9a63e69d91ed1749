"""Relayed writes: members and staff act without ever holding a native coin.

Every contract trusts the deployed ``Forwarder`` (OpenZeppelin 5.0.2 ``ERC2771Forwarder``, EIP-712
domain "VolunteerPointsLedger" version "1"). A signer signs a ``ForwardRequest`` (from, to, value,
gas, nonce, deadline, data) for this chain and this forwarder; the ``relayer`` operator sends it
and pays; the target contract sees the signer as the sender. Requests that arrive while a relayed
transaction is on its way go out together in the next (``batch``: one ``executeBatch``, each
request standing on its own, each caller answered with its own events or its own refusal).

Two kinds of signer plug into ``TxSender.send`` (``ledger.chain.tx.Delegated``), so every ledger
operation works with either:

* ``KeySigner``: a key unlocked here (a custodial wallet) signs the request itself;
* ``ClientSigner``: the person signs on their own device. Without an authorization it simulates the
  call as the signer (a refusal is raised with the contract's reason before anything is signed)
  and raises ``SignatureRequired`` with the typed data to sign; given the signature, nonce,
  deadline and gas it rebuilds exactly that request and relays it.

Submitting the same signed request twice never executes it twice: the forwarder consumes the nonce,
and ``Relay.submit`` returns the transaction that already executed it, marked ``replayed``, but only
after reading that transaction's input and finding exactly this request in it (signer, target, data,
value, gas, deadline, and the nonce from its event). A request whose nonce another request used is
refused with ``StaleAuthorization`` (sign again), never answered with the other request's result.

One signer's requests are relayed one at a time in this process (a lock per signer around the
nonce check, the send and the receipt), so of two requests prepared with the same nonce exactly one
runs and the other is refused; a custodial signer prepares, signs and sends under that lock, so its
concurrent writes all run, in nonce order. Another process can still win a race for the nonce: the
forwarder then refuses the loser on chain, and ``submit`` reads the chain again to say which
request used the nonce (or, when the target refused the call, why, by simulating it as the signer).

Its parts: ``request`` (the EIP-712 request and its fields), ``forwarder`` (``Relay``, over the
narrow ``RelayParts`` it needs of a ledger), ``batch`` (``Batcher``, the group commit) and
``signers`` (``KeySigner``, ``ClientSigner``).
"""

from ledger.chain.relay.forwarder import Relay, RelayParts
from ledger.chain.relay.request import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    FORWARD_REQUEST_TYPES,
    Authorization,
    ForwardRequest,
)
from ledger.chain.relay.signers import ClientSigner, KeySigner

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "FORWARD_REQUEST_TYPES",
    "Authorization",
    "ClientSigner",
    "ForwardRequest",
    "KeySigner",
    "Relay",
    "RelayParts",
]
