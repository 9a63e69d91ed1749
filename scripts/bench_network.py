"""Benchmark of the validator network against anvil, measured in one run on this machine.

    .venv/bin/python scripts/bench_network.py [--validators 3] [--period 1] [--records 2000]
                                              [--members 20] [--writes 5] [--gas-limit N]

On N go-ethereum clique validators (``ledger.chain.validators``, built and cached on first use) and on
anvil beside them, it deploys the contracts, registers the members, pays them one file (so they
hold points), then times:

* batch issuance of a second file of ``--records`` records, end to end (CSV read, every check,
  chunks submitted and approved with many transactions in flight, confirmed);
* relayed member writes: ``--members`` members at once, each giving points ``--writes`` times
  through the relayer (EIP-712 requests, the ERC-2771 forwarder), with the time from sending each
  write to its confirmed receipt (p50, p99);
* on the validator network only, the same batch and writes again while the validator whose RPC
  the client uses is stopped (the client fails over), then that validator restarted and checked
  to rejoin at the network's head.

Prints figures; asserts nothing (targets are checked here, never in timed unit tests).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain.relay import KeySigner, Relay
from ledger.chain.validators import ValidatorNetwork, throwaway_settings
from ledger.ledger import Ledger
from scripts.bench_earning import (
    bench_chain,
    compiled_ledger,
    cst_midnight,
    pay_file,
    setup,
    write_file,
)


@contextlib.contextmanager
def network_chain(
    count: int, period: int, gas_limit: int | None
) -> Iterator[tuple[Path, ValidatorNetwork, Ledger]]:
    """A fresh validator network in a temporary directory: (its directory, the network, a
    Ledger on it, failing over between the nodes' RPC URLs); torn down at the end."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = throwaway_settings(
            root, name="clique-bench", count=count, period_seconds=period, gas_limit=gas_limit
        )
        network = ValidatorNetwork(settings)
        network.install()  # built (once) outside any timing
        network.up()
        with compiled_ledger(settings, stop=network.down) as ledger:
            yield root, network, ledger


def prepare(ledger: Ledger, root: Path, records: int, writers: int) -> dict[str, Any]:
    """Contracts, the scheme and its roles, `records` members (the first `writers` with keys
    here, for relayed writes), and a first file paid so every member holds points."""
    keys = [Account.create() for _ in range(writers)]
    members = [k.address for k in keys] + [
        Web3.to_checksum_address(Account.create().address) for _ in range(records - writers)
    ]
    started = time.perf_counter()
    roles = setup(ledger, members, per_registration=200)
    today = cst_midnight(ledger)
    first = root / "first.csv"
    write_file(first, members, today - 3 * 86400 + 8 * 3600, "D1")
    pay_file(ledger, roles, first, 200)
    return {
        "roles": roles,
        "members": members,
        "keys": keys,
        "today": today,
        "setup_seconds": time.perf_counter() - started,
    }


def batch_rate(ledger: Ledger, root: Path, world: dict[str, Any], day: int, tag: str) -> float:
    """Records per second paying one more file of every member's service on `day` days back."""
    path = root / f"{tag}.csv"
    write_file(path, world["members"], world["today"] - day * 86400 + 8 * 3600, tag)
    started = time.perf_counter()
    report = pay_file(ledger, world["roles"], path, 200)
    seconds = time.perf_counter() - started
    assert report.paid_records == len(world["members"]), report
    return report.paid_records / seconds


def relayed_writes(ledger: Ledger, keys: Sequence[LocalAccount], writes: int) -> dict[str, float]:
    """Every member gives 1 point to the next `writes` times, all members at once; ops/s and the
    send-to-confirmed times."""
    relay = Relay(ledger)
    latencies: list[float] = []

    def member(index: int) -> None:
        signer = KeySigner(account=keys[index], relay=relay)
        recipient = keys[(index + 1) % len(keys)].address
        for _ in range(writes):
            started = time.perf_counter()
            ledger.gifts.give(
                operator=signer, scheme="VOL", giver=signer.address, recipient=recipient, amount=1
            )
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        list(pool.map(member, range(len(keys))))
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "ops": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def row(name: str, batch: float, writes: dict[str, float], note: str = "") -> str:
    return (
        f"{name:28} {batch:10.0f} {writes['ops']:9.1f} {writes['p50']:8.2f} "
        f"{writes['p99']:8.2f}  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validators", type=int, default=3)
    parser.add_argument("--period", type=int, default=1, help="block period in seconds")
    parser.add_argument("--records", type=int, default=2_000, help="records per file")
    parser.add_argument("--members", type=int, default=20, help="members writing at once")
    parser.add_argument("--writes", type=int, default=5, help="relayed writes per member")
    parser.add_argument("--gas-limit", type=int, default=None, help="block gas limit")
    args = parser.parse_args()

    print(f"{'chain':28} {'batch rec/s':>10} {'writes/s':>9} {'p50 s':>8} {'p99 s':>8}", flush=True)
    with bench_chain("anvil") as (root, _, ledger):
        world = prepare(ledger, root, args.records, args.members)
        anvil_batch = batch_rate(ledger, root, world, 2, "D2")
        anvil_writes = relayed_writes(ledger, world["keys"], args.writes)
        print(row("anvil (instant blocks)", anvil_batch, anvil_writes), flush=True)

    with network_chain(args.validators, args.period, args.gas_limit) as (root, network, ledger):
        world = prepare(ledger, root, args.records, args.members)
        net_batch = batch_rate(ledger, root, world, 2, "D2")
        net_writes = relayed_writes(ledger, world["keys"], args.writes)
        name = f"clique {args.validators} validators"
        gas = ledger.w3.eth.get_block("latest")["gasLimit"]
        print(
            row(name, net_batch, net_writes, f"period {args.period} s, block gas {gas:,}"),
            flush=True,
        )
        used = network.validators()[0]
        network.stop_node(used.number)
        down_batch = batch_rate(ledger, root, world, 1, "D3")
        down_writes = relayed_writes(ledger, world["keys"], args.writes)
        print(
            row(
                f"  validator {used.number} stopped", down_batch, down_writes, "client failed over"
            ),
            flush=True,
        )
        network.start_node(used.number)
        deadline = time.monotonic() + 60
        heads: list[int] = []
        while time.monotonic() < deadline:
            heads = [s.head or 0 for s in network.status()]
            if min(heads) >= max(heads) - 1:
                break
            time.sleep(1)
        print(f"  validator {used.number} restarted: heads {heads}", flush=True)
        print(
            f"setup on the network (deploy, scheme, members, first file): {world['setup_seconds']:.0f} s"
        )
    print(
        f"ratios: batch network/anvil {net_batch / anvil_batch:.2f}, writes network/anvil "
        f"{net_writes['ops'] / anvil_writes['ops']:.2f}, batch with a validator down/all up "
        f"{down_batch / net_batch:.2f}"
    )
    print("target: batch issuance on the validator network >= 1000 records/s")


if __name__ == "__main__":
    main()
