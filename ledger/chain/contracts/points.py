"""Client of the PointsLedger contract (ERC-1155 balances per member and scheme)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.chain.contracts.base import ContractClient
from ledger.chain.tx import Signer, TxResult


@dataclass(frozen=True)
class Standing:
    """A member's account in a scheme: balance and where they stand against the limits."""

    balance: int
    last_end: int
    day: int
    day_records: int
    day_minutes: int
    day_points: int
    week_points: int
    epoch: int


def standing_from(raw: Sequence[Any]) -> Standing:
    return Standing(*(int(v) for v in raw))


@dataclass(frozen=True)
class Lot:
    """Points of a balance that expire together, when month ``expiry_month`` begins."""

    expiry_month: int
    amount: int


def unpack_lot(value: int) -> Lot:
    return Lot(expiry_month=value & 0xFFFFFF, amount=value >> 24)


class PointsLedgerClient(ContractClient):
    def issue(
        self, account: Signer, member: str, scheme_id: int, amount: int, source: bytes
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

    def available_of(self, member: str, scheme_id: int) -> int:
        """What the member can spend now: balance less expired (unswept) and frozen points."""
        return int(self._read("availableOf", scheme_id, member))

    def frozen_of(self, member: str, scheme_id: int) -> int:
        return int(self._read("frozenOf", scheme_id, member))

    def lots_of(self, member: str, scheme_id: int) -> list[Lot]:
        expiries, amounts = self._read("lotsOf", scheme_id, member)
        return [Lot(int(e), int(a)) for e, a in zip(expiries, amounts, strict=True)]

    def held_by(self, scheme_id: int, holder: str) -> int:
        """Points of a scheme one spending contract holds (for its orders or requests)."""
        return int(self._read("heldBy", scheme_id, holder))

    def held_total(self, scheme_id: int) -> int:
        return int(self._read("heldTotal", scheme_id))

    def minted(self, scheme_id: int) -> int:
        return int(self._read("minted", scheme_id))

    def current_month(self) -> int:
        return int(self._read("currentMonth"))

    def set_frozen(
        self,
        account: Signer,
        scheme_id: int,
        member: str,
        amount: int,
        *,
        increase: bool,
        case_ref: bytes,
    ) -> TxResult:
        return self._write(account, "setFrozen", scheme_id, member, amount, increase, case_ref)

    def expire(self, account: Signer, scheme_id: int, members: list[str]) -> TxResult:
        return self._write(account, "expire", scheme_id, members)
