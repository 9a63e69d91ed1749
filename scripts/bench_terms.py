"""Gas of the scheme terms every spending operation reads from the SchemeRegistry:
``ledgerTerms(id)``, ``unitValueAt(id, block.number)``, ``spendingTerms(id)`` and ``policyTerms(id)``
(what spending but the exchange reads), each estimated as
a call of its own (``eth_estimateGas``: every storage slot cold, as in a transaction's first read).

    .venv/bin/python scripts/bench_terms.py [--contracts DIR]

On a fresh anvil chain: one scheme with a policy, read as admitted, then with a value change
scheduled and not yet in force, then with that change in force (blocks mined past it), then with
a second change pending; and the value at a block before both changes (an answer from the history
of changes). ``--contracts``
measures other sources (for instance an earlier commit's ``contracts/``, to compare); a function
they lack prints "-". Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from web3.exceptions import ContractLogicError, Web3Exception

from ledger.chain.contracts import SchemeFlag
from ledger.ledger import Ledger
from scripts.bench_earning import bench_chain

#: A transaction's base cost, and the calldata's (EIP-2028), so execution is shown apart.
BASE_GAS = 21_000


def calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)


def estimated(ledger: Ledger, fn: str, *args: Any) -> tuple[int, int] | None:
    """(the estimated gas of a call of `fn`, of which execution), or None if the contract has no
    such function."""
    schemes = ledger.schemes.contract
    try:
        call = getattr(schemes.functions, fn)(*args)
    except Web3Exception:
        return None
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    try:
        gas = int(ledger.w3.eth.estimate_gas({"to": schemes.address, "data": data.hex()}))  # type: ignore[typeddict-item]
    except (ContractLogicError, ValueError):
        return None
    return gas, gas - BASE_GAS - calldata_gas(data)


def setup(ledger: Ledger) -> int:
    """Deploy, and admit one scheme with a policy (a balance limit and an expiry); its id."""
    ledger.deploy()
    ledger.govern(
        [
            ledger.add_scheme_call(
                code="VOL",
                name="志愿服务积分",
                unit="分",
                issuer=ledger.operator("issuer-vol").address,
                unit_value=10_000,
                quota=10**15,
                quota_period=30 * 86400,
                flags=SchemeFlag.EXCHANGE_OUT | SchemeFlag.EXCHANGE_IN | SchemeFlag.REDEMPTION,
            )
        ]
    )
    ledger.govern([ledger.controls.policy_call(scheme="VOL", max_balance=10**9, expiry_months=24)])
    return ledger.scheme("VOL").id


def mine(ledger: Ledger, blocks: int) -> None:
    for _ in range(blocks):
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def measure(ledger: Ledger, scheme_id: int) -> dict[str, dict[str, tuple[int, int] | None]]:
    """Per state of the scheme's value: the estimates of the reads."""

    def reads() -> dict[str, tuple[int, int] | None]:
        # The estimate runs in the next block: unitValueAt(id, block.number) asks for that one.
        now = ledger.w3.eth.block_number + 1
        return {
            "ledgerTerms": estimated(ledger, "ledgerTerms", scheme_id),
            "unitValueAt(id, block.number)": estimated(ledger, "unitValueAt", scheme_id, now),
            "spendingTerms": estimated(ledger, "spendingTerms", scheme_id),
            "policyTerms": estimated(ledger, "policyTerms", scheme_id),
        }

    def change(unit_value: int) -> int:
        """Council: the scheme's value from a few blocks on; the block before the change."""
        before = ledger.w3.eth.block_number
        from_block = before + 5
        ledger.govern([ledger.schemes.set_unit_value_call(scheme_id, unit_value, from_block)])
        return before

    out = {"as admitted": reads()}
    before_change = change(12_000)
    out["a change pending"] = reads()
    mine(ledger, 5)
    out["the change in force"] = reads()
    change(14_000)
    out["a second change pending"] = reads()
    out["a second change pending"]["unitValueAt(id, a block before both)"] = estimated(
        ledger, "unitValueAt", scheme_id, before_change
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=Path, help="the Solidity sources to measure")
    args = parser.parse_args()
    with bench_chain(contracts_dir=args.contracts) as (_, settings, ledger):
        figures = measure(ledger, setup(ledger))
    print(f"scheme terms read as calls of their own (anvil; sources: {settings.contracts_dir})")
    print(f"  {'state':24} {'read':36} {'gas':>7} {'execution':>10}")
    for state, reads in figures.items():
        for fn, gas in reads.items():
            shown = f"{gas[0]:7d} {gas[1]:10d}" if gas else f"{'-':>7} {'-':>10}"
            print(f"  {state:24} {fn:36} {shown}")


if __name__ == "__main__":
    main()
