"""Gifts and community funds (共同缔造基金): members give points to each other or to a fund whose
manager grants them out for a stated purpose; every donation and grant is recorded and visible.

The chain (``contracts/Gifts.sol``) enforces who may act (the member or their recorded proxy, the
scheme's issuer, the fund's manager), that the scheme allows gifts, and the balances. This module
checks input first, keeps the texts (memo, fund details, purpose) whose salted hashes are on chain,
and makes every request idempotent: a request id sent again returns the first outcome.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from ledger.chain.contracts import Fund, FundEntry, GiftsClient
from ledger.chain.tx import Signer, TxResult
from ledger.errors import InputError, RecordNotFound
from ledger.spending.parts import GiftsParts
from ledger.store import session, utcnow
from ledger.store.gifts import FundDetails, GiftEntry
from ledger.store.pending import dropped_if_refused, insert, link
from ledger.store.records import canonical_json, details_hash
from ledger.store.refusals import refusals_noted
from ledger.values import parse_address, parse_amount, timestamp

#: The largest amount the points ledger moves at once (its balances are 88 bits).
MAX_POINTS = 2**88 - 1
MAX_TEXT = 500
#: Sends a request's transaction with the hash of its text; finds the transaction of a request
#: that an interrupted run sent (by that hash), or None.
Send = Callable[[bytes], TxResult]
Find = Callable[[bytes], str | None]


@dataclass(frozen=True)
class GiftReceipt:
    """The outcome of a gift, donation or grant."""

    kind: str
    request_id: str
    scheme_id: int
    fund_id: int | None
    account: str
    recipient: str | None
    amount: int
    #: The memo, note or purpose (off chain), without its salt.
    text: str
    text_hash: str
    tx_hash: str | None
    #: True when the request had already been done (a repeat returns the first outcome).
    repeated: bool = False


@dataclass(frozen=True)
class FundView:
    fund: Fund
    scheme_code: str
    #: Name and description from the store (None if this store does not hold them).
    name: str | None
    description: str | None


@dataclass(frozen=True)
class HistoryLine:
    entry: FundEntry
    #: The purpose of a grant, the note of a donation, the fund's name when created (off chain).
    text: str | None


@dataclass(frozen=True)
class _Request:
    """A gift, donation or grant as asked: a request id asked again must ask the same."""

    kind: str
    key: str
    scheme_id: int
    fund_id: int | None
    #: The giver, the donating member, or the fund's manager for a grant.
    account: str
    recipient: str | None
    amount: int

    def asks_as(self, row: GiftEntry) -> bool:
        """Whether the stored request `row` asked for exactly this."""
        asked = (row.kind, row.scheme_id, row.fund_id, row.account, row.recipient, row.amount)
        mine = (self.kind, self.scheme_id, self.fund_id, self.account, self.recipient)
        return asked == (*mine, str(self.amount))


def _salted(fields: dict[str, str]) -> tuple[bytes, str]:
    """The on-chain hash and the stored JSON of `fields` with a fresh random salt."""
    data = {**fields, "salt": secrets.token_hex(16)}
    return details_hash(data), canonical_json(data).decode()


def _text(value: str | None, *, what: str, required: bool = False) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise InputError(f"{what} is required")
    if len(text) > MAX_TEXT:
        raise InputError(f"{what} is longer than {MAX_TEXT} characters")
    return text


def _request_id(value: str | None) -> str:
    if value is None:
        return uuid.uuid4().hex
    text = value.strip()
    if not 1 <= len(text) <= 100:
        raise InputError("a request id is 1-100 characters")
    return text


class Gifts:
    """Gifts between members and community funds, over the Gifts contract."""

    def __init__(self, parts: GiftsParts) -> None:
        self.parts = parts

    @property
    def contract(self) -> GiftsClient:
        return self.parts.gifts_contract

    # --- gifts ---------------------------------------------------------------------------------

    def give(
        self,
        *,
        operator: Signer,
        scheme: str | int,
        giver: str,
        recipient: str,
        amount: int | str,
        memo: str = "",
        request_id: str | None = None,
    ) -> GiftReceipt:
        """Give `amount` of `giver`'s points to `recipient`; signed by the giver or their proxy."""
        s = self.parts.scheme(scheme)
        giver = parse_address(giver, what="giver address")
        recipient = parse_address(recipient, what="recipient address")
        value = parse_amount(amount, what="amount", maximum=MAX_POINTS)
        text = _text(memo, what="the memo")
        key = _request_id(request_id)
        request = _Request("gift", key, s.id, None, giver, recipient, value)

        def find(text_hash: bytes) -> str | None:
            gifts = self.contract.gifts_of(giver=giver)
            return next((g.tx_hash for g in gifts if g.memo_hash == text_hash), None)

        return self._run(
            request,
            text,
            operator.address,
            send=lambda h: self.contract.give(operator, s.id, giver, recipient, value, h),
            find=find,
        )

    # --- community funds -----------------------------------------------------------------------

    def create_fund(
        self,
        *,
        issuer: Signer,
        scheme: str | int,
        manager: str,
        name: str,
        description: str = "",
    ) -> FundView:
        """Open a community fund of `scheme` (by its issuer); its name is unique in the scheme.

        Creating a fund of the same name again returns it (also after an interruption).
        """
        s = self.parts.scheme(scheme)
        manager = parse_address(manager, what="manager address")
        name = _text(name, what="the fund's name", required=True)
        description = _text(description, what="the fund's description")
        engine = self.parts.engine
        with session(engine) as db:
            row = db.exec(
                select(FundDetails).where(FundDetails.scheme_id == s.id, FundDetails.name == name)
            ).first()
        if row is not None and row.fund_id is not None:
            return self.fund(row.fund_id)
        if row is not None:
            row_id, digest = row.id, bytes.fromhex(row.details_hash[2:])
            found = self._find_fund(digest)
            if found is not None:
                link(engine, FundDetails, row_id, fund_id=found)
                return self.fund(found)
        else:
            digest, stored = _salted({"scheme": s.code, "name": name, "description": description})
            row_id = insert(
                engine,
                FundDetails(
                    scheme_id=s.id,
                    name=name,
                    details_hash="0x" + digest.hex(),
                    details_json=stored,
                    created_at=utcnow(),
                ),
            )
        with (
            dropped_if_refused(engine, FundDetails, row_id, "fund_id"),
            refusals_noted(engine, issuer.address, "create-fund", s.code),
        ):
            result = self.contract.create_fund(issuer, s.id, manager, digest)
        fund_id = self.contract.created_fund_id(result)
        link(engine, FundDetails, row_id, fund_id=fund_id)
        return self.fund(fund_id)

    def _find_fund(self, digest: bytes) -> int | None:
        event = self.contract.contract.events.FundCreated()
        for entry in event.get_logs(from_block=0):
            if bytes(entry["args"]["detailsHash"]) == digest:
                return int(entry["args"]["fundId"])
        return None

    def set_manager(self, *, issuer: Signer, fund_id: int, manager: str) -> FundView:
        """Name a fund's new manager (by the scheme's issuer); naming the current one is a no-op."""
        manager = parse_address(manager, what="manager address")
        current = self._chain_fund(fund_id)
        if current.manager == manager:
            return self.fund(fund_id)
        subject = f"fund {fund_id}"
        with refusals_noted(self.parts.engine, issuer.address, "set-fund-manager", subject):
            self.contract.set_manager(issuer, fund_id, manager)
        return self.fund(fund_id)

    def donate(
        self,
        *,
        operator: Signer,
        fund_id: int,
        member: str,
        amount: int | str,
        note: str = "",
        request_id: str | None = None,
    ) -> GiftReceipt:
        """Move `amount` of `member`'s points into a fund; signed by the member or their proxy."""
        f = self._chain_fund(fund_id)
        member = parse_address(member, what="member address")
        value = parse_amount(amount, what="amount", maximum=MAX_POINTS)
        text = _text(note, what="the note")
        key = _request_id(request_id)
        request = _Request("donation", key, f.scheme_id, fund_id, member, None, value)
        return self._run(
            request,
            text,
            operator.address,
            send=lambda h: self.contract.donate(operator, fund_id, member, value, h),
            find=self._in_history(fund_id, "donation"),
        )

    def grant(
        self,
        *,
        manager: Signer,
        fund_id: int,
        recipient: str,
        amount: int | str,
        purpose: str,
        request_id: str | None = None,
    ) -> GiftReceipt:
        """Grant `amount` of a fund's points to a member for a stated purpose (by its manager)."""
        f = self._chain_fund(fund_id)
        recipient = parse_address(recipient, what="recipient address")
        value = parse_amount(amount, what="amount", maximum=MAX_POINTS)
        text = _text(purpose, what="the purpose of a grant", required=True)
        key = _request_id(request_id)
        request = _Request("grant", key, f.scheme_id, fund_id, manager.address, recipient, value)
        return self._run(
            request,
            text,
            manager.address,
            send=lambda h: self.contract.grant(manager, fund_id, recipient, value, h),
            find=self._in_history(fund_id, "grant"),
        )

    def _in_history(self, fund_id: int, kind: str) -> Find:
        """Finds the transaction of a fund's donation or grant by the hash of its text."""

        def find(text_hash: bytes) -> str | None:
            entries = self.contract.fund_history(fund_id)
            return next((e.tx_hash for e in entries if e.kind == kind and e.ref == text_hash), None)

        return find

    # --- reading -------------------------------------------------------------------------------

    def _chain_fund(self, fund_id: int) -> Fund:
        if isinstance(fund_id, bool) or not isinstance(fund_id, int) or fund_id <= 0:
            raise InputError(f"a fund id is a positive whole number (got {fund_id!r})")
        return self.contract.fund(fund_id)

    def fund(self, fund_id: int) -> FundView:
        """A fund: its balance, donated and granted totals, manager, and details from the store."""
        f = self._chain_fund(fund_id)
        with session(self.parts.engine) as db:
            row = db.exec(select(FundDetails).where(FundDetails.fund_id == fund_id)).first()
        details = json.loads(row.details_json) if row is not None else None
        return FundView(
            fund=f,
            scheme_code=self.parts.scheme_code(f.scheme_id),
            name=details["name"] if details else None,
            description=(details.get("description") or None) if details else None,
        )

    def funds(self, *, scheme: str | int | None = None) -> list[FundView]:
        """Every fund (of one scheme if given), oldest first."""
        scheme_id = self.parts.scheme(scheme).id if scheme is not None else None
        out = []
        for fund_id in range(1, self.contract.fund_count() + 1):
            view = self.fund(fund_id)
            if scheme_id is None or view.fund.scheme_id == scheme_id:
                out.append(view)
        return out

    def history(self, fund_id: int) -> list[HistoryLine]:
        """A fund's full history from the chain's events, with the texts the store holds."""
        self._chain_fund(fund_id)
        entries = self.contract.fund_history(fund_id)
        hashes = ["0x" + e.ref.hex() for e in entries if e.ref]
        with session(self.parts.engine) as db:
            texts = {
                r.text_hash: json.loads(r.text_json).get("text", "")
                for r in db.exec(select(GiftEntry).where(col(GiftEntry.text_hash).in_(hashes)))
            }
            details = db.exec(select(FundDetails).where(FundDetails.fund_id == fund_id)).first()
        lines = []
        for e in entries:
            if e.kind == "created":
                text = json.loads(details.details_json)["name"] if details else None
            else:
                text = texts.get("0x" + e.ref.hex()) if e.ref else None
            lines.append(HistoryLine(entry=e, text=text))
        return lines

    def entry(self, request_id: str) -> GiftEntry:
        row = self._entry(request_id)
        if row is None:
            raise RecordNotFound(f"no gift, donation or grant with request id {request_id!r}")
        return row

    def _entry(self, request_id: str) -> GiftEntry | None:
        with session(self.parts.engine) as db:
            return db.exec(select(GiftEntry).where(GiftEntry.request_id == request_id)).first()

    # --- one idempotent request ----------------------------------------------------------------

    def _run(
        self, request: _Request, text: str, actor: str, *, send: Send, find: Find
    ) -> GiftReceipt:
        """Store the request first, then send it once; a request id seen before is resumed."""
        engine = self.parts.engine
        row = self._entry(request.key)
        if row is not None:
            if not request.asks_as(row):
                raise InputError(
                    f"request id {request.key!r} was already used for another request; use a new one"
                )
            digest = bytes.fromhex(row.text_hash[2:])
            tx_hash = row.tx_hash or find(digest)
            if tx_hash is not None:
                link(engine, GiftEntry, row.id, tx_hash=tx_hash)
                return _receipt(row, tx_hash, repeated=True)
        else:
            digest, stored = _salted({"kind": request.kind, "text": text})
            row = GiftEntry(
                request_id=request.key,
                kind=request.kind,
                scheme_id=request.scheme_id,
                fund_id=request.fund_id,
                account=request.account,
                recipient=request.recipient,
                amount=str(request.amount),
                text_hash="0x" + digest.hex(),
                text_json=stored,
                created_at=utcnow(),
            )
            insert(engine, row)
        fund_id, scheme_id = request.fund_id, request.scheme_id
        subject = f"fund {fund_id}" if fund_id is not None else f"scheme {scheme_id}"
        with (
            dropped_if_refused(engine, GiftEntry, row.id, "tx_hash"),
            refusals_noted(engine, actor, request.kind, subject),
        ):
            result = send(digest)
        link(engine, GiftEntry, row.id, tx_hash=result.tx_hash)
        return _receipt(row, result.tx_hash, repeated=False)


def _receipt(row: GiftEntry, tx_hash: str, *, repeated: bool) -> GiftReceipt:
    return GiftReceipt(
        kind=row.kind,
        request_id=row.request_id,
        scheme_id=row.scheme_id,
        fund_id=row.fund_id,
        account=row.account,
        recipient=row.recipient,
        amount=int(row.amount),
        text=json.loads(row.text_json).get("text", ""),
        text_hash=row.text_hash,
        tx_hash=tx_hash,
        repeated=repeated,
    )


def receipt_data(r: GiftReceipt) -> dict[str, Any]:
    """A gift, donation or grant as the CLI and the API show it."""
    return {
        "kind": r.kind,
        "request_id": r.request_id,
        "scheme_id": r.scheme_id,
        "fund_id": r.fund_id,
        "from": r.account,
        "to": r.recipient,
        "amount": r.amount,
        "text": r.text,
        "text_hash": r.text_hash,
        "tx_hash": r.tx_hash,
        "repeated": r.repeated,
    }


def fund_data(view: FundView) -> dict[str, Any]:
    """A fund as the CLI and the API show it."""
    f = view.fund
    return {
        "id": f.id,
        "scheme": view.scheme_code,
        "scheme_id": f.scheme_id,
        "name": view.name,
        "description": view.description,
        "manager": f.manager,
        "balance": f.balance,
        "donated": f.donated,
        "granted": f.granted,
        "created_at": timestamp(f.created_at),
        "details_hash": f.details_hash,
    }


def history_data(h: HistoryLine) -> dict[str, Any]:
    """A line of a fund's history as the CLI and the API show it."""
    e = h.entry
    return {
        "kind": e.kind,
        "block": e.block,
        "tx_hash": e.tx_hash,
        "account": e.account,
        "amount": e.amount,
        "text": h.text,
        "hash": e.ref,
        "operator": e.operator,
    }
