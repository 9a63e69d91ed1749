"""``Relay``: signed requests checked, relayed through the forwarder by the ``relayer`` operator
(those that arrive together in one transaction: ``ledger.chain.relay.batch``), and a request sent
again answered with the transaction that already ran it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from hexbytes import HexBytes

from ledger.chain.relay.batch import Batcher, Waiting, own_part
from ledger.chain.relay.request import (
    DEFAULT_VALIDITY_SECONDS,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    EIP712_DOMAIN_TYPE,
    FORWARD_REQUEST_TYPES,
    MAX_REQUEST_GAS,
    MAX_VALIDITY_SECONDS,
    ForwardRequest,
    request_field,
    signed_fields,
    signed_fields_of,
)
from ledger.chain.tx import TxResult, TxSender
from ledger.errors import (
    AuthorizationExpired,
    ChainError,
    ContractRevert,
    InputError,
    SignatureMismatch,
    StaleAuthorization,
    TransactionFailed,
)

if TYPE_CHECKING:
    from web3 import Web3

    from ledger.chain.compiler import Build
    from ledger.chain.deploy import Manifest
    from ledger.config import NetworkConfig


#: The forwarder's ``nonces(address)`` selector, for reading a nonce as a raw call.
_NONCES = "0x" + function_signature_to_4byte_selector("nonces(address)").hex()


def _nonces_of(address: str) -> str:
    """The calldata of the forwarder's ``nonces(address)``."""
    return _NONCES + "00" * 12 + to_checksum_address(address)[2:].lower()


class RelayParts(Protocol):
    """What a relay uses of the chain it relays on (``Ledger`` is one): the connection, the
    transaction sender, the network (its chain id), the build and deployment (the forwarder's ABI
    and address) and the operators' keys (the relayer's)."""

    @property
    def w3(self) -> Web3: ...

    @property
    def sender(self) -> TxSender: ...

    @property
    def network(self) -> NetworkConfig: ...

    @property
    def build(self) -> Build: ...

    @property
    def manifest(self) -> Manifest: ...

    def operator(self, name: str) -> LocalAccount: ...


class Relay:
    """The forwarder of one deployment and the operator that pays for relayed requests."""

    def __init__(
        self,
        parts: RelayParts,
        *,
        relayer: str = "relayer",
        batch_most: int = 100,
        lanes: int = 1,
    ) -> None:
        self.parts = parts
        self.relayer_name = relayer
        self.batch_most = batch_most
        self.lanes = lanes
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
        return self.parts.w3.eth.contract(
            address=to_checksum_address(self.parts.manifest.address("Forwarder")),
            abi=list(self.parts.build.get("Forwarder").abi),
        )

    @cached_property
    def batcher(self) -> Batcher:
        """Requests that arrive while a relayed transaction is on its way go out together next."""
        return Batcher(
            send_one=self._send_one,
            send_batch=self._send_batch,
            why_not=self._why_not_run,
            block_gas=lambda: int(self.parts.w3.eth.get_block("latest")["gasLimit"]),
            block_time=lambda number: int(self.parts.w3.eth.get_block(number)["timestamp"]),
            most=self.batch_most,
            lanes=self.lanes,
        )

    @cached_property
    def relayer(self) -> LocalAccount:
        return self.parts.operator(self.relayer_name)

    @property
    def sender(self) -> TxSender:
        return self.parts.sender

    def domain(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.parts.network.chain_id,
            "verifyingContract": self.forwarder.address,
        }

    def nonce(self, address: str) -> int:
        answer = self.sender.call(self.forwarder.address, _nonces_of(address), context="nonces")
        return int.from_bytes(answer)

    def _state(self, sender: str, to: str, data: str) -> tuple[int, int, int | ChainError]:
        """In one round trip to the node: `sender`'s forwarder nonce, the chain's clock, and the
        gas of `sender` calling `data` on `to` (or the refusal of that call, not yet raised)."""
        calls: list[tuple[str, list[Any]]] = [
            ("eth_call", [{"to": self.forwarder.address, "data": _nonces_of(sender)}, "latest"]),
            ("eth_getBlockByNumber", ["latest", False]),
            ("eth_estimateGas", [{"from": to_checksum_address(sender), "to": to, "data": data}]),
        ]
        nonce, block, estimate = self.sender.ask(calls, context="relayed call")
        for answer in (nonce, block):
            if isinstance(answer, ChainError):
                raise answer
        gas = estimate if isinstance(estimate, ChainError) else int(estimate, 16)
        return int(nonce, 16), int(block["timestamp"], 16), gas

    def now(self) -> int:
        """The chain's clock (deadlines are checked against block time, not this machine's)."""
        return int(self.parts.w3.eth.get_block("latest")["timestamp"])

    def prepare(
        self, sender: str, to: str, data: str, *, validity: int = DEFAULT_VALIDITY_SECONDS
    ) -> ForwardRequest:
        """A request for `sender` to call `data` on `to`, with their next nonce; the call is
        simulated as `sender` first, so a refusal raises its decoded contract error now."""
        if not 0 < validity <= MAX_VALIDITY_SECONDS:
            raise InputError(f"a request is valid for 1 second to {MAX_VALIDITY_SECONDS} seconds")
        data = HexBytes(data).to_0x_hex()
        nonce, now, estimate = self._state(sender, to_checksum_address(to), data)
        if isinstance(estimate, ChainError):
            raise estimate
        return ForwardRequest(
            sender=to_checksum_address(sender),
            to=to_checksum_address(to),
            data=bytes(HexBytes(data)),
            nonce=nonce,
            deadline=now + validity,
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
            from_block=self.parts.manifest.deploy_block,
            argument_filters={"signer": request.sender},
        )
        for entry in logs:
            if int(entry["args"]["nonce"]) != request.nonce:
                continue
            tx_hash = entry["transactionHash"].to_0x_hex()
            if not self._carries(tx_hash, request, signature, int(entry["args"]["nonce"])):
                break
            if not entry["args"]["success"]:
                raise StaleAuthorization(
                    f"this signed request already ran in {tx_hash} and the called contract refused "
                    "it; its nonce is used: ask for a new request and sign it",
                    nonce=request.nonce,
                    tx_hash=tx_hash,
                )
            ran = self.sender.wait(tx_hash)
            return own_part(
                ran, self.forwarder.address, request.sender, request.nonce, replayed=True
            )
        raise StaleAuthorization(
            f"the request's nonce {request.nonce} was used by another request of "
            f"{request.sender} since this one was prepared; ask for a new request and sign it",
            nonce=request.nonce,
            expected=current,
        )

    def _carries(self, tx_hash: str, request: ForwardRequest, signature: bytes, nonce: int) -> bool:
        """Whether the forwarder call in `tx_hash`, whose event names `request`'s signer and
        `nonce`, ran `request`: its input holds a request equal to it in every signed field but the
        nonce (which the event gives). In a batch of several, the one that ran with `nonce` is the
        first of the signer's whose signature holds for it and whose deadline had not passed (the
        forwarder runs them in order; a later one signed for the same nonce was skipped)."""
        tx = self.parts.w3.eth.get_transaction(HexBytes(tx_hash))  # type: ignore[arg-type]
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
        wanted = signed_fields(request)
        if len(sent) == 1:
            return signed_fields_of(sent[0]) == wanted
        mined_at = int(self.parts.w3.eth.get_block(tx["blockNumber"])["timestamp"])
        for item in sent:
            fields = signed_fields_of(item)
            if fields[0] != request.sender or fields[4] < mined_at:
                continue
            its_signature = bytes(request_field(item, "signature", 6))
            candidate = ForwardRequest(
                sender=fields[0],
                to=fields[1],
                value=fields[2],
                gas=fields[3],
                deadline=fields[4],
                data=fields[5],
                nonce=nonce,
            )
            if self.recover(candidate, its_signature) == request.sender:
                return fields == wanted and its_signature == signature
        return False

    def submit(self, request: ForwardRequest, signature: bytes, *, context: str = "") -> TxResult:
        """Relay a signed request; the same request again returns the transaction that ran it,
        marked ``replayed``."""
        self._check_signature(request, signature)
        with self.serialized(request.sender):
            # The forwarder hides why the inner call failed: the call is simulated as the signer
            # first, in the same round trip as the nonce and the clock; its refusal counts only
            # once the request is known not to have run already and to be still valid.
            current, now, simulated = self._state(
                request.sender, request.to, "0x" + request.data.hex()
            )
            done = self.executed(request, signature, current=current)
            if done is not None:
                return done
            if request.deadline <= now:
                raise AuthorizationExpired(
                    f"the signed request expired at {request.deadline} (chain time); "
                    "ask for a new one"
                )
            if request.nonce != current:
                raise StaleAuthorization(
                    f"the request's nonce {request.nonce} is not the signer's next ({current}): "
                    "an earlier request of this account has not run; ask for a new one",
                    nonce=request.nonce,
                    expected=current,
                )
            if isinstance(simulated, ChainError):
                raise simulated
            return self.batcher.run(request, signature, context or "relayed request")

    def _send_one(self, item: Waiting) -> TxResult:
        """A lone request, in ``execute``: a refusal raised with the target's own reason."""
        request, signature = item.request, item.signature
        data = self.forwarder.encode_abi("execute", args=[request.struct(signature)])
        try:
            return self.sender.send(
                self.relayer,
                self.forwarder.address,
                data,
                gas=request.gas * 64 // 63 + 120_000 + 16 * len(request.data),
                context=item.context,
            )
        except (ContractRevert, TransactionFailed) as refused:
            outcome = self._why_refused(request, signature, refused)
            if isinstance(outcome, TxResult):
                return outcome
            raise outcome from None

    def _send_batch(self, items: Sequence[Waiting], gas: int) -> TxResult:
        """Several requests in one ``executeBatch``; the relayer as refund receiver makes each
        stand on its own (skipped if invalid, recorded as failed if refused)."""
        requests = [item.request.struct(item.signature) for item in items]
        data = self.forwarder.encode_abi("executeBatch", args=[requests, self.relayer.address])
        return self.sender.send(
            self.relayer,
            self.forwarder.address,
            data,
            gas=gas,
            context=f"{len(items)} relayed requests",
        )

    def _why_not_run(self, item: Waiting, batch: TxResult, skipped: bool) -> TxResult | Exception:
        """Why a request of `batch` did not run, as ``_why_refused`` finds it (the request's call
        failed: only the target's reason; skipped: its nonce's fate first), or, skipped for no
        other reason, that its deadline passed."""
        request = item.request
        failed = TransactionFailed(
            f"the request did not run in the relayed batch {batch.tx_hash}; send it again",
            tx_hash=batch.tx_hash,
        )
        outcome = self._why_refused(request, item.signature, failed, ran=not skipped)
        if outcome is failed and skipped and request.deadline <= self.now():
            return AuthorizationExpired(
                f"the signed request expired at {request.deadline} (chain time) before it "
                "could run; ask for a new one"
            )
        return outcome

    def _why_refused(
        self,
        request: ForwardRequest,
        signature: bytes,
        refused: ContractRevert | TransactionFailed,
        *,
        ran: bool = False,
    ) -> TxResult | Exception:
        """What really refused a relayed request the forwarder reverted: another request took its
        nonce (another process won the race), or the target refused the call, whose own reason
        the forwarder replaces with ``FailedInnerCall``: simulated again as the signer on the
        state that refused it, it says why (``SoldOut`` rather than "refused without a reason").
        `ran`: the request itself ran and its call failed (its nonce is its own: only the reason
        is asked). Else `refused`."""
        if not ran:
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
