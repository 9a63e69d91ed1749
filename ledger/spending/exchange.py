"""Cross-scheme exchange (积分通兑) and inter-issuer clearing (实时清算).

A member converts points of one scheme into another at the values the council set in the scheme
registry (thousandths of the city standard unit). A quote shows the exact result first; executing
passes the quoted values, so if a value changed since (from its stated block) the exchange is
refused as stale instead of giving another result. Rounding never creates value: the member gives
only the points the result needs (the rest of the amount stays with them), and the dust below one
target point's value stays with the source scheme's issuer (see contracts/interfaces/IExchange.sol).

Every exchange makes the source scheme's issuer owe the target scheme's issuer its value, netted
on chain per pair of schemes at once. Issuers settle by payments made off chain: the payer's issuer
records one (with the hash of its payment reference), the payee's issuer confirms it. The clearing
statement is computed from the contract's events, per issuer and per China Standard Time day or
month.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from eth_abi import encode as abi_encode
from eth_utils import keccak
from sqlmodel import select

from ledger.chain.contracts import Scheme
from ledger.chain.contracts.base import Call
from ledger.chain.contracts.exchange import (
    MAX_AMOUNT,
    MAX_LIMIT,
    ExchangeClient,
    ExchangeLimits,
    Settlement,
    SettlementStatus,
)
from ledger.chain.contracts.schemes import ValueChange
from ledger.chain.revert import value_text
from ledger.chain.tx import Signer
from ledger.errors import ContractRevert, InputError, InvalidAmount, LedgerError
from ledger.store import session, utcnow
from ledger.store.clearing import PaymentReference
from ledger.values import CST, parse_address, parse_amount

if TYPE_CHECKING:
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)
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
class Quote:
    """The exact result of an exchange as it would run now (``problem``: why it would not)."""

    member: str
    from_scheme: Scheme
    to_scheme: Scheme
    #: Points of the source scheme asked to exchange.
    amount: int
    #: Points given (<= amount); ``amount - used`` stays with the member.
    used: int
    #: Points received.
    out: int
    #: Value carried over, thousandths of the standard unit (= what the issuers will owe).
    value: int
    #: Value not carried over (< one source point's value): stays with the source's issuer.
    dust: int
    from_value: int
    to_value: int
    from_next: ValueChange | None
    to_next: ValueChange | None
    block: int
    problem: ContractRevert | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def kept(self) -> int:
        return self.amount - self.used

    @property
    def values(self) -> str:
        """The quoted values as ``vpl exchange run --values`` takes them."""
        return f"{self.from_value}:{self.to_value}"

    def lines(self) -> list[str]:
        """The quote in plain words."""
        a, b = self.from_scheme, self.to_scheme
        out = [
            f"{self.member} gives {self.used} {a.code} points and receives {self.out} {b.code} "
            f"points",
            f"values: 1 {a.code} point = {value_text(self.from_value)}, 1 {b.code} point = "
            f"{value_text(self.to_value)} standard units (block {self.block})",
            f"value carried over: {value_text(self.value)} standard units, owed by {a.code}'s "
            f"issuer to {b.code}'s",
        ]
        if self.kept:
            out.append(
                f"{self.kept} of the {self.amount} {a.code} points asked stay with the member"
            )
        if self.dust:
            out.append(
                f"{value_text(self.dust)} standard units are below one {b.code} point and stay "
                f"with {a.code}'s issuer"
            )
        for s, nxt in ((a, self.from_next), (b, self.to_next)):
            if nxt is not None:
                out.append(
                    f"note: {s.code}'s value becomes {value_text(nxt.unit_value)} from block "
                    f"{nxt.from_block}; after that this quote is stale"
                )
        if self.problem is not None:
            out.append(f"refused: {self.problem}")
        else:
            out.append(f"to run it: --values {self.values}")
        return out


@dataclass(frozen=True)
class ExchangeResult:
    """An exchange that ran (figures from its Exchanged event)."""

    exchange_id: int
    member: str
    from_scheme: Scheme
    to_scheme: Scheme
    amount: int
    used: int
    out: int
    value: int
    dust: int
    from_value: int
    to_value: int
    tx_hash: str
    block: int
    gas_used: int


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


class Exchange:
    """Exchange and clearing operations of one ``Ledger``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def contract(self) -> ExchangeClient:
        return self.ledger.exchange_contract

    # --- exchange -------------------------------------------------------------------------------

    def quote(
        self,
        *,
        member: str,
        from_scheme: str | int,
        to_scheme: str | int,
        amount: int | str,
        actor: str | None = None,
    ) -> Quote:
        """What exchanging ``amount`` points would give now, and the first reason it would not.

        With ``actor`` (who will sign), also whether they may act for the member.
        """
        member = parse_address(member, what="member address")
        points = parse_amount(amount, what="amount to exchange", maximum=MAX_AMOUNT)
        a, b = self.ledger.scheme(from_scheme), self.ledger.scheme(to_scheme)
        raw = self.contract.quote(member, a.id, b.id, points)
        block = self.ledger.w3.eth.block_number
        problem: ContractRevert | None = None
        if actor is not None:
            problem = self._authority(member, parse_address(actor, what="actor address"))
        if problem is None and raw.problem:
            decoded = self.ledger.decoder.decode(raw.problem, context="exchange")
            problem = decoded if isinstance(decoded, ContractRevert) else None
        return Quote(
            member=member,
            from_scheme=a,
            to_scheme=b,
            amount=points,
            used=raw.used,
            out=raw.out,
            value=raw.value,
            dust=raw.dust,
            from_value=raw.from_value,
            to_value=raw.to_value,
            from_next=(
                ValueChange(raw.from_next_block, raw.from_next_value)
                if raw.from_next_block
                else None
            ),
            to_next=ValueChange(raw.to_next_block, raw.to_next_value)
            if raw.to_next_block
            else None,
            block=block,
            problem=problem,
        )

    def _authority(self, member: str, actor: str) -> ContractRevert | None:
        """The contract's own refusal if ``actor`` may not act for ``member``."""
        if actor == member or self.ledger.members.is_proxy(member, actor):
            return None
        data = keccak(text="ExchangeUnauthorized(address,address)")[:4] + abi_encode(
            ["address", "address"], [member, actor]
        )
        refusal = self.ledger.decoder.decode(data, context="exchange")
        return refusal if isinstance(refusal, ContractRevert) else None

    def execute(
        self,
        *,
        actor: Signer,
        member: str,
        from_scheme: str | int,
        to_scheme: str | int,
        amount: int | str,
        values: str | tuple[int, int],
    ) -> ExchangeResult:
        """Run an exchange at the quoted values (``"FROM:TO"`` as the quote printed them).

        The chain refuses it (StaleQuote) if either value in force differs from the quote; every
        refusal that reaches the chain's rules is written down as a refused attempt.
        """
        member = parse_address(member, what="member address")
        points = parse_amount(amount, what="amount to exchange", maximum=MAX_AMOUNT)
        from_value, to_value = parse_values(values)
        a, b = self.ledger.scheme(from_scheme), self.ledger.scheme(to_scheme)
        with self._refusal(actor.address, "exchange", f"{a.code}->{b.code}"):
            result = self.contract.exchange(actor, member, a.id, b.id, points, from_value, to_value)
        (event,) = self.contract.exchanged(result)
        args = event["args"]
        return ExchangeResult(
            exchange_id=int(args["exchangeId"]),
            member=member,
            from_scheme=a,
            to_scheme=b,
            amount=points,
            used=int(args["used"]),
            out=int(args["out"]),
            value=int(args["value"]),
            dust=int(args["dust"]),
            from_value=int(args["fromValue"]),
            to_value=int(args["toValue"]),
            tx_hash=result.tx_hash,
            block=result.block_number,
            gas_used=result.gas_used,
        )

    # --- limits ---------------------------------------------------------------------------------

    def limits(self, scheme: str | int) -> ExchangeLimits:
        return self.contract.limits_of(self.ledger.scheme(scheme).id)

    def new_limits(
        self,
        *,
        scheme: str | int,
        min_value: int | str | Decimal | None = None,
        member_daily: int | str | Decimal | None = None,
        member_monthly: int | str | Decimal | None = None,
        scheme_daily_out: int | str | Decimal | None = None,
        scheme_daily_in: int | str | Decimal | None = None,
    ) -> ExchangeLimits:
        """A scheme's limits with the ones given changed (standard units; 0: no limit)."""
        current = self.limits(scheme)

        def pick(given: int | str | Decimal | None, now: int, what: str) -> int:
            if given is None:
                return now
            value = parse_value(given, what=what)
            if value > MAX_LIMIT:
                raise InvalidAmount(
                    f"{what} {value_text(value)} is larger than the maximum "
                    f"{value_text(MAX_LIMIT)} standard units"
                )
            return value

        return ExchangeLimits(
            min_value=pick(min_value, current.min_value, "minimum value"),
            member_daily=pick(member_daily, current.member_daily, "member daily limit"),
            member_monthly=pick(member_monthly, current.member_monthly, "member monthly limit"),
            scheme_daily_out=pick(scheme_daily_out, current.scheme_daily_out, "scheme daily out"),
            scheme_daily_in=pick(scheme_daily_in, current.scheme_daily_in, "scheme daily in"),
        )

    def limits_call(self, *, scheme: str | int, **given: int | str | Decimal | None) -> Call:
        """Council call: a scheme's exchange limits, in standard units (0: no limit); a limit
        not given keeps its current setting (see ``new_limits``)."""
        s = self.ledger.scheme(scheme)
        limits = self.new_limits(scheme=s.id, **given)
        call = self.contract.set_limits_call(s.id, limits)
        return Call(
            target=call.target,
            data=call.data,
            summary=f"set {s.code} exchange limits: {describe_limits(limits)}",
        )

    def usage(self, scheme: str | int, member: str | None = None) -> dict[str, int]:
        """Value exchanged today (and this month, for a member), thousandths of the standard unit."""
        s = self.ledger.scheme(scheme)
        out_today, in_today = self.contract.scheme_usage(s.id)
        data = {"scheme_out_today": out_today, "scheme_in_today": in_today}
        if member is not None:
            today, month = self.contract.member_usage(
                s.id, parse_address(member, what="member address")
            )
            data |= {"member_today": today, "member_month": month}
        return data

    # --- clearing -------------------------------------------------------------------------------

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
        p, q = self.ledger.scheme(payer), self.ledger.scheme(payee)
        value = parse_value(amount, what="settlement amount")
        if value == 0:
            raise InvalidAmount("a settlement amount must be positive")
        ref = reference_hash(reference)
        key = "0x" + ref.hex()
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(PaymentReference).where(PaymentReference.reference_hash == key)
            ).first()
            if row is None:
                db.add(
                    PaymentReference(
                        reference_hash=key,
                        text=unicodedata.normalize("NFC", reference).strip(),
                        payer_scheme=p.id,
                        payee_scheme=q.id,
                        amount=value,
                        recorded_at=utcnow(),
                    )
                )
                known = None
            elif (row.payer_scheme, row.payee_scheme, row.amount) != (p.id, q.id, value):
                raise InputError(
                    f"the payment reference {reference!r} already names a payment of "
                    f"{value_text(row.amount)} from scheme {row.payer_scheme} to scheme "
                    f"{row.payee_scheme}; each payment has its own reference"
                )
            else:
                known = row.settlement_id
        found = known if known is not None else self._find_recorded(p.id, ref)
        if found is not None:
            existing = self.contract.settlement(found)
            if existing.status is not SettlementStatus.CANCELLED:
                self._link_reference(key, found)
                return existing
        try:
            with self._refusal(issuer.address, "record-settlement", f"{p.code}->{q.code}"):
                result = self.contract.record_settlement(issuer, p.id, q.id, value, ref)
        except ContractRevert:
            if found is None:
                with session(self.ledger.engine) as db:
                    stale = db.exec(
                        select(PaymentReference).where(PaymentReference.reference_hash == key)
                    ).first()
                    if stale is not None and stale.settlement_id is None:
                        db.delete(stale)
            raise
        settlement_id = self.contract.recorded_id(result)
        self._link_reference(key, settlement_id)
        return self.contract.settlement(settlement_id)

    def _find_recorded(self, payer_scheme: int, ref: bytes) -> int | None:
        """The newest settlement of this payer scheme recorded with this payment reference."""
        event = self.contract.contract.events.SettlementRecorded()
        start = self.ledger.manifest.contracts["Exchange"].block
        found = None
        for entry in event.get_logs(
            from_block=start, argument_filters={"payerScheme": payer_scheme}
        ):
            if bytes(entry["args"]["paymentRef"]) == ref:
                found = int(entry["args"]["settlementId"])
        return found

    def _link_reference(self, key: str, settlement_id: int) -> None:
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(PaymentReference).where(PaymentReference.reference_hash == key)
            ).first()
            if row is not None and row.settlement_id != settlement_id:
                row.settlement_id = settlement_id
                db.add(row)

    def reference_of(self, settlement: Settlement) -> str | None:
        """The payment reference text behind a settlement's hash, if this store recorded it."""
        key = "0x" + settlement.payment_ref.hex()
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(PaymentReference).where(PaymentReference.reference_hash == key)
            ).first()
        return row.text if row is not None else None

    def confirm_settlement(self, *, issuer: Signer, settlement_id: int) -> Settlement:
        """The payee scheme's issuer confirms a payment received: the obligation drops."""
        with self._refusal(issuer.address, "confirm-settlement", f"settlement {settlement_id}"):
            self.contract.confirm_settlement(issuer, settlement_id)
        return self.contract.settlement(settlement_id)

    def cancel_settlement(self, *, issuer: Signer, settlement_id: int) -> Settlement:
        """The issuer who recorded a pending settlement withdraws it."""
        with self._refusal(issuer.address, "cancel-settlement", f"settlement {settlement_id}"):
            self.contract.cancel_settlement(issuer, settlement_id)
        return self.contract.settlement(settlement_id)

    @contextmanager
    def _refusal(self, actor: str, action: str, subject: str) -> Iterator[None]:
        """A refusal by the chain's rules is written down for auditors (as earning does)."""
        try:
            yield
        except LedgerError as exc:
            if not isinstance(exc, InputError):
                self.ledger.earning.refused(actor=actor, action=action, subject=subject, exc=exc)
            raise

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
        schemes = self.ledger.schemes.schemes()
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
        w3 = self.ledger.w3
        deployed = self.ledger.manifest.contracts["Exchange"].block
        lo = deployed if from_block is None else from_block
        hi = w3.eth.block_number if to_block is None else to_block
        schemes = {s.id: s for s in self.ledger.schemes.schemes()}
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


def parse_values(values: str | tuple[int, int]) -> tuple[int, int]:
    """``"1000:2500"`` (the quote's values, thousandths of the standard unit) -> (1000, 2500)."""
    parts = [str(v) for v in values] if isinstance(values, tuple) else values.strip().split(":")
    if len(parts) != 2:
        raise InputError(
            f"values {values!r} must be FROM_VALUE:TO_VALUE, as `vpl exchange quote` prints them"
        )
    return (
        parse_amount(parts[0], what="quoted from-value", maximum=2**64 - 1),
        parse_amount(parts[1], what="quoted to-value", maximum=2**64 - 1),
    )


def reference_hash(reference: str) -> bytes:
    """The on-chain form of an off-chain payment reference: keccak-256 of its UTF-8 text."""
    text = unicodedata.normalize("NFC", reference).strip()
    if not text:
        raise InputError("a settlement needs the payment's reference (--reference)")
    if len(text) > 200:
        raise InputError("a payment reference is at most 200 characters")
    return keccak(text=text)


def describe_limits(limits: ExchangeLimits) -> str:
    def show(v: int) -> str:
        return value_text(v) if v else "none"

    return (
        f"minimum {show(limits.min_value)}, member daily {show(limits.member_daily)}, member "
        f"monthly {show(limits.member_monthly)}, scheme daily out {show(limits.scheme_daily_out)}, "
        f"scheme daily in {show(limits.scheme_daily_in)} (standard units)"
    )


def _date(value: date | str | None, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"--{what} {value!r} is not a date like 2026-11-20") from None


def quote_data(q: Quote) -> dict[str, Any]:
    """A quote as the CLI and the API show it."""
    return {
        "member": q.member,
        "from": q.from_scheme.code,
        "to": q.to_scheme.code,
        "amount": q.amount,
        "used": q.used,
        "kept": q.kept,
        "out": q.out,
        "value": q.value,
        "value_csu": value_text(q.value),
        "dust": q.dust,
        "from_value": q.from_value,
        "to_value": q.to_value,
        "values": q.values,
        "block": q.block,
        "from_next": None
        if q.from_next is None
        else {"value": q.from_next.unit_value, "from_block": q.from_next.from_block},
        "to_next": None
        if q.to_next is None
        else {"value": q.to_next.unit_value, "from_block": q.to_next.from_block},
        "ok": q.ok,
        "problem": None
        if q.problem is None
        else {"error": q.problem.error, "message": q.problem.message},
    }


def result_data(r: ExchangeResult) -> dict[str, Any]:
    """An exchange as the CLI and the API show it."""
    return {
        "exchange_id": r.exchange_id,
        "member": r.member,
        "from": r.from_scheme.code,
        "to": r.to_scheme.code,
        "amount": r.amount,
        "used": r.used,
        "out": r.out,
        "value": r.value,
        "value_csu": value_text(r.value),
        "dust": r.dust,
        "from_value": r.from_value,
        "to_value": r.to_value,
        "tx_hash": r.tx_hash,
        "block": r.block,
        "gas_used": r.gas_used,
    }


def limits_data(code: str, limits: ExchangeLimits) -> dict[str, Any]:
    """A scheme's exchange limits as the CLI and the API show them."""
    return {
        "scheme": code,
        "min_value": limits.min_value,
        "member_daily": limits.member_daily,
        "member_monthly": limits.member_monthly,
        "scheme_daily_out": limits.scheme_daily_out,
        "scheme_daily_in": limits.scheme_daily_in,
        "unit": "thousandths of the city standard unit; 0 = no limit",
    }


__all__ = [
    "Exchange",
    "ExchangeResult",
    "Position",
    "Quote",
    "Statement",
    "StatementLine",
    "describe_limits",
    "limits_data",
    "parse_value",
    "parse_values",
    "quote_data",
    "reference_hash",
    "result_data",
]
