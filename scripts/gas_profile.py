"""Where a transaction's gas goes: storage writes and reads, calls between contracts, events,
hashing, and the rest, read from the node's step-by-step trace (``debug_traceTransaction``, which
anvil answers; ganache's is the same shape).

Each step's own cost is the gas it took before the next step of its frame; a call's own cost is
what it took less what the called contract spent (that is counted under the callee's own steps).
What the steps do not account for is the transaction's intrinsic cost (21,000 and the calldata)
less the refund for storage cleared: ``intrinsic``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.types import RPCEndpoint

#: Opcode -> the part of the profile it belongs to (everything else is "compute").
PARTS = {
    "SSTORE": "storage writes",
    "SLOAD": "storage reads",
    "CALL": "calls",
    "STATICCALL": "calls",
    "DELEGATECALL": "calls",
    "CALLCODE": "calls",
    "LOG0": "events",
    "LOG1": "events",
    "LOG2": "events",
    "LOG3": "events",
    "LOG4": "events",
    "KECCAK256": "hashing",
    "SHA3": "hashing",
}
ORDER = ("intrinsic", "storage writes", "storage reads", "calls", "events", "hashing", "compute")
COUNTED = ("storage writes", "storage reads", "calls", "events")


@dataclass
class GasProfile:
    """Gas by part (see ORDER), and how many storage writes, reads and calls there were (a
    mean of several transactions holds fractions)."""

    total: float = 0
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ORDER, 0.0))
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0.0))
    #: Storage writes that filled an empty slot (20,000 gas and more each).
    new_slots: float = 0


def mean(w3: Web3, tx_hashes: list[str]) -> GasProfile:
    """The mean profile of several mined transactions."""
    each = [profile(w3, h) for h in tx_hashes]
    n = max(len(each), 1)
    return GasProfile(
        total=sum(p.total for p in each) / n,
        parts={k: sum(p.parts[k] for p in each) / n for k in ORDER},
        counts={k: sum(p.counts[k] for p in each) / n for k in COUNTED},
        new_slots=sum(p.new_slots for p in each) / n,
    )


def profile(w3: Web3, tx_hash: str) -> GasProfile:
    """The gas profile of a mined transaction."""
    used = int(w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])  # type: ignore[arg-type]
    options = {"disableStorage": True, "disableMemory": True, "disableStack": True}
    answer = w3.provider.make_request(RPCEndpoint("debug_traceTransaction"), [tx_hash, options])
    if "error" in answer:
        raise RuntimeError(f"the node does not trace transactions: {answer['error']}")
    steps: list[dict[str, Any]] = answer["result"]["structLogs"]
    if not steps and w3.eth.get_code(w3.eth.get_transaction(tx_hash)["to"] or "0x" + "00" * 20):  # type: ignore[arg-type]
        raise RuntimeError(
            f"the node kept no steps of {tx_hash}, which ran contract code: start anvil with "
            "--steps-tracing (VPL_NODE_STEPS_TRACING=true)"
        )
    out = GasProfile(total=used)
    spent = _own_costs(steps, out)
    out.parts["intrinsic"] = used - spent
    return out


def _own_costs(steps: list[dict[str, Any]], out: GasProfile) -> int:
    """Adds each step's own cost to `out`; returns what the outermost frame spent in all."""
    # what each step took up to the next step of its own frame (a call: with its callee)
    took = [0] * len(steps)
    inside = [0] * len(steps)  # what the frames a call opened spent
    caller: list[int | None] = [None] * len(steps)  # the call step whose frame a step is in
    open_calls: list[int] = []
    for i, step in enumerate(steps):
        depth = step["depth"]
        while open_calls and steps[open_calls[-1]]["depth"] >= depth:
            opened = open_calls.pop()
            took[opened] = steps[opened]["gas"] - step["gas"]
        caller[i] = open_calls[-1] if open_calls else None
        following = steps[i + 1]["depth"] if i + 1 < len(steps) else 0
        if following > depth:
            open_calls.append(i)
        elif following == depth:
            took[i] = step["gas"] - steps[i + 1]["gas"]
        else:
            took[i] = step["gasCost"]
    for i, opener in enumerate(caller):
        if opener is not None:
            inside[opener] += took[i]
    total = 0
    for i, step in enumerate(steps):
        own = took[i] - inside[i]
        op = step["op"]
        part = PARTS.get(op, "compute")
        out.parts[part] += own
        if part in COUNTED:
            out.counts[part] += 1
        if op == "SSTORE" and own >= 20_000:
            out.new_slots += 1
        if step["depth"] == 1:
            total += took[i]
    return total
