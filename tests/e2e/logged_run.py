"""A run of the API and the CLI that writes down everything: the API under uvicorn in a process
of its own (as scripts/fault_run.py runs it) logging at DEBUG to a file, its access log, stdout
and stderr kept; callers of it signing with their keys or a custodial PIN, every answer kept;
``vpl`` in-process (as the other end-to-end tests run it) logging at DEBUG to another file, each
run's output kept. For tests/e2e/test_personal_data.py, which searches all of it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner, Result

from ledger.chain.node.host import free_port
from ledger.config import Settings
from scripts.bench_api import authorization, sign_in
from scripts.cli import app

REPO = Path(__file__).resolve().parents[2]
#: The PIN of the custodial wallets of a run.
PIN = "864213"


# --- the API, in a process of its own, logging at DEBUG --------------------------------------------


def logging_config(log_file: Path) -> dict[str, Any]:
    """Everything at DEBUG to `log_file` (SQLAlchemy's statements, parameters and rows too), and
    INFO and above to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(log_file),
                "formatter": "plain",
                "level": "DEBUG",
            },
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "level": "INFO"},
        },
        "root": {"level": "DEBUG", "handlers": ["file", "stderr"]},
        "loggers": {"sqlalchemy": {"level": "DEBUG"}},
    }


@contextmanager
def api_process(settings: Settings, out: Path) -> Iterator[str]:
    """The API under uvicorn (as scripts/bench_api.py starts it), its access log on, its stdout
    and stderr to files in `out`: its base URL; stopped at the end."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = out / "api-logging.json"
    config.write_text(json.dumps(logging_config(out / "api-debug.log")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPL_")}
    env.update(
        VPL_DATA_DIR=str(settings.data_dir),
        VPL_DEPLOYMENTS_DIR=str(settings.resolved_deployments_dir),
        VPL_NODE=str(settings.node),
        VPL_NODE_PORT=str(settings.node_port),
        VPL_PUBLIC_URL=base,
        VPL_WALLET_KDF_N=str(2**10),
    )
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--host",
        "127.0.0.1", "--port", str(port), "--log-level", "debug", "--log-config", str(config),
    ]  # fmt: skip
    with (out / "api.stdout").open("wb") as stdout, (out / "api.stderr").open("wb") as stderr:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, (out / "api.stderr").read_text()[-3000:]
                assert time.monotonic() < deadline, "the API did not start"
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


@dataclass
class Caller:
    """A signed-in caller of the API, signing writes with their own key (the 428 round trip) or
    with a custodial wallet's PIN; every write carries an Idempotency-Key. Each answer is kept."""

    http: httpx.Client
    address: str
    token: str
    answers: list[str]
    account: LocalAccount | None = None
    pin: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **params: Any) -> httpx.Response:
        answer = self.http.get(url, params=params, headers=self.headers)
        self.answers.append(f"GET {url} {params} {answer.status_code} {answer.text}")
        return answer

    def write(self, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        if self.pin is not None:
            headers["X-Wallet-PIN"] = self.pin
        answer = self.http.post(url, json=body or {}, headers=headers)
        if answer.status_code == 428:
            assert self.account is not None, answer.text
            signed = {**(body or {}), "authorization": authorization(self.account, answer.json())}
            answer = self.http.post(url, json=signed, headers=headers)
        self.answers.append(f"POST {url} {answer.status_code} {answer.text}")
        return answer


def signed_in(http: httpx.Client, answers: list[str], account: LocalAccount) -> Caller:
    return Caller(http, account.address, sign_in(http, account), answers, account=account)


def pin_signed_in(http: httpx.Client, answers: list[str], address: str) -> Caller:
    answer = http.post("/v1/auth/pin-sign-in", json={"address": address, "pin": PIN})
    assert answer.status_code == 200, answer.text
    return Caller(http, address, answer.json()["token"], answers, pin=PIN)


def done(answer: httpx.Response, status: int = 201) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def refused(answer: httpx.Response, status: int, code: str) -> None:
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text


# --- the CLI, in-process, logging at DEBUG ---------------------------------------------------------


@dataclass
class Cli:
    """``vpl`` against the run's chain and data directory; each run's stdout and stderr are kept
    in files of `out`."""

    settings: Settings
    rpc_url: str
    out: Path
    runs: int = 0
    runner: CliRunner = field(default_factory=CliRunner)

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        base = ["--data-dir", str(self.settings.data_dir), "--rpc-url", self.rpc_url]
        with debug_log(self.out / "cli-debug.log"):
            result = self.runner.invoke(app, [*base, *args], input=input)
        self.runs += 1
        (self.out / f"cli-{self.runs:02d}.stdout").write_text(result.stdout, encoding="utf-8")
        (self.out / f"cli-{self.runs:02d}.stderr").write_text(result.stderr, encoding="utf-8")
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self("--json", *args, input=input).stdout)


@contextmanager
def debug_log(path: Path) -> Iterator[None]:
    """This process's logging, every logger at DEBUG (SQLAlchemy's too), also to `path` (added
    to)."""
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy")
    levels = (root.level, sql.level)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(levels[0])
        sql.setLevel(levels[1])
