"""How every write runs: who signs it, Idempotency-Key, and the audit log of admin actions.

A write names its signer in one of two ways:

* a custodial wallet sends its PIN in the ``X-Wallet-PIN`` header; the key is unlocked for this
  request only and signs the relayed request here;
* anyone else signs on their own device. The first call (no ``authorization`` in the body) answers
  428 ``signature_required`` with the EIP-712 typed data; the same call again with
  ``authorization: {nonce, deadline, gas, signature}`` is relayed. The server rebuilds the request
  from the body, so a signature only ever authorizes the call the person saw.

With an ``Idempotency-Key`` header, the first answer is stored and a retry gets it back without
writing again: also while the first attempt is still running (the retry waits for it), and after
a crash between signing and answering (a custodial request signed earlier is re-sent, never
signed anew; a client's signed request is found executed by its nonce).

A signed request sent again after it ran (with or without a key) is answered with the result of
the transaction that ran it, found by reading that transaction's input, with status 200 and
``Relay-Replayed: true``; a request whose nonce another request used is ``409
stale_authorization`` (sign again), never another request's answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from hexbytes import HexBytes
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.deps import CallerDep, ServicesDep
from api.errors import ledger_error_response
from api.services import Services
from ledger.chain.relay import Authorization, ClientSigner, ForwardRequest, KeySigner
from ledger.chain.tx import Signer, TxResult, TxSender
from ledger.errors import (
    IdempotencyConflict,
    InputError,
    LedgerError,
    RequestInProgress,
    SignatureRequired,
)
from ledger.identity.auth import Caller
from ledger.store import session, utcnow
from ledger.store.sessions import AdminAction, IdempotentRequest

log = logging.getLogger("api.writes")

#: How long a retry waits for the first attempt that is still running, before it is answered
#: 409 idempotency_in_progress (send the same request again later).
WAIT_FOR_FIRST_SECONDS = 60.0
#: A running attempt renews its claim on its key this often, while its process lives...
LEASE_RENEW_SECONDS = 5.0
#: ... and a claim not renewed for this long is taken to have died with its process (kill -9, a
#: lost host): a retry takes it over. Taking over is safe even if the first attempt still ran: a
#: signed request is only ever re-sent, never signed anew, so it runs at most once.
LEASE = timedelta(seconds=20)
MAX_KEY_LENGTH = 100
#: The header on the answer to a signed request that had already run (sent again).
RELAY_REPLAYED = "Relay-Replayed"


class AuthorizationIn(BaseModel):
    """The signer's answer to a 428: the values of the typed data they signed, and the signature."""

    nonce: int = Field(ge=0, le=2**256 - 1)
    deadline: int = Field(ge=0, le=2**48 - 1)
    gas: int = Field(gt=0, le=10_000_000)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65 bytes, 0x hex")

    def value(self) -> Authorization:
        return Authorization(
            nonce=self.nonce,
            deadline=self.deadline,
            gas=self.gas,
            signature=bytes(HexBytes(self.signature)),
        )


class SignedBody(BaseModel):
    """Base of every write body: `authorization` when signing on one's own device."""

    authorization: AuthorizationIn | None = None


@dataclass
class Write:
    """One write request in flight."""

    services: Services
    caller: Caller
    request: Request
    key: str | None
    request_hash: str
    pin: str | None

    # --- signer ----------------------------------------------------------------------------------

    def signer(self, body: SignedBody | None = None, *, row_id: int | None = None) -> Signer:
        relay = self.services.relay
        wallets = self.services.wallets
        if self.caller.method == "custodial" or (
            self.pin is not None and wallets.is_custodial(self.caller.address)
        ):
            if self.pin is None:
                raise InputError(
                    "a custodial wallet's writes need its PIN in the X-Wallet-PIN header",
                    field="X-Wallet-PIN",
                )
            account = wallets.unlock(self.caller.address, self.pin)
            if row_id is None:
                return KeySigner(account=account, relay=relay)
            return KeySigner(
                account=account,
                relay=relay,
                journal=lambda req, sig: _journal(self.services, row_id, req, sig),
                replay=_signed_earlier(self.services, row_id),
            )
        authorization = body.authorization.value() if body and body.authorization else None
        return ClientSigner(
            who=self.caller.address,
            relay=relay,
            authorization=authorization,
            validity=self.services.ledger.settings.relay_validity_seconds,
        )

    # --- running -----------------------------------------------------------------------------

    def run(
        self,
        action: Callable[[Signer], Any],
        *,
        body: SignedBody | None = None,
        status_code: int = 200,
        chain: bool = True,
        audit: str | None = None,
        subject: str = "",
    ) -> JSONResponse:
        """Run `action` with the caller's signer, once per Idempotency-Key; an action that writes
        only off chain (`chain=False`) gets a signer that refuses to send."""
        row_id: int | None = None
        if self.key is not None:
            row_id, stored = self._claim()
            if stored is not None:
                return stored
        return self._answer(action, body, status_code, audit, subject, chain, row_id=row_id)

    def _answer(
        self,
        action: Callable[[Signer], Any],
        body: SignedBody | None,
        status_code: int,
        audit: str | None,
        subject: str,
        chain: bool,
        *,
        row_id: int | None,
    ) -> JSONResponse:
        try:
            if chain:
                self.services.check_relayer()
            signer = self.signer(body, row_id=row_id) if chain else _OffChain(self.caller.address)
            result = action(signer)
        except LedgerError as exc:
            response = ledger_error_response(exc, self.request)
            keep = not isinstance(exc, SignatureRequired) and 400 <= response.status_code < 500
            keep = keep and response.status_code not in (401, 423, 429)
            self._finish(row_id, response if keep else None)
            if isinstance(exc, SignatureRequired):
                outcome = "signature_required"
            else:
                outcome = "refused" if response.status_code < 500 else "failed"
            self.services.wrote_outcome(outcome)
            if audit:
                self._audit(audit, subject, f"refused: {exc.code}")
            return response
        except BaseException:
            self._finish(row_id, None)
            self.services.wrote_outcome("failed")
            raise
        if chain:
            self.services.wrote()
        headers: dict[str, str] = {}
        if status_code == 201 and _created(result) is False:
            status_code = 200  # the thing asked for already existed: nothing was created
        if getattr(signer, "replayed", False):
            # The signed request had already run: nothing new was written, and this answer is the
            # one that run gave. 200 (not 201) and a header tell it from a new write.
            status_code = 200
            headers[RELAY_REPLAYED] = "true"
        self.services.wrote_outcome("replayed" if headers else "done")
        response = JSONResponse(
            status_code=status_code, content=jsonable_encoder(result), headers=headers
        )
        self._finish(row_id, response)
        if audit:
            self._audit(audit, subject, "done")
        return response

    def _claim(self) -> tuple[int, JSONResponse | None]:
        """This attempt's row, or the stored answer of an earlier one."""
        engine = self.services.ledger.engine
        deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
        while True:
            with session(engine) as db:
                row = db.exec(
                    select(IdempotentRequest).where(
                        IdempotentRequest.caller == self.caller.address,
                        IdempotentRequest.key == self.key,
                    )
                ).first()
            if row is None:
                try:
                    with session(engine) as db:
                        new = IdempotentRequest(
                            caller=self.caller.address,
                            key=self.key or "",
                            request_hash=self.request_hash,
                            started_at=utcnow(),
                        )
                        db.add(new)
                        db.flush()
                        assert new.id is not None
                    LEASES.hold(engine, new.id)
                    return new.id, None
                except IntegrityError:
                    continue  # another attempt claimed it a moment ago
            if row.request_hash != self.request_hash:
                raise IdempotencyConflict(
                    f"Idempotency-Key {self.key!r} was used for a different request; use a new key"
                )
            if row.state == "done":
                assert row.status_code is not None and row.response_json is not None
                return row.id or 0, JSONResponse(
                    status_code=row.status_code,
                    content=json.loads(row.response_json),
                    headers={"Idempotent-Replayed": "true"},
                )
            abandoned = row.state == "running" and utcnow() - row.started_at > LEASE
            if row.state == "interrupted" or abandoned:
                # Take it over, atomically: of several retries at once, one goes on.
                with session(engine) as db:
                    result: Any = db.execute(
                        update(IdempotentRequest)
                        .where(
                            col(IdempotentRequest.id) == row.id,
                            col(IdempotentRequest.state) == row.state,
                            col(IdempotentRequest.started_at) == row.started_at,
                        )
                        .values(state="running", started_at=utcnow())
                    )
                if result.rowcount:
                    log.warning("resuming request %s of %s (%s)", self.key, row.caller, row.state)
                    LEASES.hold(engine, row.id or 0)
                    return row.id or 0, None
                continue
            if time.monotonic() > deadline:
                raise RequestInProgress(
                    f"the first request with Idempotency-Key {self.key!r} is still running; "
                    "send the same request with the same key again later to get its answer",
                    retry_after=5,
                )
            time.sleep(0.05)

    def _finish(self, row_id: int | None, response: JSONResponse | None) -> None:
        if row_id is None:
            return
        LEASES.release(row_id)
        with session(self.services.ledger.engine) as db:
            row = db.get(IdempotentRequest, row_id)
            if row is None:
                return
            if response is None and row.signed_request is None:
                db.delete(row)  # nothing was answered nor signed: the key is free again
                return
            if response is None:
                # Signed but not answered (the attempt failed after signing, e.g. the connection
                # to the node dropped once the transaction was sent): a retry re-sends what was
                # signed, never signs again.
                row.state = "interrupted"
                db.add(row)
                return
            row.state = "done"
            row.status_code = response.status_code
            row.response_json = bytes(response.body).decode()
            row.finished_at = utcnow()
            db.add(row)

    def _audit(self, action: str, subject: str, outcome: str) -> None:
        with session(self.services.ledger.engine) as db:
            db.add(
                AdminAction(
                    at=utcnow(),
                    actor=self.caller.address,
                    action=action,
                    subject=subject[:500],
                    outcome=outcome,
                    request_id=str(getattr(self.request.state, "request_id", "")),
                )
            )


class _Leases:
    """The keys this process's running attempts hold, renewed together by one thread (started
    with the first): a process that dies stops renewing, and its attempts' retries take over."""

    def __init__(self) -> None:
        self._held: dict[int, Engine] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, engine: Engine, row_id: int) -> None:
        with self._lock:
            self._held[row_id] = engine
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._renew, name="idempotency-leases")
                self._thread.daemon = True
                self._thread.start()

    def release(self, row_id: int) -> None:
        with self._lock:
            self._held.pop(row_id, None)

    def _renew(self) -> None:
        while True:
            time.sleep(LEASE_RENEW_SECONDS)
            with self._lock:
                held = dict(self._held)
            by_engine: dict[Engine, list[int]] = {}
            for row_id, engine in held.items():
                by_engine.setdefault(engine, []).append(row_id)
            for engine, ids in by_engine.items():
                try:
                    with session(engine) as db:
                        db.execute(
                            update(IdempotentRequest)
                            .where(col(IdempotentRequest.id).in_(ids))
                            .where(col(IdempotentRequest.state) == "running")
                            .values(started_at=utcnow())
                        )
                except Exception:  # a store that is down now: try again next round
                    log.warning("could not renew %d running requests", len(ids), exc_info=True)


#: This process's running attempts.
LEASES = _Leases()


@dataclass(frozen=True)
class _OffChain:
    """The signer of an off-chain action: it has an address and never sends."""

    address: str

    def send_through(self, sender: TxSender, to: str, data: str, *, context: str) -> TxResult:
        raise AssertionError(f"an off-chain action tried to send a transaction ({context})")


def _journal(services: Services, row_id: int, req: ForwardRequest, sig: bytes) -> None:
    with session(services.ledger.engine) as db:
        row = db.get(IdempotentRequest, row_id)
        if row is not None:
            row.signed_request = json.dumps(
                {
                    "sender": req.sender,
                    "to": req.to,
                    "data": "0x" + req.data.hex(),
                    "nonce": req.nonce,
                    "deadline": req.deadline,
                    "gas": req.gas,
                    "signature": "0x" + sig.hex(),
                }
            )
            db.add(row)


def _signed_earlier(services: Services, row_id: int) -> tuple[ForwardRequest, bytes] | None:
    """The request a custodial signer signed in an earlier attempt under the same key."""
    with session(services.ledger.engine) as db:
        row = db.get(IdempotentRequest, row_id)
    if row is None or row.signed_request is None:
        return None
    data = json.loads(row.signed_request)
    request = ForwardRequest(
        sender=data["sender"],
        to=data["to"],
        data=bytes(HexBytes(data["data"])),
        nonce=int(data["nonce"]),
        deadline=int(data["deadline"]),
        gas=int(data["gas"]),
    )
    return request, bytes(HexBytes(data["signature"]))


async def get_write(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_KEY_LENGTH,
            description="retries with the same key get the first answer and never write twice",
        ),
    ] = None,
    wallet_pin: Annotated[
        str | None,
        Header(alias="X-Wallet-PIN", max_length=128, description="a custodial wallet's PIN"),
    ] = None,
) -> Write:
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    if isinstance(parsed, dict):
        parsed.pop("authorization", None)
    digest = hashlib.sha256(
        json.dumps(
            [request.method, request.url.path, str(request.url.query), parsed],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    key = idempotency_key.strip() if idempotency_key else None
    if idempotency_key is not None and not key:
        raise InputError("an Idempotency-Key is 1-100 characters", field="Idempotency-Key")
    return Write(
        services=services,
        caller=caller,
        request=request,
        key=key,
        request_hash=digest,
        pin=wallet_pin,
    )


WriteDep = Annotated[Write, Depends(get_write)]


def _created(result: object) -> bool | None:
    """Whether a write's answer says it created what it names (None: it does not say)."""
    created = (
        result.get("created") if isinstance(result, dict) else getattr(result, "created", None)
    )
    return created if isinstance(created, bool) else None
