"""Client of the Gifts contract: gifts between members and community funds (共同缔造基金)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.chain.contracts.base import ContractClient
from ledger.chain.tx import Signer, TxResult


@dataclass(frozen=True)
class Fund:
    """A community fund as the chain holds it (IGifts.Fund)."""

    id: int
    scheme_id: int
    manager: str
    details_hash: bytes
    balance: int
    donated: int
    granted: int
    created_at: int


@dataclass(frozen=True)
class FundEntry:
    """One event in a fund's history: created, manager changed, donated or granted."""

    kind: str
    fund_id: int
    block: int
    tx_hash: str
    log_index: int
    #: The member who donated, the member granted to, or the new manager.
    account: str
    amount: int
    #: A donation's reference, a grant's purpose hash, the fund's details hash.
    ref: bytes
    #: Who sent it: the member or their proxy, the manager, the issuer.
    operator: str


@dataclass(frozen=True)
class Gift:
    """A PointsGiven event."""

    scheme_id: int
    giver: str
    recipient: str
    amount: int
    memo_hash: bytes
    operator: str
    block: int
    tx_hash: str


class GiftsClient(ContractClient):
    def give(
        self,
        account: Signer,
        scheme_id: int,
        giver: str,
        recipient: str,
        amount: int,
        memo_hash: bytes,
    ) -> TxResult:
        return self._write(account, "give", scheme_id, giver, recipient, amount, memo_hash)

    def create_fund(
        self, account: Signer, scheme_id: int, manager: str, details_hash: bytes
    ) -> TxResult:
        return self._write(account, "createFund", scheme_id, manager, details_hash)

    def set_manager(self, account: Signer, fund_id: int, manager: str) -> TxResult:
        return self._write(account, "setManager", fund_id, manager)

    def donate(
        self, account: Signer, fund_id: int, member: str, amount: int, ref: bytes
    ) -> TxResult:
        return self._write(account, "donate", fund_id, member, amount, ref)

    def grant(
        self, account: Signer, fund_id: int, recipient: str, amount: int, purpose_hash: bytes
    ) -> TxResult:
        return self._write(account, "grant", fund_id, recipient, amount, purpose_hash)

    def created_fund_id(self, result: TxResult) -> int:
        return int(self._events(result, "FundCreated")[0]["args"]["fundId"])

    def fund(self, fund_id: int) -> Fund:
        f = self._read("fund", fund_id)
        return Fund(
            id=fund_id,
            scheme_id=int(f[0]),
            manager=f[1],
            details_hash=bytes(f[2]),
            balance=int(f[3]),
            donated=int(f[4]),
            granted=int(f[5]),
            created_at=int(f[6]),
        )

    def fund_count(self) -> int:
        return int(self._read("fundCount"))

    def funds_balance(self, scheme_id: int) -> int:
        """The sum of a scheme's fund balances (this contract's balance in the points ledger)."""
        return int(self._read("fundsBalance", scheme_id))

    def contracts(self) -> tuple[str, str, str]:
        schemes, members, ledger = self._read("contracts")
        return schemes, members, ledger

    # --- events --------------------------------------------------------------------------------

    def _logs(self, event: str, filters: dict[str, Any]) -> list[Any]:
        found = getattr(self.contract.events, event)().get_logs(
            from_block=0, argument_filters=filters
        )
        return list(found)

    def fund_history(self, fund_id: int) -> list[FundEntry]:
        """Every event of a fund, oldest first."""
        out: list[FundEntry] = []
        for name, kind in (
            ("FundCreated", "created"),
            ("FundManagerChanged", "manager"),
            ("FundDonated", "donation"),
            ("FundGranted", "grant"),
        ):
            for e in self._logs(name, {"fundId": fund_id}):
                a = e["args"]
                if kind == "created":
                    account, amount, ref, operator = a["manager"], 0, a["detailsHash"], a["by"]
                elif kind == "manager":
                    account, amount, ref, operator = a["manager"], 0, b"", a["by"]
                elif kind == "donation":
                    account, amount, ref, operator = (
                        a["member"],
                        a["amount"],
                        a["ref"],
                        a["operator"],
                    )
                else:
                    account, amount = a["to"], a["amount"]
                    ref, operator = a["purposeHash"], a["manager"]
                out.append(
                    FundEntry(
                        kind=kind,
                        fund_id=fund_id,
                        block=int(e["blockNumber"]),
                        tx_hash=e["transactionHash"].to_0x_hex(),
                        log_index=int(e["logIndex"]),
                        account=account,
                        amount=int(amount),
                        ref=bytes(ref),
                        operator=operator,
                    )
                )
        return sorted(out, key=lambda x: (x.block, x.log_index))

    def gifts_of(self, *, giver: str | None = None, recipient: str | None = None) -> list[Gift]:
        """PointsGiven events from `giver` and/or to `recipient`, oldest first."""
        filters: dict[str, Any] = {}
        if giver is not None:
            filters["from"] = giver
        if recipient is not None:
            filters["to"] = recipient
        out = []
        for e in self._logs("PointsGiven", filters):
            a = e["args"]
            out.append(
                Gift(
                    scheme_id=int(a["schemeId"]),
                    giver=a["from"],
                    recipient=a["to"],
                    amount=int(a["amount"]),
                    memo_hash=bytes(a["memoHash"]),
                    operator=a["operator"],
                    block=int(e["blockNumber"]),
                    tx_hash=e["transactionHash"].to_0x_hex(),
                )
            )
        return out
