"""Inter-issuer clearing (实时清算): positions, settlements and clearing statements.

Every exchange (``ledger.spending.exchange``) makes the source scheme's issuer owe the target
scheme's issuer its value, netted on chain per pair of schemes at once. Issuers settle by payments
made off chain: the payer's issuer records one (with the hash of its payment reference), the
payee's issuer confirms it. The clearing statement is computed from the contract's events, per
issuer and per China Standard Time day or month. Values are thousandths of the city standard unit.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from eth_utils import keccak
from sqlmodel import select

from ledger.chain.contracts import Scheme
from ledger.chain.contracts.exchange import ExchangeClient, Settlement, SettlementStatus
from ledger.chain.revert_messages import value_text
from ledger.chain.tx import Signer
from ledger.errors import InputError, InvalidAmount
from ledger.spending.parts import ClearingParts
from ledger.store import session, utcnow
from ledger.store.clearing import PaymentReference
from ledger.store.pending import dropped_if_refused, insert, link
from ledger.store.refusals import refusals_noted
from ledger.values import CST

Period = Literal["day", "month"]
_VALUE = re.compile(r"[0-9]+(\.[0-9]{1,3})?")


def parse_value(value: int | str | Decimal, *, what: str = "value") -> int:
    """Standard units as people write them (``12.5``, at most 3 decimals) -> thousandths."""
    if isinstance(value, int) and not isinstance(value, bool):
        thousandths = value * 1000
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().replace("_", "").replace(",", "")
        if not _VALUE.fullmatch(text):
            raise InvalidAmount(
                f"{what} {value!r} is not an amount of standard units (like 12 or 12.345, at "
                "most 3 decimals, not negative)"
            )
        try:
            thousandths = int(Decimal(text) * 1000)
        except InvalidOperation:
            raise InvalidAmount(f"{what} {value!r} is not a number") from None
    if thousandths < 0:
        raise InvalidAmount(f"{what} cannot be negative")
    return thousandths


@dataclass(frozen=True)
class StatementLine:
    """One issuer's clearing in one period (values in thousandths of the standard unit)."""

    period: str
    issuer: str
    schemes: tuple[str, ...]
    exchanges: int
    #: Owed to the issuer by exchanges into its schemes, and by it for exchanges out of them.
    owed_to: int
    owed_by: int
    #: Settlements confirmed in the period: paid by the issuer, received by it.
    paid: int
    received: int

    @property
    def net(self) -> int:
        """The change of the issuer's net position in the period (owed to it minus owed by it)."""
        return self.owed_to - self.owed_by + self.paid - self.received


@dataclass(frozen=True)
class Position:
    scheme: Scheme
    #: Owed to the scheme's issuer minus owed by it, now (thousandths of the standard unit).
    net: int


@dataclass(frozen=True)
class Statement:
    period: Period
    from_block: int
    to_block: int
    lines: tuple[StatementLine, ...]
    #: Each scheme's net position now, on chain; they sum to zero.
    positions: tuple[Position, ...]
    #: Net debts between pairs of schemes now: (payer, payee, owed, pending settlements).
    owed: tuple[tuple[str, str, int, int], ...] = field(default=())


class Clearing:
    """Clearing between the issuers, over the Exchange contract."""

    def __init__(self, parts: ClearingParts) -> None:
        self.parts = parts

    @property
    def contract(self) -> ExchangeClient:
        return self.parts.exchange_contract

    def _deploy_block(self) -> int:
        return self.parts.manifest.contracts["Exchange"].block

    def record_settlement(
        self,
        *,
        issuer: Signer,
        payer: str | int,
        payee: str | int,
        amount: int | str | Decimal,
        reference: str,
    ) -> Settlement:
        """The payer scheme's issuer records a payment made off chain (amount in standard units);
        only the hash of ``reference`` goes on chain (the text is kept in the store). It counts
        once the payee's issuer confirms.

        A payment reference names one payment: recording it again (a retry, also after an
        interruption) returns the settlement already recorded, unless that one was cancelled.
        """
        p, q = self.parts.scheme(payer), self.parts.scheme(payee)
        value = parse_value(amount, what="settlement amount")
        if value == 0:
            raise InvalidAmount("a settlement amount must be positive")
        ref = reference_hash(reference)
        engine = self.parts.engine
        row = self._reference_row("0x" + ref.hex())
        row_id: int | None
        if row is None:
            row_id = insert(
                engine,
                PaymentReference(
                    reference_hash="0x" + ref.hex(),
                    text=unicodedata.normalize("NFC", reference).strip(),
                    payer_scheme=p.id,
                    payee_scheme=q.id,
                    amount=value,
                    recorded_at=utcnow(),
                ),
            )
            known = None
        elif (row.payer_scheme, row.payee_scheme, row.amount) != (p.id, q.id, value):
            raise InputError(
                f"the payment reference {reference!r} already names a payment of "
                f"{value_text(row.amount)} from scheme {row.payer_scheme} to scheme "
                f"{row.payee_scheme}; each payment has its own reference"
            )
        else:
            row_id, known = row.id, row.settlement_id
        found = known if known is not None else self._find_recorded(p.id, ref)
        if found is not None:
            existing = self.contract.settlement(found)
            if existing.status is not SettlementStatus.CANCELLED:
                link(engine, PaymentReference, row_id, settlement_id=found)
                return existing
        # a reference already used for a cancelled settlement keeps its row if this one fails
        with (
            dropped_if_refused(
                engine, PaymentReference, row_id if found is None else None, "settlement_id"
            ),
            refusals_noted(engine, issuer.address, "record-settlement", f"{p.code}->{q.code}"),
        ):
            result = self.contract.record_settlement(issuer, p.id, q.id, value, ref)
        settlement_id = self.contract.recorded_id(result)
        link(engine, PaymentReference, row_id, settlement_id=settlement_id)
        return self.contract.settlement(settlement_id)

    def _reference_row(self, key: str) -> PaymentReference | None:
        with session(self.parts.engine) as db:
            return db.exec(
                select(PaymentReference).where(PaymentReference.reference_hash == key)
            ).first()

    def _find_recorded(self, payer_scheme: int, ref: bytes) -> int | None:
        """The newest settlement of this payer scheme recorded with this payment reference."""
        event = self.contract.contract.events.SettlementRecorded()
        found = None
        for entry in event.get_logs(
            from_block=self._deploy_block(), argument_filters={"payerScheme": payer_scheme}
        ):
            if bytes(entry["args"]["paymentRef"]) == ref:
                found = int(entry["args"]["settlementId"])
        return found

    def reference_of(self, settlement: Settlement) -> str | None:
        """The payment reference text behind a settlement's hash, if this store recorded it."""
        row = self._reference_row("0x" + settlement.payment_ref.hex())
        return row.text if row is not None else None

    def confirm_settlement(self, *, issuer: Signer, settlement_id: int) -> Settlement:
        """The payee scheme's issuer confirms a payment received: the obligation drops."""
        subject = f"settlement {settlement_id}"
        with refusals_noted(self.parts.engine, issuer.address, "confirm-settlement", subject):
            self.contract.confirm_settlement(issuer, settlement_id)
        return self.contract.settlement(settlement_id)

    def cancel_settlement(self, *, issuer: Signer, settlement_id: int) -> Settlement:
        """The issuer who recorded a pending settlement withdraws it."""
        subject = f"settlement {settlement_id}"
        with refusals_noted(self.parts.engine, issuer.address, "cancel-settlement", subject):
            self.contract.cancel_settlement(issuer, settlement_id)
        return self.contract.settlement(settlement_id)

    def settlement(self, settlement_id: int) -> Settlement:
        settlement = self.contract.settlement(settlement_id)
        if settlement.status is SettlementStatus.NONE:
            raise InputError(
                f"there is no settlement {settlement_id}; list them with `vpl clearing list`"
            )
        return settlement

    def settlements(
        self, *, status: SettlementStatus | str | None = None, last: int = 100
    ) -> list[Settlement]:
        """Settlements among the ``last`` recorded, newest first (``status``: only those)."""
        if isinstance(status, str):
            names = {s.name.lower(): s for s in SettlementStatus if s is not SettlementStatus.NONE}
            if status.strip().lower() not in names:
                raise InputError(f"a settlement status is {', '.join(names)} (got {status!r})")
            status = names[status.strip().lower()]
        count = self.contract.settlement_count()
        out = []
        for sid in range(count, max(count - last, 0), -1):
            s = self.contract.settlement(sid)
            if status is None or s.status is status:
                out.append(s)
        return out

    def positions(self) -> list[Position]:
        """Each scheme's net clearing position now (read in JSON-RPC batches)."""
        schemes = self.parts.schemes.schemes()
        nets = self.contract.positions_of([s.id for s in schemes])
        return [Position(scheme=s, net=net) for s, net in zip(schemes, nets, strict=True)]

    def statement(
        self,
        *,
        period: Period = "day",
        start: date | str | None = None,
        end: date | str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> Statement:
        """Each issuer's clearing per CST day or month, from the contract's events.

        ``start``/``end`` are CST dates (inclusive); blocks bound the events read (by default
        from the deployment to the latest block).
        """
        if period not in ("day", "month"):
            raise InputError(f"a statement period is day or month (got {period!r})")
        first_day, last_day = _date(start, "from"), _date(end, "to")
        if first_day and last_day and last_day < first_day:
            raise InputError("the statement's --to date is before its --from date")
        w3 = self.parts.w3
        deployed = self._deploy_block()
        lo = deployed if from_block is None else from_block
        hi = w3.eth.block_number if to_block is None else to_block
        schemes = {s.id: s for s in self.parts.schemes.schemes()}
        times: dict[int, int] = {}

        def when(block: int) -> datetime:
            if block not in times:
                times[block] = int(w3.eth.get_block(block)["timestamp"])
            return datetime.fromtimestamp(times[block], CST)

        Key = tuple[str, str]
        rows: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        names: dict[Key, set[str]] = defaultdict(set)

        def book(moment: datetime, scheme_id: int, **amounts: int) -> None:
            day = moment.date()
            if (first_day and day < first_day) or (last_day and day > last_day):
                return
            label = day.isoformat() if period == "day" else day.strftime("%Y-%m")
            s = schemes[scheme_id]
            key = (label, s.issuer)
            names[key].add(s.code)
            for k, v in amounts.items():
                rows[key][k] += v

        events = self.contract.contract.events
        # Every exchange since the deployment: the ones in [lo, hi] make the lines, and all of
        # them name the pairs of schemes that can owe each other anything now.
        exchanged = events.Exchanged().get_logs(from_block=min(lo, deployed))
        for e in exchanged:
            if not lo <= e["blockNumber"] <= hi:
                continue
            a, moment = e["args"], when(e["blockNumber"])
            book(moment, a["fromScheme"], owed_by=a["value"], exchanges=1)
            book(moment, a["toScheme"], owed_to=a["value"], exchanges=1)
        for e in events.SettlementConfirmed().get_logs(from_block=lo, to_block=hi):
            a, moment = e["args"], when(e["blockNumber"])
            book(moment, a["payerScheme"], paid=a["amount"])
            book(moment, a["payeeScheme"], received=a["amount"])
        lines = tuple(
            StatementLine(
                period=label,
                issuer=issuer,
                schemes=tuple(sorted(names[(label, issuer)])),
                exchanges=r["exchanges"],
                owed_to=r["owed_to"],
                owed_by=r["owed_by"],
                paid=r["paid"],
                received=r["received"],
            )
            for (label, issuer), r in sorted(rows.items())
        )
        # Only an exchange creates a debt or moves a position (a settlement needs an open debt and
        # only pays it down), so a pair of schemes that never exchanged owes nothing and a scheme
        # that never exchanged stands at zero: read those the exchanges name, not every pair.
        pairs = {
            pair
            for e in exchanged
            for pair in (
                (e["args"]["fromScheme"], e["args"]["toScheme"]),
                (e["args"]["toScheme"], e["args"]["fromScheme"]),
            )
        }
        touched = {scheme_id for pair in pairs for scheme_id in pair}
        positions = tuple(
            Position(scheme=s, net=self.contract.position_of(s.id) if s.id in touched else 0)
            for s in schemes.values()
        )
        owed = tuple(
            (schemes[a].code, schemes[b].code, *self.contract.owed(a, b)) for a, b in sorted(pairs)
        )
        return Statement(
            period=period,
            from_block=lo,
            to_block=hi,
            lines=lines,
            positions=positions,
            owed=tuple(o for o in owed if o[2] or o[3]),
        )


def reference_hash(reference: str) -> bytes:
    """The on-chain form of an off-chain payment reference: keccak-256 of its UTF-8 text."""
    text = unicodedata.normalize("NFC", reference).strip()
    if not text:
        raise InputError("a settlement needs the payment's reference (--reference)")
    if len(text) > 200:
        raise InputError("a payment reference is at most 200 characters")
    return keccak(text=text)


def _date(value: date | str | None, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"--{what} {value!r} is not a date like 2026-11-20") from None


__all__ = [
    "Clearing",
    "Position",
    "Statement",
    "StatementLine",
    "parse_value",
    "reference_hash",
]
