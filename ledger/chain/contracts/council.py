"""Client of the Council contract: M-of-N proposals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hexbytes import HexBytes

from ledger.chain.contracts.base import Call, ContractClient
from ledger.chain.tx import Signer, TxResult


@dataclass(frozen=True)
class Proposal:
    id: int
    proposer: str
    created_at: int
    deadline: int
    executed: bool
    cancelled: bool
    approvals: int
    targets: tuple[str, ...]
    calldatas: tuple[str, ...]
    description: str

    def state(self, threshold: int, now: int) -> str:
        """open, approved (ready to execute), executed, cancelled or expired."""
        if self.executed:
            return "executed"
        if self.cancelled:
            return "cancelled"
        if now > self.deadline:
            return "expired"
        return "approved" if self.approvals >= threshold else "open"


class CouncilClient(ContractClient):
    def propose(
        self, account: Signer, calls: Sequence[Call], description: str
    ) -> tuple[int, TxResult]:
        """Create a proposal (the proposer's approval counts); returns its id."""
        result = self._write(
            account,
            "propose",
            [c.target for c in calls],
            [HexBytes(c.data) for c in calls],
            description,
        )
        (event,) = self._events(result, "ProposalCreated")
        return int(event["args"]["proposalId"]), result

    def approve(self, account: Signer, proposal_id: int) -> TxResult:
        return self._write(account, "approve", proposal_id)

    def revoke_approval(self, account: Signer, proposal_id: int) -> TxResult:
        return self._write(account, "revokeApproval", proposal_id)

    def execute(self, account: Signer, proposal_id: int) -> TxResult:
        return self._write(account, "execute", proposal_id)

    def cancel(self, account: Signer, proposal_id: int) -> TxResult:
        return self._write(account, "cancel", proposal_id)

    def proposal(self, proposal_id: int) -> Proposal:
        p = self._read("proposal", proposal_id)
        return Proposal(
            id=proposal_id,
            proposer=p[0],
            created_at=p[1],
            deadline=p[2],
            executed=p[3],
            cancelled=p[4],
            approvals=p[5],
            targets=tuple(p[6]),
            calldatas=tuple(HexBytes(d).to_0x_hex() for d in p[7]),
            description=p[8],
        )

    def proposal_count(self) -> int:
        return int(self._read("proposalCount"))

    def members(self) -> list[str]:
        return list(self._read("members"))

    def is_member(self, account: str) -> bool:
        return bool(self._read("isMember", account))

    def threshold(self) -> int:
        return int(self._read("threshold"))

    def has_approved(self, proposal_id: int, member: str) -> bool:
        return bool(self._read("hasApproved", proposal_id, member))

    def add_member_call(self, account: str) -> Call:
        return self._call("addMember", account, summary=f"grant a council seat to {account}")

    def remove_member_call(self, account: str) -> Call:
        return self._call("removeMember", account, summary=f"remove {account} from the council")

    def set_threshold_call(self, threshold: int) -> Call:
        return self._call("setThreshold", threshold, summary=f"require {threshold} approvals")
