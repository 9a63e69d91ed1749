"""Client of the PointsLedger contract (ERC-1155 balances per member and scheme)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from ledger.contracts.base import ContractClient
from ledger.contracts.records import Standing, standing_from
from ledger.tx import TxResult


class PointsLedgerClient(ContractClient):
    def issue(
        self, account: LocalAccount, member: str, scheme_id: int, amount: int, source: bytes
    ) -> TxResult:
        return self._write(account, "issue", member, scheme_id, amount, source)

    def balance_of(self, member: str, scheme_id: int) -> int:
        return int(self._read("balanceOf", member, scheme_id))

    def balances(self, member: str, scheme_ids: list[int]) -> dict[int, int]:
        values = self._read("balanceOfBatch", [member] * len(scheme_ids), scheme_ids)
        return {sid: int(v) for sid, v in zip(scheme_ids, values, strict=True)}

    def total_supply(self, scheme_id: int) -> int:
        return int(self._read("totalSupply", scheme_id))

    def issued(self, scheme_id: int) -> int:
        return int(self._read("issued", scheme_id))

    def burned(self, scheme_id: int) -> int:
        return int(self._read("burned", scheme_id))

    def quota_used(self, scheme_id: int) -> int:
        return int(self._read("quotaUsed", scheme_id))

    def current_period(self, scheme_id: int) -> int:
        return int(self._read("currentPeriod", scheme_id))

    def is_paid(self, source: bytes) -> bool:
        return bool(self._read("isPaid", source))

    def remaining_quota(self, scheme_id: int) -> int:
        return int(self._read("remainingQuota", scheme_id))

    def standing(self, member: str, scheme_id: int) -> Standing:
        return standing_from(self._read("standing", scheme_id, member))

    def uri(self, scheme_id: int) -> str:
        return str(self._read("uri", scheme_id))
