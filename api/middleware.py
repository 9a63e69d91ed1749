"""Request ids, body size limits and rate limits, as plain ASGI middleware (cheap on every
request).

A request body over its limit is refused with 413 ``body_too_large`` before it is read into
memory: `UPLOAD_BODY_BYTES` for a batch file upload (its CSV, escaped in JSON), `BODY_BYTES` for
every other request; a body sent without a length is counted as it arrives.

Every answered request is counted in the app's metrics (``api.observability``: by route template
and status, with its latency) and, with ``log_requests``, logged as one line (request id, route,
status, latency, account address).

Rate limits are per client IP address and per signed-in account, over a sliding minute (the
current and the previous fixed minute, weighted), in this process's memory: behind several API
processes (``VPL_API_PROCESSES``) each enforces its share, the limit divided by their number, so
that together they never allow more than the limit, however a balancer spreads the requests.
Over the limit the answer is 429 ``too_many_requests`` with ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.observability import access_log
from ledger.earning.uploads import MAX_UPLOAD_BYTES

WINDOW = 60.0
#: The largest body of any request but a batch upload (a certificate page to verify included).
BODY_BYTES = 1_048_576
#: The largest body of a batch upload: its file escaped in JSON (an escaped Chinese character
#: takes six bytes instead of three).
UPLOAD_BODY_BYTES = 2 * MAX_UPLOAD_BYTES + 65_536
UPLOAD_PATH = "/v1/issuer/batches"


class SlidingWindow:
    """Counts per key over the last minute."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int, int]] = {}  # key -> (minute, this, previous)
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, now: float | None = None) -> float | None:
        """Count one request; None if allowed, else seconds until one would be."""
        now = time.time() if now is None else now
        minute = int(now // WINDOW)
        with self._lock:
            seen, current, previous = self._counts.get(key, (minute, 0, 0))
            if seen != minute:
                previous = current if seen == minute - 1 else 0
                current = 0
            elapsed = (now % WINDOW) / WINDOW
            estimate = previous * (1.0 - elapsed) + current
            if estimate + 1 > limit:
                self._counts[key] = (minute, current, previous)
                return max(1.0, WINDOW * (1.0 - elapsed))
            self._counts[key] = (minute, current + 1, previous)
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= minute - 1}
            return None


class RequestContext:
    """Gives every request an id (``X-Request-ID``, the caller's if it is sane) and applies the
    rate limits."""

    def __init__(
        self, app: ASGIApp, *, per_ip: int, per_account: int, log_requests: bool = False
    ) -> None:
        self.app = app
        self.per_ip = per_ip
        self.per_account = per_account
        self.log_requests = log_requests
        self.windows = SlidingWindow()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        status = 500  # unless an answer starts

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._handle(scope, receive, counted_send)
        finally:
            self._observe(scope, status, time.perf_counter() - started_at)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id

        retry = None
        client = scope.get("client")
        if client:
            retry = self.windows.hit(f"ip:{client[0]}", self.per_ip)
        auth = headers.get("authorization", "")
        if retry is None and auth.lower().startswith("bearer "):
            account = self._account(scope, auth[7:].strip())
            if account:
                retry = self.windows.hit(f"account:{account}", self.per_account)
        if retry is not None:
            await self._too_many(send, request_id, retry)
            return
        limit = UPLOAD_BODY_BYTES if scope.get("path") == UPLOAD_PATH else BODY_BYTES
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._too_large(send, request_id, limit)
            return

        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            # Over the limit: answer 413 now, and tell the application the client went away.
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit and not started:
                    refused = True
                    await self._too_large(send, request_id, limit)
            return {"type": "http.disconnect"} if refused else message

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if refused:
                return  # answered already
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except Exception:
            if not refused:  # the application's own failure, not the body it was refused
                raise

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count the request (and log its line): by its route's template, never its path."""
        services = _services(scope)
        route = getattr(scope.get("route"), "path", None) or "(no route)"
        method = str(scope.get("method", ""))
        if services is not None and services.metrics is not None:
            services.metrics.observe(method, route, status, seconds)
        if self.log_requests and access_log.isEnabledFor(logging.INFO):
            account = None
            auth = _header(scope, b"authorization")
            if services is not None and auth.lower().startswith("bearer "):
                caller = services.cached_caller(auth[7:].strip())
                account = caller.address if caller is not None else None
            access_log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "request_id": scope.get("state", {}).get("request_id"),
                    "method": method,
                    "route": route,
                    "status": status,
                    "latency_ms": round(seconds * 1000, 1),
                    "account": account,
                },
            )

    def _account(self, scope: Scope, token: str) -> str | None:
        services = _services(scope)
        if services is None or not token:
            return None
        # Only a token seen in the last few seconds (no I/O here): the endpoint's own lookup
        # remembers it, so every request after a session's first is counted.
        caller = services.cached_caller(token)
        return str(caller.address) if caller is not None else None

    async def _too_many(self, send: Send, request_id: str, retry: float) -> None:
        message = f"too many requests; retry in {int(retry)} s"
        details = {"retry_after": int(retry)}
        extra = [(b"retry-after", str(int(retry)).encode())]
        await _refuse(send, request_id, 429, "too_many_requests", message, details, extra)

    async def _too_large(self, send: Send, request_id: str, limit: int) -> None:
        message = f"the request body is larger than {limit} bytes"
        await _refuse(send, request_id, 413, "body_too_large", message, {"limit": limit}, [])


def _services(scope: Scope) -> Any:
    """The app's services (None before startup)."""
    app: Any = scope.get("app")
    return getattr(getattr(app, "state", None), "services", None)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


async def _refuse(
    send: Send,
    request_id: str,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    extra: list[tuple[bytes, bytes]],
) -> None:
    """Answer with an error before the application saw the request."""
    body = error_body(code, message, details, request=None)
    body["error"]["request_id"] = request_id
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
