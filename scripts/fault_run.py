"""Faults while working: members, a registrar, an organiser and a reviewer write through the HTTP
API, and an organiser pays a batch file with the CLI, while the API process, the chain's nodes,
the store's database server and the batch run are killed and restarted at random moments; then
every acknowledged write is checked against the chain.

    .venv/bin/python scripts/fault_run.py [--seconds 120] [--clients 20] [--seed N]
                                          [--chain anvil|network] [--database sqlite|postgres]
                                          [--faults batch,api,node,disk] [--json FILE]

Setup: a chain of its own, ``--chain anvil`` (one anvil node, instant blocks) or ``--chain
network`` (three go-ethereum clique validators sealing a block a second, ``ledger.chain
.validators``; the API and the CLI fail over between their RPC URLs), with the spending
benchmark's schemes and catalogue; the store on ``--database sqlite`` (a file) or ``postgres`` (a
PostgreSQL server the run starts itself, ``scripts/pg_server.py``). Members with keys of their
own hold VOL points from batch issuance. The API runs under uvicorn in a process of its own.

Workload, for ``--seconds`` (``scripts/fault_workload.py``): members with keys of their own
post, accept and confirm time-bank requests, redeem, give, exchange and cancel; a registrar
registers people; an organiser submits single records a reviewer approves or rejects. Each write
is signed on the writer's side (the 428 round trip) and sent with an Idempotency-Key; when the
answer is lost (the connection broke, the API answered 5xx, or 409 idempotency_in_progress) the
writer sends the same signed request with the same key again, until it has a definite answer:
2xx (acknowledged) or 4xx (refused). Meanwhile a batch file paying every member (and
``--batch-members`` more) an hour of service is run by ``vpl issue batch`` in a process of its
own.

Faults (``--faults``; by default every one the chain and the database can take), in turn, at
random moments ``--interval`` seconds apart on average:

* ``batch``: kill -9 of the batch run, which is then run again until it finishes;
* ``api``: kill -9 of the API process and a new one started on the same port;
* ``node`` (anvil): the chain node stopped and started again (its state kept);
* ``validator`` (network): kill -9 of one validator, any of the three (the one the API and the
  CLI talk to as well: they fail over), started again a few seconds later; the other two keep
  sealing;
* ``disk`` (SQLite): the store's disk full for the API for a few seconds (it may not make any file
  bigger than the store's files are: RLIMIT_FSIZE set on the running process);
* ``postgres`` (PostgreSQL): the database server crashed under the API and the CLI, in turn
  ``pg_ctl stop -m immediate`` or kill -9 of the postmaster, and started again after a moment
  (crash recovery); every connection the processes held is cut.

Checks, after the faults (``fault_workload.check``): every acknowledged write is on chain exactly
once and nothing else ran, each kind in a count of its own, in the state its acknowledged steps
left; each write sent again with its key answers the same result; each member's available VOL, BEE
and TIME points are what the acknowledged writes and the batch leave; the batch run again pays
nothing; the event index, synced, reconciles each scheme's supply with the chain and holds exactly
the events of an index rebuilt from the chain alone; the store's anchor verifies. Prints the table
(faults injected, operations attempted, acknowledged, refused, lost, doubled) and each check; exits
1 when anything was lost or doubled or a check failed, 2 when the faults asked for do not fit the
chain or the database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlmodel import Session, select

from ledger.chain.node import LocalNode
from ledger.chain.node.host import free_port
from ledger.chain.validators import ValidatorNetwork
from ledger.config import Settings
from ledger.ledger import Ledger
from ledger.store import make_engine
from ledger.store.index import IndexEvent
from scripts.bench_api import sign_in, start_api
from scripts.bench_earning import bench_chain, cst_midnight, write_file
from scripts.bench_network import network_chain
from scripts.bench_spending import issue, setup
from scripts.fault_workload import (
    STOPPED,
    Board,
    Write,
    Writers,
    available,
    check,
    member,
    organiser,
    registrar,
    reviewer,
)
from scripts.pg_server import PostgresServer, postgres_server

REPO = Path(__file__).resolve().parents[1]
#: Points the run's batch file pays each member (an hour at 50 points an hour).
BATCH_POINTS = 50
FAULTS = ("batch", "api", "node", "validator", "disk", "postgres")
#: The faults only one chain or one database can take: the option and value they need, and what
#: to say to a run that asks for one without it.
NEEDS = {
    "node": ("chain", "anvil", "it stops the one anvil node; on --chain network the fault "
             "'validator' kills one validator of three"),
    "validator": ("chain", "network", "it kills a validator of the clique network"),
    "disk": ("database", "sqlite", "it fills the disk of the SQLite store's files for the API "
             "process (RLIMIT_FSIZE); with --database postgres the fault 'postgres' crashes the "
             "database server instead"),
    "postgres": ("database", "postgres", "it crashes the PostgreSQL server under the API"),
}  # fmt: skip
#: Members only the organiser's single records pay (not the batch: a volunteer's records are
#: paid in time order, and the batch and the reviewer pay at once).
VOLUNTEERS = 100
#: Validators of the network (``--chain network``): with three, any two keep sealing.
VALIDATORS = 3


class Api:
    """The API process, on one port across restarts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = start_api(settings, self.port)
        self.lock = threading.Lock()

    def kill_and_restart(self) -> None:
        with self.lock:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = start_api(self.settings, self.port)

    def fill_disk(self, seconds: float) -> None:
        """For `seconds`, the API process may not make a file bigger than the store's files are
        now (RLIMIT_FSIZE; Python ignores SIGXFSZ, so a write past it fails as on a full disk)."""
        store = self.settings.data_dir / "vpl.db"
        parts = [store, store.with_name("vpl.db-wal")]
        full = max(p.stat().st_size for p in parts if p.exists())
        with self.lock:
            pid = self.process.pid
            # the soft limit only: lifting it again needs no privilege
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (full, resource.RLIM_INFINITY))
            try:
                time.sleep(seconds)
            finally:
                if self.process.poll() is None:
                    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                    resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def cli(settings: Settings, rpc_url: str | None = None) -> tuple[dict[str, str], list[str]]:
    """The environment and the command line of a `vpl --json` run on the run's chain and store
    (on an anvil node: the settings' node, or the one at `rpc_url`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPL_")}
    env["VPL_DEPLOYMENTS_DIR"] = str(settings.resolved_deployments_dir)
    if settings.database_url:
        env["VPL_DATABASE_URL"] = settings.database_url
    args = [sys.executable, "-m", "scripts.cli", "--data-dir", str(settings.data_dir), "--json"]
    if settings.node is not None:  # the anvil node the run started
        args[-1:-1] = ["--rpc-url", rpc_url or settings.network_config.rpc_url]
    else:  # the validator network's own file: every node's URL, to fail over between them
        env.update(VPL_NETWORK=settings.network, VPL_CONFIG_DIR=str(settings.config_dir))
    return env, args


class Batch:
    """`vpl issue batch` over the run's file, in a process of its own: killed and run again."""

    #: Runs that fail by themselves (not killed) before one ends well: then the run gives up.
    MOST_FAILURES = 20

    def __init__(self, settings: Settings, path: Path, chunk: int) -> None:
        self.env, command = cli(settings)
        self.args = [*command, "issue", "batch", str(path), "--scheme", "VOL",
                     "--chunk", str(chunk), "--organiser", "issuer-bee"]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None
        self.runs = 0
        self.failed = 0  # runs that ended badly by themselves
        self.failures: list[str] = []  # what each of them said last
        self.outputs: list[str] = []

    def start(self) -> None:
        self.runs += 1
        self.process = subprocess.Popen(
            self.args, env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def revive(self) -> bool:
        """Start the run again if it failed by itself (a fault under it): whether it had."""
        if self.process is None or self.process.poll() in (None, 0):
            return False
        out, err = self.process.communicate()
        self.outputs.append(out + err)
        self.failures.append((out + err)[-1500:])
        self.failed += 1
        self.start()
        return True

    def kill(self) -> bool:
        """Kill the run if it is still going (and start it again): whether it was."""
        if not self.running():
            return False
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.start()
        return True

    def finish(self, all_up: Callable[[], None]) -> dict[str, Any]:
        """Run until a run ends well (a run a fault broke is run again, everything up): its
        answer."""
        for _ in range(self.MOST_FAILURES):
            assert self.process is not None
            out, err = self.process.communicate(timeout=600)
            self.outputs.append(out + err)
            if self.process.returncode == 0:
                return dict(json.loads(out))
            self.failures.append((out + err)[-1500:])
            self.failed += 1
            all_up()
            self.start()
        raise RuntimeError(f"the batch run failed {self.MOST_FAILURES} times: {self.outputs[-1]}")


class Nodes(Protocol):
    """The chain's nodes, as the faults see them."""

    def fault(self) -> str:
        """Stop one node and start it again: what was done."""
        ...

    def up(self) -> None:
        """Every node running."""
        ...


class AnvilNode:
    """The one anvil node: stopped and started again, its state kept."""

    def __init__(self, settings: Settings) -> None:
        self.node = LocalNode(settings)
        self.lock = threading.Lock()

    def fault(self) -> str:
        with self.lock:
            self.node.stop()
            time.sleep(random.uniform(0.5, 2.0))
            self.node.start()
        return "node stopped"

    def up(self) -> None:
        with self.lock:
            self.node.start()


class Validators:
    """The clique validators: one at a time killed (-9) and started again a few seconds later."""

    def __init__(self, network: ValidatorNetwork) -> None:
        self.network = network
        self.lock = threading.Lock()

    def fault(self) -> str:
        number = random.randint(1, VALIDATORS)
        with self.lock:
            self.network.stop_node(number, kill=True)
            time.sleep(random.uniform(2.0, 5.0))
            self.network.start_node(number)  # and peered with the others again
        return f"validator {number} killed"

    def up(self) -> None:
        with self.lock:
            for status in self.network.status():
                if not status.running:
                    self.network.start_node(status.number)


class Postgres:
    """The store's PostgreSQL server crashed, in turn by ``pg_ctl stop -m immediate`` and by
    kill -9 of its postmaster, and started again after a moment (crash recovery)."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.lock = threading.Lock()
        self.turns = 0

    def fault(self) -> str:
        with self.lock:
            self.turns += 1
            if self.turns % 2:
                self.server.stop("immediate")
                time.sleep(random.uniform(0.5, 3.0))
                self.server.start()
                return "postgres stopped -m immediate"
            self.server.kill()
            time.sleep(random.uniform(0.5, 3.0))
            self.server.start_after_kill()
            return "postgres postmaster killed"

    def up(self) -> None:
        with self.lock:
            if self.server.postmaster() is None:
                self.server.start_after_kill()


class Faults:
    """Kills and restarts at random moments, `interval` seconds apart on average."""

    def __init__(
        self, kinds: list[str], api: Api, batch: Batch, nodes: Nodes, store: Postgres | None
    ) -> None:
        self.kinds, self.api, self.batch, self.nodes, self.store = kinds, api, batch, nodes, store
        self.injected: Counter[str] = Counter()
        #: (seconds into the run, what was done), in order.
        self.log: list[tuple[float, str]] = []
        self.began = time.monotonic()

    def all_up(self) -> None:
        """The chain's nodes and the database server running."""
        self.nodes.up()
        if self.store is not None:
            self.store.up()

    def inject(self, kind: str) -> None:
        at = time.monotonic() - self.began
        if kind == "api":
            self.api.kill_and_restart()
            done = "api killed"
        elif kind in ("node", "validator"):
            done = self.nodes.fault()
        elif kind == "batch":
            if not self.batch.kill():
                return  # the run had finished: nothing to kill
            done = "batch killed"
        elif kind == "disk":
            seconds = random.uniform(1.0, 3.0)
            self.api.fill_disk(seconds)
            done = f"disk full {seconds:.1f} s"
        else:
            assert kind == "postgres" and self.store is not None
            done = self.store.fault()
        self.injected[kind] += 1
        self.log.append((round(at, 1), done))
        print(f"fault at {at:.1f} s: {done}", file=sys.stderr, flush=True)

    def run(self, end: float, interval: float) -> None:
        """Until `end`: each kind in turn, at random moments `interval` seconds apart on average
        (after the last one is over); a batch run that failed by itself (under another fault) is
        started again."""
        self.began = time.monotonic()
        turn = 0
        while time.monotonic() < end - 2:
            # the first soon: the batch run is killed while it pays
            time.sleep(
                random.uniform(0.3, 1.7) * interval if turn else random.uniform(0.2, 0.6) * interval
            )
            self.batch.revive()
            if time.monotonic() < end - 2:
                self.inject(self.kinds[turn % len(self.kinds)])
                turn += 1


def audit(settings: Settings, rpc_url: str | None = None) -> list[str]:
    """The index synced and each scheme reconciled; the index the run's processes kept equal to
    one rebuilt from the chain alone; the store anchored and verified: the problems. When a
    scheme does not reconcile, what tells the index from the chain apart (``out_of_step``)."""
    env, base = cli(settings, rpc_url)

    def vpl(*step: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *step], env=env, cwd=REPO, capture_output=True, text=True)

    problems: list[str] = []

    def check(*step: str) -> None:
        done = vpl(*step)
        if done.returncode != 0:
            problems.append(f"vpl {' '.join(step)}: exit {done.returncode}: {done.stdout[-800:]}")

    check("index", "sync")
    for code in ("VOL", "BEE", "TIME"):
        check("audit", "reconcile", code)
    unreconciled = any(p.startswith("vpl audit reconcile") for p in problems)
    problems += rebuilt_index(settings, vpl)
    if unreconciled:
        problems += out_of_step(settings, vpl)
    check("audit", "anchor")
    check("audit", "verify-store")
    return problems


def index_events(settings: Settings) -> set[tuple[int, int, str, str, str]]:
    """Every event the store's index holds: (block, log index, transaction, contract, event)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as db:
            rows = db.exec(select(IndexEvent)).all()
            return {(r.block_number, r.log_index, r.tx_hash, r.contract, r.event) for r in rows}
    finally:
        engine.dispose()


Vpl = Callable[..., "subprocess.CompletedProcess[str]"]


def rebuilt_index(settings: Settings, vpl: Vpl) -> list[str]:
    """The index the run kept against one rebuilt from the chain alone (reset, synced): the
    events only one of them holds (none when the index equals the chain)."""
    kept = index_events(settings)
    for step in (["index", "reset", "--yes"], ["index", "sync"]):
        done = vpl(*step)
        if done.returncode != 0:
            return [f"vpl {' '.join(step)}: exit {done.returncode}: {done.stdout[-800:]}"]
    rebuilt = index_events(settings)
    if kept == rebuilt:
        return []
    return [
        f"the index the run kept ({len(kept)} events) is not the one rebuilt from the chain "
        f"({len(rebuilt)})",
        *[f"only in the kept index: {e}" for e in sorted(kept - rebuilt)[:20]],
        *[f"only in the rebuilt index: {e}" for e in sorted(rebuilt - kept)[:20]],
    ]


def out_of_step(settings: Settings, vpl: Vpl) -> list[str]:
    """After a scheme did not reconcile (the index rebuilt by now): whether the rebuilt index
    reconciles each scheme (if not, the chain's events and its own counts disagree), the node's
    eth_getLogs against its blocks' receipts, and each sender's nonce against its transactions
    in the blocks."""
    found = [
        f"the index rebuilt from the chain reconciles {code}: "
        f"{vpl('audit', 'reconcile', code).returncode == 0}"
        for code in ("VOL", "BEE", "TIME")
    ]
    return [*found, *logs_against_receipts(settings), *nonces_against_history(settings)]


def nonces_against_history(settings: Settings) -> list[str]:
    """Each sender's nonce in the chain's state against the transactions its blocks hold from
    it: a node that kept a block's effects but not the block (or the reverse) shows here."""
    ledger = Ledger(settings)
    try:
        w3 = ledger.w3
        sent: Counter[str] = Counter()
        for number in range(w3.eth.block_number + 1):
            for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
                sent[tx["from"]] += 1  # type: ignore[index,call-overload]
        differ = []
        for sender, count in sorted(sent.items()):
            nonce = w3.eth.get_transaction_count(sender)  # type: ignore[arg-type]
            if nonce != count:
                differ.append(f"{sender}: nonce {nonce}, {count} transactions in the blocks")
        return [f"senders whose nonce is not their transactions in the blocks: {differ or 'none'}"]
    finally:
        ledger.close()


def logs_against_receipts(settings: Settings) -> list[str]:
    """The node's answer to eth_getLogs against the logs in its blocks' receipts, block by block
    (the index reads the first): the blocks where they differ."""
    ledger = Ledger(settings)
    try:
        w3, manifest = ledger.w3, ledger.manifest
        ours = [c.address for c in manifest.contracts.values()]
        lowered = {a.lower() for a in ours}
        head = w3.eth.block_number
        by_logs: Counter[int] = Counter()
        for first in range(manifest.deploy_block, head + 1, 500):
            query = {"fromBlock": first, "toBlock": min(first + 499, head), "address": ours}
            by_logs.update(int(entry["blockNumber"]) for entry in w3.eth.get_logs(query))  # type: ignore[arg-type]
        by_receipts: Counter[int] = Counter()
        for number in range(manifest.deploy_block, head + 1):
            receipts = w3.provider.make_request("eth_getBlockReceipts", [hex(number)])["result"]  # type: ignore[arg-type]
            for receipt in receipts or []:
                by_receipts[number] += sum(
                    1 for e in receipt["logs"] if e["address"].lower() in lowered
                )
        differ = [
            n for n in sorted(set(by_logs) | set(by_receipts)) if by_logs[n] != by_receipts[n]
        ]
        found = [f"eth_getLogs and the receipts differ in {len(differ)} of {head} blocks"]
        for number in differ[:10]:
            block = w3.eth.get_block(number)
            found.append(
                f"block {number}: {by_logs[number]} logs by eth_getLogs, {by_receipts[number]} in "
                f"its receipts; its logsBloom {'empty' if not any(block['logsBloom']) else 'set'}"
            )
        return found
    finally:
        ledger.close()


@contextlib.contextmanager
def run_store(database: str) -> Iterator[Postgres | None]:
    """The run's store: SQLite (the data directory's file, None here), or a PostgreSQL server of
    its own, named in ``VPL_DATABASE_URL`` for every process of the run (this one's Settings, the
    API's and the CLI's)."""
    if database == "sqlite":
        yield None
        return
    with postgres_server() as server:
        os.environ["VPL_DATABASE_URL"] = server.url
        try:
            yield Postgres(server)
        finally:
            del os.environ["VPL_DATABASE_URL"]


@contextlib.contextmanager
def run_chain(kind: str) -> Iterator[tuple[Path, Settings, Ledger, Nodes]]:
    """A chain of the run's own, torn down at the end: (its directory, its settings, a Ledger on
    it, its nodes)."""
    if kind == "anvil":
        with bench_chain() as (root, settings, ledger):
            yield root, settings, ledger, AnvilNode(settings)
    else:
        with network_chain(VALIDATORS, 1, None) as (root, network, ledger):
            yield root, network.settings, ledger, Validators(network)


def register(ledger: Ledger, members: list[str]) -> None:
    """Register members who only the batch file pays (no keys, no proxy)."""
    registrar = ledger.operator("registrar")
    for first in range(0, len(members), 200):
        chunk = members[first : first + 200]
        ledger.members.register_batch(registrar, chunk, [keccak(text=m) for m in chunk])


def fault_kinds(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The faults asked for (by default, every one the chain and the database can take); one
    they cannot take is refused, saying why."""
    chosen = {"chain": args.chain, "database": args.database}
    if args.faults is None:
        return [k for k in FAULTS if k not in NEEDS or chosen[NEEDS[k][0]] == NEEDS[k][1]]
    kinds = [k for k in args.faults.split(",") if k]
    for kind in kinds:
        if kind not in FAULTS:
            parser.error(f"no fault {kind!r}: the faults are {', '.join(FAULTS)}")
        if kind in NEEDS and chosen[NEEDS[kind][0]] != NEEDS[kind][1]:
            option, value, why = NEEDS[kind]
            parser.error(
                f"the fault {kind!r} needs --{option} {value} (this run has --{option} "
                f"{chosen[option]}): {why}"
            )
    if not kinds:
        parser.error("--faults names no fault")
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the clients write")
    parser.add_argument("--clients", type=int, default=20, help="members writing at once")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--chain",
        choices=("anvil", "network"),
        default="anvil",
        help="one anvil node, or a network of three clique validators (1 s blocks)",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the store: a SQLite file, or a PostgreSQL server the run starts itself",
    )
    parser.add_argument(
        "--faults",
        default=None,
        help=f"comma-separated, of {', '.join(FAULTS)} (node: anvil only; validator: network "
        "only; disk: sqlite only; postgres: postgres only); default: every one the chain and "
        "the database can take",
    )
    parser.add_argument(
        "--batch-members",
        type=int,
        default=400,
        help="members the batch file pays besides the clients",
    )
    parser.add_argument("--batch-chunk", type=int, default=5, help="records per batch chunk")
    parser.add_argument("--interval", type=float, default=4.0, help="mean seconds between faults")
    parser.add_argument("--json", type=Path, help="write the outcome here as JSON")
    args = parser.parse_args(argv)
    kinds = fault_kinds(parser, args)
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    random.seed(seed)

    began = time.monotonic()
    seconds: dict[str, float] = {}
    with (
        run_store(args.database) as store,
        run_chain(args.chain) as (root, settings, ledger, nodes),
    ):
        accounts: list[LocalAccount] = [Account.create() for _ in range(args.clients)]
        members = [a.address for a in accounts]
        others = [Account.create().address for _ in range(args.batch_members)]
        keys = setup(ledger, members)
        staff = [ledger.operator("registrar"), keys["organiser"], keys["reviewer"]]
        volunteers = [Account.create().address for _ in range(VOLUNTEERS)]
        register(ledger, others + volunteers)
        today = cst_midnight(ledger)
        for code, back, hour in (
            ("VOL", 5, 8),
            ("VOL", 4, 8),
            ("TIME", 5, 14),
        ):
            issue(ledger, keys, members, code, today - back * 86400 + hour * 3600, root)
        batch_file = root / "batch.csv"
        write_file(batch_file, members + others, today - 3 * 86400 + 8 * 3600, "faults")
        item, price = keys["items"]["VOL"]
        start = available(ledger, members, ("VOL", "BEE", "TIME"))
        start.update(available(ledger, others + volunteers, ("VOL",)))
        for paid in [*members, *others]:  # by the run's batch
            start[(paid, "VOL")] += BATCH_POINTS
        ledger.close()  # the API and the CLI have the store from here on

        api = Api(settings)
        batch = Batch(settings, batch_file, args.batch_chunk)
        faults = Faults(kinds, api, batch, nodes, store)
        writes: list[Write] = []
        signers: dict[str, LocalAccount] = {a.address: a for a in [*accounts, *staff]}
        try:
            with httpx.Client(base_url=api.base, timeout=60) as http:
                tokens = {address: sign_in(http, a) for address, a in signers.items()}
            seconds["setup"] = time.monotonic() - began
            end = time.monotonic() + args.seconds
            writers = Writers(api.base, end, tokens, writes, Board())
            batch.start()
            threads = [
                *[threading.Thread(target=member, args=(writers, a, members, item, price))
                  for a in accounts],
                threading.Thread(target=registrar, args=(writers, staff[0])),
                threading.Thread(target=organiser,
                                 args=(writers, staff[1], volunteers, today - 2 * 86400)),
                threading.Thread(target=reviewer, args=(writers, staff[2])),
            ]  # fmt: skip
            for t in threads:
                t.start()
            faults.run(end, args.interval)
            for t in threads:
                t.join()
            faults.all_up()
            batch.finish(faults.all_up)
            batch.start()  # once more: it must find every record paid
            batch_again = batch.finish(faults.all_up)
            seconds["run"] = time.monotonic() - began - seconds["setup"]
            ledger = Ledger(settings)
            counts, problems = check(ledger, api.base, writes, signers, tokens, price, start)
            if batch_again.get("paid"):
                problems.append(f"the batch run again paid {batch_again['paid']} records")
            ledger.close()
        finally:
            STOPPED.set()
            api.stop()
        STOPPED.clear()
        seconds["checks"] = time.monotonic() - began - seconds["setup"] - seconds["run"]
        problems += audit(settings)
        seconds["audit"] = time.monotonic() - began - sum(seconds.values())

    attempted = len(writes)
    acknowledged = sum(w.acknowledged for w in writes)
    refused = Counter(
        str(w.answer.get("error", {}).get("code", w.status)) for w in writes if not w.acknowledged
    )
    print(
        f"faults while working: {args.clients} clients, {args.seconds:.0f} s, {args.chain} chain, "
        f"{args.database} store, seed {seed}"
    )
    print(
        f"  {'faults injected':24} "
        + ", ".join(f"{k} x{faults.injected[k]}" for k in dict.fromkeys(kinds))
    )
    print(
        f"  {'batch runs':24} {batch.runs} (the last one again after it finished; "
        f"{batch.failed} failed by themselves under a fault)"
    )
    print(f"  {'seconds':24} " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))
    print(f"  {'operations attempted':24} {attempted}")
    print(f"  {'acknowledged':24} {acknowledged}")
    print(
        f"  {'refused':24} {sum(refused.values())} "
        + " ".join(f"{c} x{n}" for c, n in refused.items())
    )
    print(f"  {'sent more than once':24} {sum(w.attempts > 2 for w in writes)}")
    transient = Counter(s for w in writes for s in w.transient)
    names = {0: "connection lost"}
    print(f"  {'answers before the last':24} " + ", ".join(
        f"{names.get(s, s)} x{n}" for s, n in sorted(transient.items())))  # fmt: skip
    print(f"  {'lost (must be 0)':24} {counts['lost']}")
    print(f"  {'doubled (must be 0)':24} {counts['doubled']}")
    print(f"  {'by kind':24} {'attempted':>9} {'acknowledged':>12} {'lost':>5} {'doubled':>7}")
    for kind, n in counts["by_kind"].items():
        print(f"    {kind:22} {n['attempted']:>9} {n['acknowledged']:>12} {n['lost']:>5} "
              f"{n['doubled']:>7}")  # fmt: skip
    for problem in problems:
        print("  PROBLEM", problem)
    if not problems:
        print("  every check passed: replays, balances, the batch, reconciliation, the store")
    if args.json:
        outcome = {
            "seed": seed,
            "chain": args.chain,
            "database": args.database,
            "faults": dict(faults.injected),
            "fault_log": faults.log,
            "batch_runs": batch.runs,
            "batch_failed": batch.failed,
            "batch_failures": batch.failures,
            "attempted": attempted,
            "acknowledged": acknowledged,
            "refused": dict(refused),
            "retried": sum(w.attempts > 2 for w in writes),
            "transient": {str(s): n for s, n in transient.items()},
            **counts,
            "problems": problems,
            "by_kind": counts["by_kind"],
            "refusals": [w.shown() for w in writes if not w.acknowledged],
        }
        args.json.write_text(json.dumps(outcome, indent=2), encoding="utf-8")
    return 1 if problems or counts["lost"] or counts["doubled"] else 0


if __name__ == "__main__":
    sys.exit(main())
