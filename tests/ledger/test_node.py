"""ledger.chain.node: the local node starts, stops and restarts with its chain, and is never doubled."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ledger.chain.node.host as node_module
from ledger.chain.node import LocalNode, NodeStatus
from ledger.chain.node.files import ANVIL_STATE, ANVIL_STATE_BACKUP, PID_FILE
from ledger.chain.node.host import free_port
from ledger.chain.node.probe import wait_for_rpc
from ledger.config import NodeKind, Settings
from ledger.errors import NodeAlreadyRunning, NodeError, NodeNotRunning
from tests.chain_helpers import anvil_saved_block, exited, wait_until

KINDS: list[NodeKind] = ["ganache", "anvil"]
CHAIN_ID = 1337
#: Account 0 of the development mnemonic, unlocked on both nodes.
SENDER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
#: Constructor emits LOG1(topic 1) and deploys RUNTIME, which returns 42 to any call.
INIT_CODE = "0x600160006000a1600a601360003960" + "0a6000f3" + "602a60005260206000f3"
RUNTIME = "0x602a60005260206000f3"
LOG_TOPIC = "0x" + "00" * 31 + "01"

MakeNode = Callable[..., LocalNode]
#: Restarts under load. Without anvil told to stop mining first, ten restarts lost answered
#: transactions in two runs out of two (two to three minutes a run); four keep the suite short.
RESTARTS = 4


@pytest.fixture(autouse=True)
def _no_vpl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone, not from the shell running it."""
    for name in list(os.environ):
        if name.startswith("VPL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[MakeNode]:
    """Builds LocalNodes on temporary data directories and free ports; stops them all afterwards."""
    made: list[LocalNode] = []

    def make(
        kind: NodeKind = "anvil", *, data_dir: Path | None = None, port: int | None = None
    ) -> LocalNode:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir or tmp_path / kind,
            node=kind,
            node_port=port or free_port(),
        )
        node = LocalNode(settings)
        made.append(node)
        return node

    yield make
    for node in made:
        with contextlib.suppress(NodeError):
            node.stop(timeout=5)


def rpc(url: str, method: str, *params: Any) -> Any:
    """One JSON-RPC call; the answer's result, failing the test on an error."""
    payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = httpx.post(url, json=payload, timeout=10).json()
    assert "error" not in reply, reply
    return reply["result"]


def transact(url: str, tx: dict[str, str]) -> dict[str, Any]:
    """Send a transaction from the unlocked first account and return its receipt."""
    tx_hash = rpc(url, "eth_sendTransaction", {"from": SENDER, **tx})
    deadline = time.monotonic() + 10
    while (receipt := rpc(url, "eth_getTransactionReceipt", tx_hash)) is None:
        assert time.monotonic() < deadline, f"{tx_hash} was not mined"
        time.sleep(0.05)
    assert receipt["status"] == "0x1", receipt
    return dict(receipt)


def node_processes(data_dir: Path) -> list[int]:
    """The pids of live processes whose command line names ``data_dir`` (the node's state)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            stat = (cmdline.parent / "stat").read_text()
            if str(data_dir) in cmdline.read_bytes().decode(errors="replace") and ") Z" not in stat:
                pids.append(int(cmdline.parent.name))
    return pids


def dead_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def write_pid_file(node: LocalNode, pid: int, kind: str = "anvil") -> None:
    """A pid file as a crashed node would leave it."""
    node.data_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": pid,
        "kind": kind,
        "port": 1,
        "rpc_url": "http://127.0.0.1:1",
        "chain_id": CHAIN_ID,
        "started_at": "2024-01-01T00:00:00+00:00",
        "command": [f"/opt/{kind}", "--port", "1"],
    }
    (node.data_dir / PID_FILE).write_text(json.dumps(record))


@pytest.mark.parametrize("kind", KINDS)
def test_start_runs_a_detached_node_and_stop_ends_it(make_node: MakeNode, kind: NodeKind) -> None:
    node = make_node(kind)
    assert node.status().running is False

    started = node.start()

    assert started.running and started.managed and not started.already_running
    assert (started.kind, started.chain_id, started.block_number) == (kind, CHAIN_ID, 0)
    assert started.pid is not None and os.getsid(started.pid) == started.pid
    record = json.loads(node.pid_file.read_text())
    assert record["pid"] == started.pid and record["kind"] == kind
    assert record["rpc_url"] == started.rpc_url and record["chain_id"] == CHAIN_ID
    assert "--chain.hardfork" in record["command"] or "--hardfork" in record["command"]
    assert node.status() == started
    assert (node.data_dir / f"{kind}.log").exists()

    stopped = node.stop()

    assert (stopped.running, stopped.pid) == (False, started.pid)
    assert not node.pid_file.exists()
    assert node_processes(node.data_dir) == []
    assert node.status().running is False


@pytest.mark.parametrize("kind", KINDS)
def test_restarted_node_keeps_its_chain(make_node: MakeNode, kind: NodeKind) -> None:
    node = make_node(kind)
    url = node.start().rpc_url
    transact(url, {"to": RECIPIENT, "value": hex(1234)})
    deployed = transact(url, {"data": INIT_CODE})
    contract = deployed["contractAddress"]
    before = node.status().block_number
    node.stop()

    restarted = LocalNode(node.settings).start()

    assert restarted.block_number == before == 2
    assert int(rpc(url, "eth_getBalance", RECIPIENT, "latest"), 16) == 1234
    assert rpc(url, "eth_getCode", contract, "latest") == RUNTIME
    assert int(rpc(url, "eth_call", {"to": contract}, "latest"), 16) == 42
    logs = rpc(url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": contract})
    assert [log["topics"] for log in logs] == [[LOG_TOPIC]]
    assert rpc(url, "eth_getTransactionReceipt", deployed["transactionHash"])["status"] == "0x1"
    transact(url, {"to": RECIPIENT, "value": hex(1)})
    assert int(rpc(url, "eth_blockNumber"), 16) == 3


def test_every_transaction_answered_with_a_receipt_is_kept_across_restarts_under_load(
    make_node: MakeNode,
) -> None:
    """Senders keep sending while the node is stopped and started again: every
    transaction the node answered with a receipt is still on chain, in the same block. (anvil
    used to mine blocks while shutting down, after dumping its state: 7 of 1,958 answered
    transactions were gone after 15 restarts; it is told to stop mining first now.)"""
    node = make_node("anvil")
    url = node.start().rpc_url
    senders = rpc(url, "eth_accounts")[1:5]
    answered: dict[str, str] = {}  # tx hash -> block hash
    stopping = threading.Event()

    def send(sender: str) -> None:
        with httpx.Client(timeout=5) as http:

            def call(method: str, *params: Any) -> Any:
                body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
                return http.post(url, json=body).json()["result"]

            while not stopping.is_set():
                try:
                    tx_hash = call("eth_sendTransaction", {"from": sender, "to": RECIPIENT})
                    receipt = call("eth_getTransactionReceipt", tx_hash)  # automine: at once
                    if receipt is not None:
                        answered[tx_hash] = receipt["blockHash"]
                except (httpx.HTTPError, KeyError, ValueError):  # the node is down
                    time.sleep(0.02)

    threads = [threading.Thread(target=send, args=(a,)) for a in senders]
    for t in threads:
        t.start()
    try:
        for _ in range(RESTARTS):
            time.sleep(0.7)
            node.stop()
            node.start()
    finally:
        stopping.set()
        for t in threads:
            t.join()

    assert len(answered) > 300, "the senders should have kept the node busy"
    kept = {h: rpc(url, "eth_getTransactionReceipt", h) for h in answered}
    assert [h for h, r in kept.items() if r is None or r["blockHash"] != answered[h]] == []


#: Creation code that counts down from 1,000,000 and leaves an empty contract: about 26M gas,
#: a block anvil takes a moment to mine.
SLOW_CREATION = "0x62" + (1_000_000).to_bytes(3, "big").hex() + "5b600190038060045700"


def test_a_block_anvil_is_mining_when_stopped_is_kept_with_its_state(make_node: MakeNode) -> None:
    """The node is stopped while it mines a slow block: after the restart the chain's state and
    its blocks agree (the sender's nonce is the number of its transactions in the blocks). anvil
    used to dump the block's accounts but not the block itself: the chain then held counts and
    balances its blocks and events did not (the fault run's index found holds the chain's
    counts lacked)."""
    node = make_node("anvil")
    url = node.start().rpc_url
    for _ in range(3):
        rpc(url, "eth_sendTransaction", {"from": SENDER, "data": SLOW_CREATION, "gas": "0x1ab3f00"})
        node.stop()  # at once: the block is under way
        node.start()
    head = int(rpc(url, "eth_blockNumber"), 16)
    blocks = [rpc(url, "eth_getBlockByNumber", hex(n), True) for n in range(head + 1)]
    sent = [t for b in blocks for t in b["transactions"] if t["from"].lower() == SENDER.lower()]
    assert (len(sent), int(rpc(url, "eth_getTransactionCount", SENDER, "latest"), 16)) == (3, 3)
    receipts = [rpc(url, "eth_getTransactionReceipt", t["hash"]) for t in sent]
    assert [r["status"] for r in receipts] == ["0x1"] * 3


@pytest.mark.parametrize("kind", KINDS)
def test_crashed_node_is_reported_stale_and_restarts_with_its_chain(
    make_node: MakeNode, kind: NodeKind, caplog: pytest.LogCaptureFixture
) -> None:
    node = make_node(kind)
    first = node.start()
    pid = first.pid
    assert pid is not None
    transact(first.rpc_url, {"to": RECIPIENT, "value": hex(99)})
    if kind == "anvil":  # anvil saves its state every ANVIL_STATE_INTERVAL_SECONDS
        wait_until(lambda: anvil_saved_block(node.data_dir / ANVIL_STATE) >= 1)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: exited(pid))

    assert node.status().stale is not None and "no longer running" in str(node.status().stale)
    with caplog.at_level(logging.WARNING, logger="ledger.chain.node"):
        second = node.start()

    assert second.stale is not None and f"process {first.pid}" in second.stale
    assert "stale pid file" in caplog.text
    assert second.pid != first.pid and second.block_number == 1
    assert int(rpc(second.rpc_url, "eth_getBalance", RECIPIENT, "latest"), 16) == 99


@pytest.mark.parametrize("kind", KINDS)
def test_starting_twice_returns_the_running_node(make_node: MakeNode, kind: NodeKind) -> None:
    node = make_node(kind)
    first = node.start()

    again = LocalNode(node.settings).start()

    assert again.already_running and again.pid == first.pid
    assert node_processes(node.data_dir) == [first.pid]
    assert json.loads(node.pid_file.read_text())["pid"] == first.pid


def test_a_foreign_listener_on_the_port_is_not_taken_over(make_node: MakeNode) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        node = make_node("anvil", port=port)

        with pytest.raises(NodeAlreadyRunning) as raised:
            node.start()

    message = str(raised.value)
    assert f"port {port}" in message and "does not answer JSON-RPC" in message
    assert "VPL_NODE_PORT" in message and "VPL_RPC_URL" in message
    assert raised.value.details["port"] == port
    assert not node.pid_file.exists() and node_processes(node.data_dir) == []


def test_another_node_on_the_port_is_named(make_node: MakeNode, tmp_path: Path) -> None:
    port = free_port()
    theirs = make_node("anvil", data_dir=tmp_path / "theirs", port=port)
    theirs.start()
    ours = make_node("ganache", data_dir=tmp_path / "ours", port=port)

    with pytest.raises(NodeAlreadyRunning, match=f"port {port}.*an anvil node with chain id 1337"):
        ours.start()

    assert ours.status() == NodeStatus(
        running=True,
        managed=False,
        kind="anvil",
        pid=None,
        rpc_url=f"http://127.0.0.1:{port}",
        chain_id=CHAIN_ID,
        block_number=0,
        data_dir=ours.data_dir,
    )
    with pytest.raises(NodeNotRunning, match="did not start it, so it is left alone"):
        ours.stop()
    assert theirs.status().running


def test_stale_pid_file_of_a_dead_process_is_reported_and_cleaned(make_node: MakeNode) -> None:
    node = make_node("anvil")
    pid = dead_pid()
    write_pid_file(node, pid)

    status = node.status()

    assert status.stale is not None and f"process {pid}, which is no longer running" in status.stale
    assert (status.running, status.managed) == (False, False)
    assert node.pid_file.exists(), "status() only reports"
    started = node.start()
    assert started.stale == status.stale and started.pid != pid
    assert json.loads(node.pid_file.read_text())["pid"] == started.pid


def test_pid_file_naming_another_program_is_stale(make_node: MakeNode) -> None:
    node = make_node("anvil")
    write_pid_file(node, os.getpid())  # alive, but pytest and not a node: a reused pid

    assert "which is now another program" in str(node.status().stale)
    with pytest.raises(NodeNotRunning, match="removed a stale pid file"):
        node.stop()
    assert not node.pid_file.exists()


def test_stop_when_nothing_runs_raises_node_not_running(make_node: MakeNode) -> None:
    node = make_node("anvil")

    with pytest.raises(NodeNotRunning, match=r"no node started from .* is running"):
        node.stop()


def test_a_running_node_of_another_kind_is_refused(make_node: MakeNode, tmp_path: Path) -> None:
    port = free_port()
    anvil = make_node("anvil", port=port)
    running = anvil.start()
    ganache = make_node("ganache", data_dir=tmp_path / "anvil", port=port)

    with pytest.raises(NodeError) as raised:
        ganache.start()

    assert raised.type is NodeError
    assert "the anvil node" in str(raised.value) and "asks for ganache" in str(raised.value)
    assert "VPL_NODE=anvil" in str(raised.value)
    assert anvil.status().pid == running.pid and anvil.status().running


def test_anvil_accepts_a_zero_gas_price_transaction(make_node: MakeNode) -> None:
    url = make_node("anvil").start().rpc_url
    balance = int(rpc(url, "eth_getBalance", SENDER, "latest"), 16)

    receipt = transact(url, {"to": RECIPIENT, "value": hex(5), "gasPrice": "0x0"})

    assert int(receipt["effectiveGasPrice"], 16) == 0
    assert int(rpc(url, "eth_getBalance", SENDER, "latest"), 16) == balance - 5


def test_a_node_that_fails_to_start_is_reported_with_its_log(
    make_node: MakeNode, tmp_path: Path
) -> None:
    fake_modules = tmp_path / "node_modules"
    (fake_modules / ".bin").mkdir(parents=True)
    fake = fake_modules / ".bin" / "ganache"
    fake.write_text("#!/bin/sh\necho 'fatal: no database here' >&2\nexit 3\n")
    fake.chmod(0o755)
    settings = make_node("ganache").settings.model_copy(update={"node_modules_dir": fake_modules})
    node = LocalNode(settings)

    with pytest.raises(NodeError, match=r"(?s)ganache node did not start.*fatal: no database here"):
        node.start()

    assert not node.pid_file.exists()


def test_a_damaged_anvil_state_is_refused_with_the_way_back(make_node: MakeNode) -> None:
    node = make_node("anvil")
    url = node.start().rpc_url
    transact(url, {"to": RECIPIENT, "value": hex(7)})
    node.stop()
    node.start()  # a clean start keeps a copy of the state it began from
    node.stop()
    state, backup = node.data_dir / ANVIL_STATE, node.data_dir / ANVIL_STATE_BACKUP
    state.write_text(state.read_text()[:100])  # as a crash in the middle of a save leaves it

    with pytest.raises(NodeError, match=r"state file .* is damaged") as raised:
        node.start()

    assert f"move {backup}" in str(raised.value) and node_processes(node.data_dir) == []
    backup.replace(state)
    assert node.start().block_number == 1
    assert int(rpc(url, "eth_getBalance", RECIPIENT, "latest"), 16) == 7


def test_an_external_node_is_inspected_but_never_started_or_stopped(
    make_node: MakeNode, tmp_path: Path
) -> None:
    running = make_node("anvil").start()
    attached = LocalNode(
        Settings(_env_file=None, data_dir=tmp_path / "attach", rpc_url=running.rpc_url)  # type: ignore[call-arg]
    )
    production = LocalNode(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "prod",
            network="besu-qbft.example",
            rpc_url=f"http://127.0.0.1:{free_port()}",
        )
    )

    status = attached.status()
    assert (status.running, status.managed, status.kind, status.chain_id) == (
        True,
        False,
        "anvil",
        CHAIN_ID,
    )
    assert production.status().running is False
    for node in (attached, production):
        with pytest.raises(NodeError, match="is external"):
            node.start()
        with pytest.raises(NodeError, match="is external"):
            node.stop()


def test_wait_for_rpc_gives_up_after_its_timeout() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(NodeError, match=f"no JSON-RPC answer from {url} within 0.3 s"):
        wait_for_rpc(url, 0.3)


def test_throwaway_ports_lie_below_the_kernels_ephemeral_range() -> None:
    """A node restarted on a port in the ephemeral range could find it taken by a client's own
    connection attempt (its source port picked equal to the port it dials); seen in CI as a
    restarted anvil that could not bind its port."""
    low, _ = (
        int(part) for part in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    )

    ports = [free_port() for _ in range(50)]

    assert all(port < low for port in ports), ports


def test_a_connection_to_itself_is_not_taken_for_a_listener() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.connect(("127.0.0.1", port))  # TCP simultaneous open with itself: it succeeds
        assert node_module._connected_to_itself(sock)
    listening = free_port()
    with (
        socket.create_server(("127.0.0.1", listening)) as server,
        socket.create_connection(("127.0.0.1", listening)) as client,
    ):
        assert not node_module._connected_to_itself(client)
        server.accept()[0].close()


#: A process whose main thread exits (the raw exit system call, which ends one thread) while
#: another thread keeps its listening socket open for a while: how a killed node looks for a moment.
_MAIN_THREAD_EXITS_FIRST = """
import ctypes, platform, socket, sys, threading, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
threading.Thread(target=lambda: (time.sleep(float(sys.argv[2])), server.close())).start()
print("listening", flush=True)
ctypes.CDLL(None).syscall({"x86_64": 60, "aarch64": 93}[platform.machine()], 0)
"""


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="exit syscall number")
def test_a_node_whose_threads_still_exit_is_waited_for_before_its_port_is_judged(
    make_node: MakeNode,
) -> None:
    """A killed anvil's main thread is a zombie (and its command line empty) at once, while its
    other threads still exit and hold its port: start() found the port "taken by a program that
    does not answer JSON-RPC" (seen in CI after kill -9). It waits for the last thread instead."""
    node = make_node("anvil")
    port = node_module.host_port(node._local_config()[0].rpc_url)[1]
    process = subprocess.Popen(
        [sys.executable, "-c", _MAIN_THREAD_EXITS_FIRST, str(port), "2"],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == b"listening\n"
        wait_until(lambda: node_module.cmdline(process.pid) == [])
        assert node_module.pid_alive(process.pid), "a thread still runs and holds the port"
        write_pid_file(node, process.pid)

        started = node.start()

        assert started.stale is not None and f"process {process.pid}" in started.stale
        assert started.running and started.pid != process.pid
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
