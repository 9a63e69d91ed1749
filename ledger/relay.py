"""Relayed writes: members and staff act without ever holding a native coin.

Every contract trusts the deployed ``Forwarder`` (OpenZeppelin 5.0.2 ``ERC2771Forwarder``, EIP-712
domain "VolunteerPointsLedger" version "1"). A signer signs a ``ForwardRequest`` (from, to, value,
gas, nonce, deadline, data) for this chain and this forwarder; the ``relayer`` operator sends it
with ``execute`` and pays; the target contract sees the signer as the sender.

Two kinds of signer plug into ``TxSender.send`` (``ledger.tx.Delegated``), so every ledger
operation works with either:

* ``KeySigner``: a key unlocked here (a custodial wallet) signs the request itself;
* ``ClientSigner``: the person signs on their own device. Without an authorization it simulates the
  call as the signer (a refusal is raised with the contract's reason before anything is signed)
  and raises ``SignatureRequired`` with the typed data to sign; given the signature, nonce,
  deadline and gas it rebuilds exactly that request and relays it.

Submitting the same signed request twice never executes it twice: the forwarder consumes the nonce,
and ``Relay.submit`` returns the transaction that already executed it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from ledger.errors import (
    AuthorizationExpired,
    InputError,
    SignatureMismatch,
    SignatureRequired,
    StaleAuthorization,
)
from ledger.tx import TxResult, TxSender

if TYPE_CHECKING:
    from ledger.ledger import Ledger

DOMAIN_NAME = "VolunteerPointsLedger"
DOMAIN_VERSION = "1"
FORWARD_REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "ForwardRequest": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "gas", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint48"},
        {"name": "data", "type": "bytes"},
    ]
}
EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
#: How long a prepared request stays valid for signing, by default.
DEFAULT_VALIDITY_SECONDS = 600
MAX_VALIDITY_SECONDS = 86_400
MAX_REQUEST_GAS = 10_000_000


@dataclass(frozen=True)
class ForwardRequest:
    """What a signer signs (EIP-712 ``ForwardRequest``) and the relayer submits."""

    sender: str
    to: str
    data: bytes
    nonce: int
    deadline: int
    gas: int
    value: int = 0

    def message(self) -> dict[str, Any]:
        return {
            "from": self.sender,
            "to": self.to,
            "value": self.value,
            "gas": self.gas,
            "nonce": self.nonce,
            "deadline": self.deadline,
            "data": self.data,
        }

    def struct(self, signature: bytes) -> tuple[Any, ...]:
        """``ForwardRequestData(from, to, value, gas, deadline, data, signature)``."""
        return (
            self.sender,
            self.to,
            self.value,
            self.gas,
            self.deadline,
            self.data,
            signature,
        )


@dataclass(frozen=True)
class Authorization:
    """A signer's answer to a ``SignatureRequired``: the values they signed and the signature."""

    nonce: int
    deadline: int
    gas: int
    signature: bytes


class Relay:
    """The forwarder of one ``Ledger`` and the operator that pays for relayed requests."""

    def __init__(self, ledger: Ledger, *, relayer: str = "relayer") -> None:
        self.ledger = ledger
        self.relayer_name = relayer

    @cached_property
    def forwarder(self) -> Any:
        return self.ledger.w3.eth.contract(
            address=to_checksum_address(self.ledger.manifest.address("Forwarder")),
            abi=list(self.ledger.build.get("Forwarder").abi),
        )

    @cached_property
    def relayer(self) -> LocalAccount:
        return self.ledger.operator(self.relayer_name)

    @property
    def sender(self) -> TxSender:
        return self.ledger.sender

    def domain(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.ledger.network.chain_id,
            "verifyingContract": self.forwarder.address,
        }

    def nonce(self, address: str) -> int:
        return int(self.forwarder.functions.nonces(to_checksum_address(address)).call())

    def now(self) -> int:
        """The chain's clock (deadlines are checked against block time, not this machine's)."""
        return int(self.ledger.w3.eth.get_block("latest")["timestamp"])

    def prepare(
        self, sender: str, to: str, data: str, *, validity: int = DEFAULT_VALIDITY_SECONDS
    ) -> ForwardRequest:
        """A request for `sender` to call `data` on `to`, with their next nonce; the call is
        simulated as `sender` first, so a refusal raises its decoded contract error now."""
        if not 0 < validity <= MAX_VALIDITY_SECONDS:
            raise InputError(f"a request is valid for 1 second to {MAX_VALIDITY_SECONDS} seconds")
        estimate = self._estimate(sender, to, data)
        return ForwardRequest(
            sender=to_checksum_address(sender),
            to=to_checksum_address(to),
            data=bytes(HexBytes(data)),
            nonce=self.nonce(sender),
            deadline=self.now() + validity,
            gas=min(estimate * 13 // 10 + 30_000, MAX_REQUEST_GAS),
        )

    def _estimate(self, sender: str, to: str, data: str) -> int:
        return self.sender.estimate(to_checksum_address(sender), to, data, context="relayed call")

    def typed_data(self, request: ForwardRequest) -> dict[str, Any]:
        """The full EIP-712 document a wallet signs (``eth_signTypedData_v4``), JSON-ready."""
        message = request.message()
        message["data"] = "0x" + request.data.hex()
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **FORWARD_REQUEST_TYPES},
            "primaryType": "ForwardRequest",
            "domain": self.domain(),
            "message": message,
        }

    def sign(self, account: LocalAccount, request: ForwardRequest) -> bytes:
        signed = account.sign_typed_data(
            domain_data=self.domain(),
            message_types=FORWARD_REQUEST_TYPES,
            message_data=request.message(),
        )
        return bytes(signed.signature)

    def recover(self, request: ForwardRequest, signature: bytes) -> str | None:
        """Who signed `request`, or None if the signature is malformed."""
        encoded = encode_typed_data(
            domain_data=self.domain(),
            message_types=FORWARD_REQUEST_TYPES,
            message_data=request.message(),
        )
        try:
            return to_checksum_address(Account.recover_message(encoded, signature=signature))
        except Exception:  # eth-keys raises several types for a malformed signature
            return None

    def check(self, request: ForwardRequest, signature: bytes) -> None:
        """Refuse, with a clear reason, a request the forwarder would refuse."""
        if len(signature) != 65:
            raise SignatureMismatch("a signature is 65 bytes (r, s, v) as 0x-prefixed hex")
        if not 0 < request.gas <= MAX_REQUEST_GAS:
            raise InputError(f"gas must be 1 to {MAX_REQUEST_GAS}")
        signer = self.recover(request, signature)
        if signer != request.sender:
            raise SignatureMismatch(
                "the signature does not match this request: sign the typed data returned for it, "
                "for this chain and this forwarder, with the account it names",
                signer=signer,
                expected=request.sender,
            )
        if request.deadline <= self.now():
            raise AuthorizationExpired(
                f"the signed request expired at {request.deadline} (chain time); ask for a new one"
            )

    def executed(self, request: ForwardRequest) -> TxResult | None:
        """The transaction that already executed `request`'s nonce for its sender, if any."""
        if self.nonce(request.sender) <= request.nonce:
            return None
        logs = self.forwarder.events.ExecutedForwardRequest().get_logs(
            from_block=self.ledger.manifest.deploy_block,
            argument_filters={"signer": request.sender},
        )
        for entry in logs:
            if int(entry["args"]["nonce"]) == request.nonce and entry["args"]["success"]:
                return self.sender.wait(entry["transactionHash"].to_0x_hex())
        return None

    def submit(self, request: ForwardRequest, signature: bytes, *, context: str = "") -> TxResult:
        """Relay a signed request; the same request again returns the transaction that ran it."""
        self.check(request, signature)
        done = self.executed(request)
        if done is not None:
            return done
        current = self.nonce(request.sender)
        if request.nonce != current:
            raise StaleAuthorization(
                f"the request's nonce {request.nonce} is not the signer's next ({current}): "
                "another request was relayed since it was prepared; ask for a new one",
                nonce=request.nonce,
                expected=current,
            )
        # The forwarder hides why the inner call failed: simulate it as the signer first.
        self._estimate(request.sender, request.to, "0x" + request.data.hex())
        data = self.forwarder.encode_abi("execute", args=[request.struct(signature)])
        return self.sender.send(
            self.relayer,
            self.forwarder.address,
            data,
            gas=request.gas * 64 // 63 + 120_000 + 16 * len(request.data),
            context=context or "relayed request",
        )


@dataclass
class KeySigner:
    """A key unlocked here (a custodial wallet) whose writes are relayed.

    ``journal`` (optional) is told every signed request before it is sent, and ``replay`` offers
    one signed earlier for the same call: a retry after a crash re-sends the same request instead
    of signing a second one.
    """

    account: LocalAccount
    relay: Relay
    journal: Callable[[ForwardRequest, bytes], None] | None = None
    replay: tuple[ForwardRequest, bytes] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send_through(self, sender: TxSender, to: str, data: str, *, context: str) -> TxResult:
        with self._lock:
            if self.replay is not None:
                request, signature = self.replay
                if request.to == to_checksum_address(to) and request.data == bytes(HexBytes(data)):
                    self.replay = None
                    return self.relay.submit(request, signature, context=context)
            request = self.relay.prepare(self.address, to, data)
            signature = self.relay.sign(self.account, request)
            if self.journal is not None:
                self.journal(request, signature)
            return self.relay.submit(request, signature, context=context)


@dataclass
class ClientSigner:
    """A person who signs on their own device; one authorization covers one write."""

    who: str
    relay: Relay
    authorization: Authorization | None = None
    validity: int = DEFAULT_VALIDITY_SECONDS
    used: bool = False

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
        return self.relay.submit(request, auth.signature, context=context)
