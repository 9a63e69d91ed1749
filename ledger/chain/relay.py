"""Relayed writes: members and staff act without ever holding a native coin.

Every contract trusts the deployed ``Forwarder`` (OpenZeppelin 5.0.2 ``ERC2771Forwarder``, EIP-712
domain "VolunteerPointsLedger" version "1"). A signer signs a ``ForwardRequest`` (from, to, value,
gas, nonce, deadline, data) for this chain and this forwarder; the ``relayer`` operator sends it
with ``execute`` and pays; the target contract sees the signer as the sender.

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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from ledger.chain.tx import TxResult, TxSender
from ledger.errors import (
    AuthorizationExpired,
    ContractRevert,
    InputError,
    SignatureMismatch,
    SignatureRequired,
    StaleAuthorization,
    TransactionFailed,
)

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
#: How often a custodial signer signs again when another process used the nonce it signed with.
RESIGN_ATTEMPTS = 3


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
        self._signer_locks: dict[str, Any] = {}
        self._signer_locks_guard = threading.Lock()

    @contextmanager
    def serialized(self, signer: str) -> Iterator[None]:
        """Hold `signer`'s relay lock: their requests are checked, sent and confirmed one at a
        time in this process (re-entrant, so a custodial signer prepares and submits under it)."""
        address = to_checksum_address(signer)
        with self._signer_locks_guard:
            lock = self._signer_locks.setdefault(address, threading.RLock())
        with lock:
            yield

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

    def _check_signature(self, request: ForwardRequest, signature: bytes) -> None:
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

    def _check_deadline(self, request: ForwardRequest) -> None:
        if request.deadline <= self.now():
            raise AuthorizationExpired(
                f"the signed request expired at {request.deadline} (chain time); ask for a new one"
            )

    def executed(
        self, request: ForwardRequest, signature: bytes, *, current: int | None = None
    ) -> TxResult | None:
        """The transaction that executed exactly `request` (marked ``replayed``), or None while its
        nonce is unused; ``StaleAuthorization`` when another request of the signer used it.
        `current` is the signer's forwarder nonce, when the caller has just read it."""
        if current is None:
            current = self.nonce(request.sender)
        if current <= request.nonce:
            return None
        logs = self.forwarder.events.ExecutedForwardRequest().get_logs(
            from_block=self.ledger.manifest.deploy_block,
            argument_filters={"signer": request.sender},
        )
        for entry in logs:
            if int(entry["args"]["nonce"]) != request.nonce:
                continue
            tx_hash = entry["transactionHash"].to_0x_hex()
            if not self._carries(tx_hash, request, signature):
                break
            if not entry["args"]["success"]:
                raise StaleAuthorization(
                    f"this signed request already ran in {tx_hash} and the called contract refused "
                    "it; its nonce is used: ask for a new request and sign it",
                    nonce=request.nonce,
                    tx_hash=tx_hash,
                )
            return replace(self.sender.wait(tx_hash), replayed=True)
        raise StaleAuthorization(
            f"the request's nonce {request.nonce} was used by another request of "
            f"{request.sender} since this one was prepared; ask for a new request and sign it",
            nonce=request.nonce,
            expected=current,
        )

    def _carries(self, tx_hash: str, request: ForwardRequest, signature: bytes) -> bool:
        """Whether the forwarder call in `tx_hash`, whose event names `request`'s signer and nonce,
        is `request`: its input holds a request equal to it in every signed field but the nonce
        (which the event gives); in a batch of several, the signature decides which one."""
        tx = self.ledger.w3.eth.get_transaction(HexBytes(tx_hash))  # type: ignore[arg-type]
        if tx.get("to") is None or to_checksum_address(tx["to"]) != self.forwarder.address:
            return False
        try:
            function, args = self.forwarder.decode_function_input(tx["input"])
        except ValueError:
            return False
        if function.fn_name == "execute":
            sent = [args["request"]]
        elif function.fn_name == "executeBatch":
            sent = list(args["requests"])
        else:
            return False
        wanted = _signed_fields(request)
        matches = [item for item in sent if _signed_fields_of(item) == wanted]
        if len(sent) == 1:
            return bool(matches)
        return any(bytes(_field(item, "signature", 6)) == signature for item in matches)

    def submit(self, request: ForwardRequest, signature: bytes, *, context: str = "") -> TxResult:
        """Relay a signed request; the same request again returns the transaction that ran it,
        marked ``replayed``."""
        self._check_signature(request, signature)
        with self.serialized(request.sender):
            current = self.nonce(request.sender)
            done = self.executed(request, signature, current=current)
            if done is not None:
                return done
            self._check_deadline(request)
            if request.nonce != current:
                raise StaleAuthorization(
                    f"the request's nonce {request.nonce} is not the signer's next ({current}): "
                    "an earlier request of this account has not run; ask for a new one",
                    nonce=request.nonce,
                    expected=current,
                )
            # The forwarder hides why the inner call failed: simulate it as the signer first.
            self._estimate(request.sender, request.to, "0x" + request.data.hex())
            data = self.forwarder.encode_abi("execute", args=[request.struct(signature)])
            try:
                return self.sender.send(
                    self.relayer,
                    self.forwarder.address,
                    data,
                    gas=request.gas * 64 // 63 + 120_000 + 16 * len(request.data),
                    context=context or "relayed request",
                )
            except (ContractRevert, TransactionFailed) as refused:
                outcome = self._why_refused(request, signature, refused)
                if isinstance(outcome, TxResult):
                    return outcome
                raise outcome from None

    def _why_refused(
        self,
        request: ForwardRequest,
        signature: bytes,
        refused: ContractRevert | TransactionFailed,
    ) -> TxResult | Exception:
        """What really refused a relayed request the forwarder reverted: another request took its
        nonce (another process won the race), or the target refused the call, whose own reason
        the forwarder replaces with ``FailedInnerCall``: simulated again as the signer on the
        state that refused it, it says why (``SoldOut`` rather than "refused without a reason")."""
        try:
            done = self.executed(request, signature)
        except StaleAuthorization as stale:
            return stale
        if done is not None:  # the same signed request, sent by another process, ran first
            return done
        try:
            self._estimate(request.sender, request.to, "0x" + request.data.hex())
        except ContractRevert as reason:
            reason.details.setdefault("tx_hash", refused.details.get("tx_hash"))
            return reason
        return refused


def _field(item: Any, name: str, index: int) -> Any:
    """A field of a decoded ``ForwardRequestData`` (a dict or a tuple, as web3 decodes it)."""
    return item[name] if isinstance(item, dict) else item[index]


def _signed_fields(request: ForwardRequest) -> tuple[Any, ...]:
    return (
        request.sender,
        request.to,
        request.value,
        request.gas,
        request.deadline,
        request.data,
    )


def _signed_fields_of(item: Any) -> tuple[Any, ...]:
    """The signed fields of a decoded ``ForwardRequestData(from, to, value, gas, deadline, data,
    signature)``, comparable with ``_signed_fields``."""
    names = ("from", "to", "value", "gas", "deadline", "data")
    values = [_field(item, name, index) for index, name in enumerate(names)]
    return (
        to_checksum_address(values[0]),
        to_checksum_address(values[1]),
        int(values[2]),
        int(values[3]),
        int(values[4]),
        bytes(values[5]),
    )


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
