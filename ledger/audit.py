"""Auditors' checks over the chain and the event index.

``reconcile`` compares, for one scheme at one block, what the PointsLedger's own counters say
(issued + minted - burned = total supply, part of it held) with what the index's movements add
up to (points created from the zero address, destroyed to it, and where the rest sits: members,
funds, the ledger's holds). The chain is the source of truth: the counters are read at that block
with ``eth_call``, the index is only ever asked about blocks it holds, and any difference is
reported as a finding with the figures on both sides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ledger.errors import IndexBehind, InputError
from ledger.store.index import PointMovement

if TYPE_CHECKING:
    from ledger.index_queries import IndexQueries
    from ledger.ledger import Ledger

ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class Reconciliation:
    scheme_id: int
    scheme: str
    block: int
    #: The PointsLedger's counters at `block`.
    issued: int
    minted: int
    burned: int
    total_supply: int
    held: int
    #: What the index's movements up to `block` add up to.
    created: int
    destroyed: int
    in_accounts: int
    in_holds: int
    #: Accounts holding points at `block`, by the index.
    holders: int
    #: Each difference found, said plainly; empty when everything agrees.
    findings: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        return not self.findings


def reconcile(
    ledger: Ledger, index: IndexQueries, scheme: str | int, *, block: int | None = None
) -> Reconciliation:
    """Supply of `scheme` at `block` (default: the block the index holds), on chain and by the
    index; InputError for a block before the deployment, IndexBehind past the indexed block."""
    s = ledger.scheme(scheme)
    indexed, head = index.indexed()
    if indexed < 0:
        raise IndexBehind("the index has not synced yet: run `vpl index sync` first")
    at = indexed if block is None else block
    deployed = ledger.manifest.deploy_block
    if isinstance(at, bool) or not isinstance(at, int) or at < deployed:
        raise InputError(f"a block from the deployment on ({deployed}), not {block!r}")
    if at > indexed:
        raise IndexBehind(
            f"the index holds the chain up to block {indexed}, not {at}: wait for it to catch up "
            f"({head - indexed} blocks behind at its last sync) or ask about an earlier block",
            indexed_block=indexed,
            chain_head=head,
            blocks_behind=max(head - indexed, 0),
        )
    points = ledger.points.contract.functions
    issued = int(points.issued(s.id).call(block_identifier=at))
    minted = int(points.minted(s.id).call(block_identifier=at))
    burned = int(points.burned(s.id).call(block_identifier=at))
    total = int(points.totalSupply(s.id).call(block_identifier=at))
    held = int(points.heldTotal(s.id).call(block_identifier=at))

    ledger_address = ledger.points.address.lower()
    balances: dict[str, int] = defaultdict(int)
    created = destroyed = 0
    with Session(index.engine) as db:
        rows = db.exec(
            select(PointMovement.from_address, PointMovement.to_address, PointMovement.amount)
            .where(col(PointMovement.scheme_id) == s.id)
            .where(col(PointMovement.block_number) <= at)
            .execution_options(yield_per=5_000)
        )
        for source, target, amount_text in rows:
            amount = int(amount_text)
            if source == ZERO:
                created += amount
            else:
                balances[source] -= amount
            if target == ZERO:
                destroyed += amount
            else:
                balances[target] += amount
    in_holds = balances.pop(ledger_address, 0)
    in_accounts = sum(balances.values())
    findings = []
    if issued + minted - burned != total:
        findings.append(
            f"on chain, issued {issued} + minted {minted} - burned {burned} is not the total "
            f"supply {total}"
        )
    if created != issued + minted:
        findings.append(
            f"the index saw {created} points created, the chain counts {issued + minted}"
        )
    if destroyed != burned:
        findings.append(f"the index saw {destroyed} points destroyed, the chain counts {burned}")
    if in_holds != held:
        findings.append(f"the index puts {in_holds} points in holds, the chain {held}")
    if in_accounts + in_holds != total:
        findings.append(
            f"accounts ({in_accounts}) and holds ({in_holds}) by the index are not the total "
            f"supply {total}"
        )
    negative = sorted(a for a, v in balances.items() if v < 0)
    if negative:
        findings.append(f"the index has {len(negative)} accounts below zero, e.g. {negative[0]}")
    return Reconciliation(
        scheme_id=s.id,
        scheme=s.code,
        block=at,
        issued=issued,
        minted=minted,
        burned=burned,
        total_supply=total,
        held=held,
        created=created,
        destroyed=destroyed,
        in_accounts=in_accounts,
        in_holds=in_holds,
        holders=sum(1 for v in balances.values() if v > 0),
        findings=tuple(findings),
    )


def reconciliation_data(r: Reconciliation) -> dict[str, object]:
    """A reconciliation as the CLI and the API show it."""
    return {
        "scheme": r.scheme,
        "scheme_id": r.scheme_id,
        "block": r.block,
        "balanced": r.balanced,
        "chain": {
            "issued": r.issued,
            "minted": r.minted,
            "burned": r.burned,
            "total_supply": r.total_supply,
            "held": r.held,
        },
        "index": {
            "created": r.created,
            "destroyed": r.destroyed,
            "in_accounts": r.in_accounts,
            "in_holds": r.in_holds,
            "holders": r.holders,
        },
        "findings": list(r.findings),
    }
