"""Driving the council in the contract specifications: its members, a proposal approved by just
enough of them, its execution, or all three at once."""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount

from ledger.chain.contracts import Call
from ledger.chain.contracts.schemes import Policy
from ledger.chain.tx import TxResult
from ledger.ledger import Ledger
from tests.contracts.helpers import receipt, source
from tests.probes import issue_points


def council(ledger: Ledger) -> list[LocalAccount]:
    """The council members of the network file, in order."""
    return [ledger.operator(name) for name in ledger.network.council.members]


def open_proposal(ledger: Ledger, calls: Sequence[Call], description: str = "") -> int:
    """A proposal approved by just enough council members to run, but not executed yet.

    The Ledger's pre-check is off: these tests put calls to the contracts' own checks at execution.
    """
    members = council(ledger)
    proposal_id = ledger.propose(
        proposer=members[0], calls=calls, description=description, check=False
    ).proposal.id
    for member in members[1 : ledger.council.threshold()]:
        ledger.approve(member=member, proposal_id=proposal_id)
    return proposal_id


def execute(ledger: Ledger, proposal_id: int) -> TxResult:
    """Execute an approved proposal as the first council member; the receipt of the execution."""
    tx_hash = ledger.execute(member=council(ledger)[0], proposal_id=proposal_id).tx_hash
    assert tx_hash is not None
    return receipt(ledger, tx_hash)


def govern(ledger: Ledger, calls: Sequence[Call], description: str = "") -> TxResult:
    """Propose, approve and execute `calls` (three transactions); the receipt of the execution."""
    return execute(ledger, open_proposal(ledger, calls, description))


def issue_in_lots(
    ledger: Ledger, scheme_id: int, member: str, lots: Sequence[tuple[int, int]]
) -> None:
    """Issues `member` points of the scheme in expiring lots, one per (expiry months, amount),
    the scheme's expiry set for each and reset to none after (points issued from then on never
    expire)."""
    for months, amount in lots:
        govern(ledger, [ledger.schemes.set_policy_call(scheme_id, Policy(expiry_months=months))])
        issue_points(ledger, member, scheme_id, amount, source())
    govern(ledger, [ledger.schemes.set_policy_call(scheme_id, Policy())])
