"""Running a validator network: its go-ethereum nodes started, peered, stopped and inspected.

Each validator runs detached, with a pid file in its directory; peering is explicit
(``admin_addPeer`` between every pair), as a permissioned network is: no node finds or accepts
strangers. ``up`` returns once the running validators agree on a head.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from ledger.chain.node.files import log_tail
from ledger.chain.node.host import cmdline, pid_alive
from ledger.chain.node.probe import wait_for_rpc
from ledger.chain.validators.layout import Validator, ValidatorLayout
from ledger.errors import NodeError

log = logging.getLogger(__name__)

PID_FILE = "geth.json"
LOG_FILE = "geth.log"
_STOP_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class ValidatorStatus:
    """What one validator says about itself (``running`` False: the rest are None)."""

    number: int
    address: str
    rpc_url: str
    running: bool
    pid: int | None
    head: int | None = None
    peers: int | None = None
    #: Whether the chain's clique snapshot counts this node's key as a signer.
    signer: bool | None = None
    #: The number of the newest block this node sealed, among the last few it holds.
    last_sealed: int | None = None


class ValidatorNetwork(ValidatorLayout):
    """The validator nodes of one network file: created, started, stopped, inspected."""

    # --- running -------------------------------------------------------------------------------

    def up(self) -> list[ValidatorStatus]:
        """Create what is missing, start every validator that is not running, peer them all.
        Every validator's key is checked first: none starts if one cannot seal."""
        self.create()
        for node in self.validators():
            self.check_key(node)
        for node in self.validators():
            self.start_node(node.number, peer=False)
        self.peer_all()
        self._converge()
        return self.status()

    def start_node(self, number: int, *, peer: bool = True) -> ValidatorStatus:
        """Start validator `number` (a running one is left alone) and connect it to the others."""
        node = self.validator(number)
        self.create()
        pid = self._pid(node)
        if pid is None:
            self.check_key(node)
            logfile = (node.directory / LOG_FILE).open("ab")
            with logfile:
                process = subprocess.Popen(
                    self.command(node),
                    stdout=logfile,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            (node.directory / PID_FILE).write_text(
                json.dumps({"pid": process.pid, "rpc_url": node.rpc_url})
            )
            try:
                wait_for_rpc(
                    node.rpc_url,
                    self.config.startup_timeout_seconds,
                    alive=lambda: process.poll() is None,
                )
            except NodeError as exc:
                tail = log_tail(node.directory / LOG_FILE)
                raise NodeError(f"validator {number} did not start: {exc}\n{tail}") from None
        if peer:
            self.peer_all()
        return self.node_status(node)

    def _converge(self) -> None:
        """Wait until the running validators are peered and hold one head past the genesis.

        A fresh chain's validators each seal a block 1 of their own before they are peered, and
        a node still at its genesis drops the blocks its peers announce: they agree only once
        geth's sync, run every 10 s, has taken the heaviest of those forks. Work sent before that
        may be sealed on a fork that is then dropped; `up` returns when they agree."""
        running = [n for n in self.validators() if self._pid(n) is not None]
        deadline = time.monotonic() + self.config.startup_timeout_seconds
        while len(running) > 1:
            peers = [len(_rpc(n.rpc_url, "admin_peers", []) or []) for n in running]
            heads = [_rpc(n.rpc_url, "eth_getBlockByNumber", ["latest", False]) for n in running]
            numbers = [int(h["number"], 16) for h in heads]
            if (
                len({h["hash"] for h in heads}) == 1
                and min(numbers) >= 1
                and min(peers) >= len(running) - 1
            ):
                return
            if time.monotonic() > deadline:
                log.warning(
                    "the validators do not agree on a head yet (peers %s, heads %s)", peers, numbers
                )
                return
            time.sleep(0.25)

    def stop_node(self, number: int, *, kill: bool = False) -> ValidatorStatus:
        """Stop validator `number`: SIGTERM (geth writes its state), or SIGKILL with `kill`."""
        node = self.validator(number)
        pid = self._pid(node)
        if pid is not None:
            _stop(pid, kill=kill)
        with contextlib.suppress(FileNotFoundError):
            (node.directory / PID_FILE).unlink()
        return self.node_status(node)

    def down(self) -> list[ValidatorStatus]:
        for node in self.validators():
            self.stop_node(node.number)
        return self.status()

    def peer_all(self) -> None:
        """Connect every running validator to every other (static peers, discovery is off)."""
        running = [n for n in self.validators() if self._pid(n) is not None]
        enodes: dict[int, str] = {}
        for node in running:
            info = _rpc(node.rpc_url, "admin_nodeInfo", [])
            enodes[node.number] = (
                str(info["enode"]).split("?")[0].replace("@127.0.0.1:", f"@{node.host}:")
            )
        for node in running:
            for other, enode in enodes.items():
                if other != node.number:
                    _rpc(node.rpc_url, "admin_addPeer", [enode])

    # --- status --------------------------------------------------------------------------------

    def status(self) -> list[ValidatorStatus]:
        return [self.node_status(node) for node in self.validators()]

    def node_status(self, node: Validator) -> ValidatorStatus:
        pid = self._pid(node)
        base = ValidatorStatus(
            number=node.number,
            address=node.address,
            rpc_url=node.rpc_url,
            running=pid is not None,
            pid=pid,
        )
        if pid is None:
            return base
        try:
            head = int(_rpc(node.rpc_url, "eth_blockNumber", []), 16)
            peers = int(_rpc(node.rpc_url, "net_peerCount", []), 16)
            signers = {s.lower() for s in _rpc(node.rpc_url, "clique_getSigners", [])}
            sealed = None
            for number in range(head, max(head - 2 * self.config.count, 0), -1):
                if str(_rpc(node.rpc_url, "clique_getSigner", [hex(number)])).lower() == (
                    node.address.lower()
                ):
                    sealed = number
                    break
        except NodeError:
            return base
        return ValidatorStatus(
            number=node.number,
            address=node.address,
            rpc_url=node.rpc_url,
            running=True,
            pid=pid,
            head=head,
            peers=peers,
            signer=node.address.lower() in signers,
            last_sealed=sealed,
        )

    def _pid(self, node: Validator) -> int | None:
        """The pid of this validator's running geth, per its pid file (None: not running)."""
        try:
            record = json.loads((node.directory / PID_FILE).read_text())
            pid = int(record["pid"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        if not pid_alive(pid) or not any("geth" in part for part in cmdline(pid) or []):
            return None
        return pid


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    import requests

    try:
        answer = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10
        ).json()
    except (requests.RequestException, ValueError) as exc:
        raise NodeError(
            f"{url} did not answer {method}: {type(exc).__name__}", rpc_url=url
        ) from None
    if "error" in answer:
        raise NodeError(f"{url} refused {method}: {answer['error']}", rpc_url=url)
    return answer.get("result")


def _stop(pid: int, *, kill: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + _STOP_WAIT_SECONDS
    while pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
