"""Schemathesis over the OpenAPI schema, against the app served by uvicorn on the session's real
chain: whatever it generates (valid or not), no answer is a server error, and every error answer
has the one error shape."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.app import create_app
from ledger.chain.node.host import free_port


class Server:
    """The app under uvicorn in a thread of this process, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def served(api_settings: Any) -> Iterator[Server]:
    with Server(create_app(api_settings)) as server:
        yield server


def new_token(served: Server) -> str:
    """A signed-in (unregistered) account: requests get past sign-in and meet the real checks."""
    account = Account.create()
    message = requests.post(
        f"{served.url}/v1/auth/challenge", json={"address": account.address}, timeout=30
    ).json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature
    answer = requests.post(
        f"{served.url}/v1/auth/sign-in",
        json={"message": message, "signature": "0x" + bytes(signature).hex()},
        timeout=30,
    )
    return str(answer.json()["token"])


def error_shape(response: Any) -> None:
    """Every 4xx/5xx answer is {error: {code, message, message_zh, details, request_id}}."""
    if response.status_code < 400:
        return
    body = response.json()
    error = body["error"]
    assert set(error) == {"code", "message", "message_zh", "details", "request_id"}, body
    assert error["code"] and error["message"] and error["message_zh"]
    assert "Traceback" not in response.text


def checker(operation: Any, base_url: str, headers: dict[str, str]) -> Any:
    """A Hypothesis test of one operation: no 5xx, and the one error shape."""

    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )
    )
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        assert response.status_code < 500, (case.method, case.path, response.text[:500])
        error_shape(response)

    return check


def test_no_generated_request_is_a_server_error(served: Server) -> None:
    """Every operation of /openapi.json, with generated valid and invalid input."""
    api = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 8
    failures: list[str] = []
    for operation in operations:
        # a token of its own: a generated sign-out ends only this operation's session
        check = checker(operation, served.url, {"Authorization": f"Bearer {new_token(served)}"})
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        print(f"{operation.method.upper()} {operation.path}: {time.monotonic() - started:.1f}s")
    assert not failures, "\n\n".join(failures)
