"""Client of the Exchange contract: cross-scheme exchange and inter-issuer clearing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from web3.types import EventData

from ledger.chain.contracts.base import Call, ContractClient
from ledger.chain.tx import Signer, TxResult

#: Top byte of the ledger reference an exchange burns and mints with: ``4 << 248 | id``.
REF_EXCHANGE = 4
MAX_AMOUNT = 2**88 - 1
#: Exchange limits are uint48 thousandths of the city standard unit.
MAX_LIMIT = 2**48 - 1


class SettlementStatus(IntEnum):
    NONE = 0
    PENDING = 1
    CONFIRMED = 2
    CANCELLED = 3


@dataclass(frozen=True)
class ExchangeLimits:
    """A scheme's exchange limits (IExchange.Limits), thousandths of the standard unit; 0 = none."""

    min_value: int = 0
    member_daily: int = 0
    member_monthly: int = 0
    scheme_daily_out: int = 0
    scheme_daily_in: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (
            self.min_value,
            self.member_daily,
            self.member_monthly,
            self.scheme_daily_out,
            self.scheme_daily_in,
        )


@dataclass(frozen=True)
class RawQuote:
    """IExchange.Quote as the contract returns it; ``problem`` is revert data (empty: none)."""

    used: int
    out: int
    value: int
    dust: int
    from_value: int
    to_value: int
    from_next_value: int
    from_next_block: int
    to_next_value: int
    to_next_block: int
    problem: bytes


@dataclass(frozen=True)
class Settlement:
    id: int
    payer_scheme: int
    payee_scheme: int
    recorded_at: int
    status: SettlementStatus
    proposer: str
    amount: int
    payment_ref: bytes


def exchange_ref(exchange_id: int) -> bytes:
    """The ledger reference of an exchange's burn and mint."""
    return ((REF_EXCHANGE << 248) | exchange_id).to_bytes(32, "big")


class ExchangeClient(ContractClient):
    def quote(self, member: str, from_scheme: int, to_scheme: int, amount: int) -> RawQuote:
        q = self._read("quote", member, from_scheme, to_scheme, amount)
        n = [int(v) for v in q[:10]]
        return RawQuote(
            used=n[0],
            out=n[1],
            value=n[2],
            dust=n[3],
            from_value=n[4],
            to_value=n[5],
            from_next_value=n[6],
            from_next_block=n[7],
            to_next_value=n[8],
            to_next_block=n[9],
            problem=bytes(q[10]),
        )

    def exchange(
        self,
        account: Signer,
        member: str,
        from_scheme: int,
        to_scheme: int,
        amount: int,
        from_value: int,
        to_value: int,
    ) -> TxResult:
        return self._write(
            account, "exchange", member, from_scheme, to_scheme, amount, from_value, to_value
        )

    def exchanged(self, result: TxResult) -> list[EventData]:
        return self._events(result, "Exchanged")

    def set_limits_call(self, scheme_id: int, limits: ExchangeLimits) -> Call:
        return self._call(
            "setLimits",
            scheme_id,
            limits.as_tuple(),
            summary=f"set scheme {scheme_id} exchange limits to {limits.as_tuple()}",
        )

    def limits_of(self, scheme_id: int) -> ExchangeLimits:
        return ExchangeLimits(*(int(v) for v in self._read("limitsOf", scheme_id)))

    def owed(self, payer_scheme: int, payee_scheme: int) -> tuple[int, int]:
        """(net value owed, part covered by pending settlements)."""
        amount, pending = self._read("owed", payer_scheme, payee_scheme)
        return int(amount), int(pending)

    def position_of(self, scheme_id: int) -> int:
        return int(self._read("positionOf", scheme_id))

    def positions_of(self, scheme_ids: list[int]) -> list[int]:
        """``position_of`` for many schemes, read in batches."""
        return [int(v) for v in self._read_many("positionOf", [(i,) for i in scheme_ids])]

    def member_usage(self, scheme_id: int, member: str) -> tuple[int, int]:
        today, month = self._read("memberUsage", scheme_id, member)
        return int(today), int(month)

    def scheme_usage(self, scheme_id: int) -> tuple[int, int]:
        out_today, in_today = self._read("schemeUsage", scheme_id)
        return int(out_today), int(in_today)

    def exchange_count(self) -> int:
        return int(self._read("exchangeCount"))

    def record_settlement(
        self, account: Signer, payer: int, payee: int, amount: int, payment_ref: bytes
    ) -> TxResult:
        return self._write(account, "recordSettlement", payer, payee, amount, payment_ref)

    def recorded_id(self, result: TxResult) -> int:
        return int(self._events(result, "SettlementRecorded")[0]["args"]["settlementId"])

    def confirm_settlement(self, account: Signer, settlement_id: int) -> TxResult:
        return self._write(account, "confirmSettlement", settlement_id)

    def cancel_settlement(self, account: Signer, settlement_id: int) -> TxResult:
        return self._write(account, "cancelSettlement", settlement_id)

    def settlement(self, settlement_id: int) -> Settlement:
        s = self._read("settlement", settlement_id)
        return Settlement(
            id=settlement_id,
            payer_scheme=int(s[0]),
            payee_scheme=int(s[1]),
            recorded_at=int(s[2]),
            status=SettlementStatus(int(s[3])),
            proposer=s[4],
            amount=int(s[5]),
            payment_ref=bytes(s[6]),
        )

    def settlement_count(self) -> int:
        return int(self._read("settlementCount"))
