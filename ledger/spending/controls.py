"""Emergency and compliance controls over the points (issue 4, section 7), and expiry.

- A scheme's **policy** (maximum balance, expiry in months, supply limit) is a council action
  (``SchemeRegistry.setPolicy``), like its quota and value.
- **Pause**: the council, or at once any holder of the ``pauser`` role, stops one scheme's points
  or every scheme's (``SchemeRegistry.pause``); reads keep working and every write that would move
  points fails with ``PointsPaused``. Only the council resumes.
- **Frozen points**: a scheme's issuer freezes part of a member's balance pending an investigation
  (``PointsLedger.setFrozen``); the case is named on chain by the hash of its reference only.
- **Expiry**: points created in calendar month M (China Standard Time) under a policy of N months
  can be spent to the end of month M + N; the ledger spends the oldest first and burns expired
  points when the account next moves, or when ``expire_due`` sweeps them (a daily job,
  ``vpl points expire``), each with a ``PointsExpired`` event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from eth_abi import decode as abi_decode
from eth_utils import keccak
from sqlmodel import select

from ledger.chain.connection import batch_calls
from ledger.chain.contracts.base import Call
from ledger.chain.contracts.points import Lot
from ledger.chain.contracts.schemes import Policy, Scheme
from ledger.chain.tx import Signer, TxResult
from ledger.errors import InputError
from ledger.spending.parts import ControlsParts
from ledger.store.db import session
from ledger.store.vault import MemberIdentity
from ledger.values import MAX_AMOUNT, parse_address, parse_amount

log = logging.getLogger(__name__)

MAX_BALANCE = (1 << 88) - 1
MAX_EXPIRY_MONTHS = 1200
#: Accounts swept per `expire` transaction.
EXPIRE_CHUNK = 200


def month_start(month: int) -> date:
    """The first day of month number ``month`` (months since January 1970, China Standard Time)."""
    return date(1970 + month // 12, month % 12 + 1, 1)


def month_of(day: date) -> int:
    """The month number of a calendar day."""
    return (day.year - 1970) * 12 + day.month - 1


def case_ref(case: str) -> bytes:
    """The on-chain name of an investigation: the hash of its reference (never the text)."""
    text = case.strip()
    if not text:
        raise InputError("an investigation needs its case reference (e.g. CASE-2026-0042)")
    return keccak(text=text)


@dataclass(frozen=True)
class Expiring:
    """Points of a balance that expire together."""

    amount: int
    #: The last day they can be spent, and the day (00:00 China Standard Time) they expire.
    last_day: date
    expires_on: date
    expired: bool


@dataclass(frozen=True)
class SchemeBalance:
    scheme: Scheme
    balance: int
    #: What can be spent now: the balance less expired (not yet swept) and frozen points.
    available: int
    frozen: int
    expiring: tuple[Expiring, ...]


@dataclass(frozen=True)
class ExpirySweep:
    scheme: Scheme
    accounts: int
    expired: int
    transactions: list[str]


def expiring_from(lots: list[Lot], current_month: int) -> tuple[Expiring, ...]:
    out = []
    for lot in lots:
        expires_on = month_start(lot.expiry_month)
        last_day = date.fromordinal(expires_on.toordinal() - 1)
        out.append(
            Expiring(
                amount=lot.amount,
                last_day=last_day,
                expires_on=expires_on,
                expired=lot.expiry_month <= current_month,
            )
        )
    return tuple(out)


class Controls:
    """Policy, pause, frozen points and expiry, over the scheme registry and the points ledger."""

    def __init__(self, parts: ControlsParts) -> None:
        self.parts = parts

    # --- council calls -------------------------------------------------------------------------

    def policy_call(
        self,
        *,
        scheme: str | int,
        max_balance: int | str | None = None,
        expiry_months: int | str | None = None,
        supply_limit: int | str | None = None,
    ) -> Call:
        """Council call: a scheme's policy; options left out keep their current setting."""
        s = self.parts.scheme(scheme)
        now = self.parts.schemes.policy_of(s.id)
        policy = Policy(
            max_balance=now.max_balance
            if max_balance is None
            else _limit(max_balance, "maximum balance", MAX_BALANCE),
            expiry_months=now.expiry_months
            if expiry_months is None
            else _limit(expiry_months, "expiry in months", MAX_EXPIRY_MONTHS),
            supply_limit=now.supply_limit
            if supply_limit is None
            else _limit(supply_limit, "supply limit", MAX_AMOUNT),
        )
        return self.parts.schemes.set_policy_call(s.id, policy)

    def pause_call(self, scheme: str | int) -> Call:
        """Council call: pause a scheme's points (``all``: every scheme's)."""
        return self.parts.schemes.pause_call(self._target(scheme))

    def resume_call(self, scheme: str | int) -> Call:
        """Council call: resume a paused scheme (``all``: lift the pause of every scheme)."""
        return self.parts.schemes.unpause_call(self._target(scheme))

    # --- direct actions ------------------------------------------------------------------------

    def pause(self, pauser: Signer, scheme: str | int) -> TxResult:
        """Pause at once, as a holder of the pauser role (or through the council)."""
        return self.parts.schemes.pause(pauser, self._target(scheme))

    def freeze(
        self, *, issuer: Signer, member: str, scheme: str | int, amount: int | str, case: str
    ) -> TxResult:
        """Freeze ``amount`` of a member's available points pending investigation ``case``."""
        return self._set_frozen(issuer, member, scheme, amount, case, increase=True)

    def release(
        self, *, issuer: Signer, member: str, scheme: str | int, amount: int | str, case: str
    ) -> TxResult:
        """Release frozen points once the investigation ``case`` allows it."""
        return self._set_frozen(issuer, member, scheme, amount, case, increase=False)

    def expire_due(
        self, sender: Signer, scheme: str | int, members: list[str] | None = None
    ) -> ExpirySweep:
        """Burn every expired lot of a scheme: of ``members``, or of every member in the store.

        Only accounts with an expired lot are sent; safe to run again (nothing is due twice).
        """
        s = self.parts.scheme(scheme)
        accounts = (
            [parse_address(m, what="member") for m in members]
            if members is not None
            else self._known_members()
        )
        due = self._with_expired_lots(s.id, accounts)
        transactions: list[str] = []
        total = 0
        for first in range(0, len(due), EXPIRE_CHUNK):
            chunk = due[first : first + EXPIRE_CHUNK]
            result = self.parts.points.expire(sender, s.id, chunk)
            transactions.append(result.tx_hash)
            total += sum(
                int(e["args"]["amount"]) for e in self.parts.points._events(result, "PointsExpired")
            )
        log.info("expired %d points of %s in %d accounts", total, s.code, len(due))
        return ExpirySweep(scheme=s, accounts=len(due), expired=total, transactions=transactions)

    # --- reads ---------------------------------------------------------------------------------

    def balances(self, member: str, *, schemes: list[Scheme] | None = None) -> list[SchemeBalance]:
        """A member's balance in every scheme (or in `schemes`): available, frozen and what
        expires when. One batch read finds the schemes with a balance; only those are read in
        detail."""
        address = parse_address(member, what="member address")
        schemes = self.parts.schemes.schemes() if schemes is None else schemes
        points = self.parts.points
        held = points.balances(address, [s.id for s in schemes]) if schemes else {}
        month = points.current_month() if any(held.values()) else 0
        out = []
        for s in schemes:
            balance = held.get(s.id, 0)
            if not balance:
                out.append(SchemeBalance(s, 0, 0, 0, ()))
                continue
            out.append(
                SchemeBalance(
                    scheme=s,
                    balance=balance,
                    available=points.available_of(address, s.id),
                    frozen=points.frozen_of(address, s.id),
                    expiring=expiring_from(points.lots_of(address, s.id), month),
                )
            )
        return out

    # --- internals -----------------------------------------------------------------------------

    def _target(self, scheme: str | int) -> int:
        if isinstance(scheme, str) and scheme.strip().lower() == "all":
            return 0
        return self.parts.scheme(scheme).id

    def _set_frozen(
        self,
        issuer: Signer,
        member: str,
        scheme: str | int,
        amount: int | str,
        case: str,
        *,
        increase: bool,
    ) -> TxResult:
        s = self.parts.scheme(scheme)
        return self.parts.points.set_frozen(
            issuer,
            s.id,
            parse_address(member, what="member"),
            parse_amount(amount, what="amount of points", maximum=MAX_BALANCE),
            increase=increase,
            case_ref=case_ref(case),
        )

    def _known_members(self) -> list[str]:
        with session(self.parts.engine) as db:
            rows = db.exec(
                select(MemberIdentity.address).where(MemberIdentity.successor == None)  # noqa: E711
            ).all()
        return list(rows)

    def _with_expired_lots(self, scheme_id: int, accounts: list[str]) -> list[str]:
        points = self.parts.points
        month = points.current_month()
        fn = points.contract.functions
        calls: list[tuple[str, bytes]] = [
            (
                str(points.address),
                bytes.fromhex(fn.lotsOf(scheme_id, a)._encode_transaction_data()[2:]),
            )
            for a in accounts
        ]
        due = []
        for account, answer in zip(accounts, batch_calls(self.parts.w3, calls), strict=True):
            expiries, _ = abi_decode(["uint256[]", "uint256[]"], answer)
            if expiries and int(expiries[0]) <= month:
                due.append(account)
        return due


def _limit(value: int | str, what: str, maximum: int) -> int:
    if isinstance(value, str) and value.strip().lower() in ("none", "off"):
        return 0
    return parse_amount(value, what=what, maximum=maximum, allow_zero=True)
