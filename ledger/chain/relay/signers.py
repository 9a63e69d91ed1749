"""The two kinds of relayed signer that plug into ``TxSender.send`` (``ledger.chain.tx.Delegated``):
a key unlocked here (``KeySigner``, a custodial wallet) and a person who signs on their own device
(``ClientSigner``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from ledger.chain.relay.forwarder import Relay
from ledger.chain.relay.request import DEFAULT_VALIDITY_SECONDS, Authorization, ForwardRequest
from ledger.chain.tx import TxResult, TxSender
from ledger.errors import InputError, SignatureRequired, StaleAuthorization

#: How often a custodial signer signs again when another process used the nonce it signed with.
RESIGN_ATTEMPTS = 3


@dataclass
class KeySigner:
    """A key unlocked here (a custodial wallet) whose writes are relayed.

    ``journal`` (optional) is told every signed request before it is sent, and ``replay`` offers
    one signed earlier for the same call: a retry after a crash re-sends the same request instead
    of signing a second one. ``replayed`` says whether the last write found its request already run.
    """

    account: LocalAccount
    relay: Relay
    journal: Callable[[ForwardRequest, bytes], None] | None = None
    replay: tuple[ForwardRequest, bytes] | None = None
    replayed: bool = False

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send_through(self, sender: TxSender, to: str, data: str, *, context: str) -> TxResult:
        # Prepared, signed and sent under the signer's relay lock: concurrent writes of one
        # custodial wallet take consecutive nonces and all run.
        with self.relay.serialized(self.address):
            if self.replay is not None:
                request, signature = self.replay
                self.replay = None
                if request.to == to_checksum_address(to) and request.data == bytes(HexBytes(data)):
                    try:
                        return self._submitted(request, signature, context)
                    except StaleAuthorization:
                        pass  # its nonce went to another request: it can never run; sign anew
            for attempt in range(1, RESIGN_ATTEMPTS + 1):
                request = self.relay.prepare(self.address, to, data)
                signature = self.relay.sign(self.account, request)
                if self.journal is not None:
                    self.journal(request, signature)
                try:
                    return self._submitted(request, signature, context)
                except StaleAuthorization:
                    # Another process relayed a request of this wallet between prepare and send;
                    # this one can never run, so signing again cannot write twice.
                    if attempt == RESIGN_ATTEMPTS:
                        raise
        raise AssertionError("unreachable")

    def _submitted(self, request: ForwardRequest, signature: bytes, context: str) -> TxResult:
        result = self.relay.submit(request, signature, context=context)
        self.replayed = result.replayed
        return result


@dataclass
class ClientSigner:
    """A person who signs on their own device; one authorization covers one write."""

    who: str
    relay: Relay
    authorization: Authorization | None = None
    validity: int = DEFAULT_VALIDITY_SECONDS
    used: bool = False
    replayed: bool = False

    @property
    def address(self) -> str:
        return to_checksum_address(self.who)

    def send_through(self, sender: TxSender, to: str, data: str, *, context: str) -> TxResult:
        if self.authorization is None:
            request = self.relay.prepare(self.address, to, data, validity=self.validity)
            raise SignatureRequired(
                f"sign this request ({context or 'write'}) with {self.address} and send it again "
                "with the signature, nonce, deadline and gas",
                typed_data=self.relay.typed_data(request),
            )
        if self.used:
            raise InputError("one signature authorizes one write; this action needs another")
        self.used = True
        auth = self.authorization
        request = ForwardRequest(
            sender=self.address,
            to=to_checksum_address(to),
            data=bytes(HexBytes(data)),
            nonce=auth.nonce,
            deadline=auth.deadline,
            gas=auth.gas,
        )
        result = self.relay.submit(request, auth.signature, context=context)
        self.replayed = result.replayed
        return result
