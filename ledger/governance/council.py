"""The council's proposals as its members use them: propose (a repeated request finds the open
proposal it made), approve, revoke, cancel, execute, and the seats and threshold themselves."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain.contracts import Call, CouncilClient, Proposal
from ledger.chain.tx import Signer, TxResult, TxSender
from ledger.config import NetworkConfig
from ledger.errors import InputError, InvalidRequest
from ledger.values import parse_address, parse_amount

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProposalOutcome:
    proposal: Proposal
    #: open, approved (ready to execute), executed, cancelled or expired.
    state: str
    threshold: int
    #: Current council members whose approval counts.
    approved_by: tuple[str, ...]
    tx_hash: str | None

    @property
    def missing(self) -> int:
        """Approvals still needed before the proposal can run."""
        return max(self.threshold - self.proposal.approvals, 0)


@dataclass(frozen=True, eq=False)
class Governance:
    """The council of one network."""

    council: CouncilClient
    sender: TxSender
    w3: Web3
    network: NetworkConfig
    #: Unlocks a named operator's key (for ``govern`` on development networks).
    operator: Callable[[str], LocalAccount]
    #: Told of every executed proposal's result, for what the store must follow (a member
    #: recovered to a new address).
    executed: Callable[[TxResult], None]

    def seat_call(self, *, account: str, add: bool) -> Call:
        """Council call: grant or remove a council seat."""
        account = parse_address(account, what="council member")
        seated = self.council.is_member(account)
        if add and seated:
            raise InvalidRequest(
                f"{account} already has a council seat",
                error="CouncilAlreadyMember",
                args={"account": account},
            )
        if not add and not seated:
            raise InvalidRequest(
                f"{account} has no council seat",
                error="CouncilInvalidMember",
                args={"account": account},
            )
        if add:
            return self.council.add_member_call(account)
        return self.council.remove_member_call(account)

    def threshold_call(self, *, threshold: int | str) -> Call:
        """Council call: how many approvals a proposal needs (1..number of members)."""
        value = parse_amount(threshold, what="threshold")
        seats = len(self.council.members())
        if value > seats:
            raise InvalidRequest(
                f"a threshold of {value} does not fit a council of {seats}",
                error="CouncilInvalidThreshold",
                args={"threshold": value, "members": seats},
            )
        return self.council.set_threshold_call(value)

    def propose(
        self,
        *,
        proposer: Signer,
        calls: Sequence[Call],
        description: str = "",
        check: bool = True,
    ) -> ProposalOutcome:
        """Put calls to the council; the proposer's approval counts.

        With ``check`` each call is first simulated as the council would run it, so a call that
        would fail is refused now rather than leaving a proposal that can never execute. Turn it
        off only for calls that depend on earlier calls of the same proposal.
        """
        if check:
            self.check_calls(calls)
        text = description or "; ".join(c.summary for c in calls)
        same = self._open_proposal_with(calls, text)
        if same is not None:
            log.info("proposal %d already puts these calls to the council", same.proposal.id)
            if proposer.address not in same.approved_by:
                return self.approve(member=proposer, proposal_id=same.proposal.id)
            return same
        proposal_id, result = self.council.propose(proposer, calls, text)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def _open_proposal_with(
        self, calls: Sequence[Call], description: str
    ) -> ProposalOutcome | None:
        """A recent open proposal with exactly these calls and description: a repeated request."""
        targets = tuple(c.target.lower() for c in calls)
        datas = tuple(c.data.lower() for c in calls)
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        count = self.council.proposal_count()
        for pid in range(count, max(count - 20, 0), -1):
            p = self.council.proposal(pid)
            if (
                not (p.executed or p.cancelled or now + 60 > p.deadline)
                and p.description == description
                and tuple(t.lower() for t in p.targets) == targets
                and tuple(d.lower() for d in p.calldatas) == datas
            ):
                return self.proposal(pid)
        return None

    def check_calls(self, calls: Sequence[Call]) -> None:
        """Simulate each call from the council's address; raises the first call's refusal."""
        for call in calls:
            self.sender.call(
                call.target, call.data, sender=self.council.address, context=call.summary
            )

    def revoke_approval(self, *, member: Signer, proposal_id: int) -> ProposalOutcome:
        result = self.council.revoke_approval(member, proposal_id)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def cancel(self, *, member: Signer, proposal_id: int) -> ProposalOutcome:
        """Cancel an open proposal (its proposer only)."""
        result = self.council.cancel(member, proposal_id)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def approve(
        self, *, member: Signer, proposal_id: int, execute: bool = False
    ) -> ProposalOutcome:
        """Approve as a council member; with ``execute``, also run it once enough have approved."""
        result = self.council.approve(member, proposal_id)
        outcome = self.proposal(proposal_id, tx_hash=result.tx_hash)
        if execute and outcome.state == "approved":
            return self.execute(member=member, proposal_id=proposal_id)
        return outcome

    def execute(self, *, member: Signer, proposal_id: int) -> ProposalOutcome:
        result = self.council.execute(member, proposal_id)
        self.executed(result)
        return self.proposal(proposal_id, tx_hash=result.tx_hash)

    def govern(
        self, calls: Sequence[Call], description: str = "", *, check: bool = True
    ) -> ProposalOutcome:
        """Development shortcut: propose, approve and execute with the configured council keys."""
        if not self.network.development:
            raise InputError(
                f"approving with every council key is for development networks only; on "
                f"{self.network.name!r} each council member approves with their own key"
            )
        names = self.network.council.members
        outcome = self.propose(
            proposer=self.operator(names[0]), calls=calls, description=description, check=check
        )
        for name in names:
            if outcome.state != "open":
                break
            member = self.operator(name)
            if member.address not in outcome.approved_by:
                outcome = self.approve(member=member, proposal_id=outcome.proposal.id)
        return self.execute(member=self.operator(names[0]), proposal_id=outcome.proposal.id)

    def proposals(self, *, include_closed: bool = False, last: int = 200) -> list[ProposalOutcome]:
        """Proposals among the `last` made, newest first (open ones only unless include_closed)."""
        out = []
        count = self.council.proposal_count()
        for pid in range(count, max(count - last, 0), -1):
            outcome = self.proposal(pid)
            if include_closed or outcome.state in ("open", "approved"):
                out.append(outcome)
        return out

    def proposal(self, proposal_id: int, *, tx_hash: str | None = None) -> ProposalOutcome:
        """A proposal with its state, threshold and who has approved it."""
        proposal = self.council.proposal(proposal_id)
        threshold = self.council.threshold()
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        approved = tuple(
            m for m in self.council.members() if self.council.has_approved(proposal_id, m)
        )
        return ProposalOutcome(
            proposal=proposal,
            state=proposal.state(threshold, now),
            threshold=threshold,
            approved_by=approved,
            tx_hash=tx_hash,
        )
