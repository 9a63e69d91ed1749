"""The time bank (爱心银行: 服务得积分、积分享爱心): requests for help paid in time-bank hours.

A member (or their recorded proxy: a family member, a community worker) posts a request with the
kind of service, the hours offered and the needs; another member accepts it and the hours are held
from the requester; the requester confirms and the hours go to the helper as a service record of
the time-bank scheme, or a party disputes and a reviewer of the scheme splits them. The chain
enforces every rule (who may act, balances, statuses, four eyes on disputes); this module checks
input first, keeps the needs and address the chain only holds a hash of, shows the address only to
those involved, and writes down every refused attempt for auditors.
"""

from __future__ import annotations

import difflib
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import select

from ledger.chain.contracts.schemes import SchemeFlag
from ledger.chain.contracts.timebank import (
    DISPUTE_REASONS,
    MAX_HOURS,
    SERVICE_KINDS,
    RequestStatus,
    ServiceKind,
    TimeBankClient,
    TimeBankRequest,
    TimeBankServiceRecord,
    kind_by_code,
)
from ledger.chain.tx import Signer
from ledger.errors import InputError, InvalidAmount, RecordNotFound, UnknownName
from ledger.spending.parts import TimeBankParts
from ledger.store import session, utcnow
from ledger.store.pending import dropped_if_refused, insert, link, linked
from ledger.store.records import canonical_json, details_hash
from ledger.store.refusals import refusals_noted
from ledger.store.timebank import TimeBankDetails
from ledger.values import check_text_fields, parse_address, parse_time, show_time


@dataclass(frozen=True)
class RequestView:
    """A request as the chain holds it, with its off-chain details as far as the viewer may see."""

    request: TimeBankRequest
    scheme_code: str
    kind: ServiceKind | None
    #: What help is needed (shown to everyone who may help).
    needs: str | None
    #: Where: shown only to the parties, their proxies and the scheme's issuer and reviewers.
    address: str | None
    address_hidden: bool
    posted_by: str | None
    #: After a post: whether it made this request (False: the same details were already an open
    #: request, which is this one). None when read.
    created: bool | None = None


@dataclass(frozen=True)
class RequestEvent:
    """One step in a request's history: what happened, signed by whom (a member or a proxy)."""

    event: str
    by: str | None
    block: int
    tx_hash: str
    args: dict[str, Any]


def parse_kind(value: str | int) -> ServiceKind:
    """A kind of service by name (``cleaning``), Chinese name (``保洁``) or code."""
    text = str(value).strip().lower()
    for kind in SERVICE_KINDS:
        if text in (kind.name, kind.zh, str(kind.code)):
            return kind
    names = [k.name for k in SERVICE_KINDS]
    close = difflib.get_close_matches(text, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownName(
        f"unknown kind of service {value!r}.{hint} Kinds are: "
        + ", ".join(f"{k.name} ({k.zh})" for k in SERVICE_KINDS)
    )


def parse_hours(value: int | str, *, what: str = "hours") -> int:
    """Whole hours, 1 to MAX_HOURS (1 point of a time-bank scheme is 1 hour)."""
    try:
        hours = int(str(value).strip())
    except ValueError:
        raise InvalidAmount(f"{what} must be a whole number of hours (got {value!r})") from None
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidAmount(f"{what} must be 1 to {MAX_HOURS} (got {hours})")
    return hours


def parse_dispute_reason(value: int | str) -> int:
    try:
        reason = int(str(value).strip())
    except ValueError:
        raise InputError(
            f"a dispute reason is a code (got {value!r}); codes: {_reasons()}"
        ) from None
    if reason not in DISPUTE_REASONS:
        raise InputError(f"unknown dispute reason {reason}; codes: {_reasons()}")
    return reason


def _reasons() -> str:
    return ", ".join(f"{code} {text}" for code, text in DISPUTE_REASONS.items())


class TimeBank:
    """The time bank's requests, over the TimeBank contract."""

    def __init__(self, parts: TimeBankParts) -> None:
        self.parts = parts

    @property
    def contract(self) -> TimeBankClient:
        return self.parts.timebank_contract

    def _attempt(self, actor: str, action: str, subject: str) -> AbstractContextManager[None]:
        """A LedgerError raised inside (not a typing mistake) is written down as refused."""
        return refusals_noted(self.parts.engine, actor, f"timebank-{action}", subject)

    # --- posting -------------------------------------------------------------------------------

    def post(
        self,
        *,
        actor: Signer,
        member: str,
        scheme: str | int,
        kind: str | int,
        hours: int | str,
        needs: str,
        address: str | None = None,
        deadline: str | int | datetime | None = None,
    ) -> RequestView:
        """Post a request for help for `member`, signed by the member or their proxy.

        The needs and address stay in the store; the chain gets their hash. Posting the same
        request again while the first is still open returns it (also after an interruption).
        """
        member = parse_address(member, what="member address")
        s = self.parts.scheme(scheme)
        if SchemeFlag.TIME_BANK not in s.flags:
            raise InputError(f"scheme {s.code} is not a time-bank scheme; its points are not hours")
        service = parse_kind(kind)
        amount = parse_hours(hours)
        deadline_ts = parse_time(deadline, what="deadline") if deadline is not None else 0
        if not 0 <= deadline_ts < 2**40:
            raise InputError("the deadline is out of range")
        details = check_text_fields(
            {
                "requester": member,
                "scheme": s.code,
                "kind": service.name,
                "hours": str(amount),
                "needs": needs,
                "address": address,
                "deadline": show_time(deadline_ts) if deadline_ts else None,
            },
            ("needs",),
        )
        digest = details_hash(details)
        digest_hex = "0x" + digest.hex()
        repeat = self._repeat(member, digest_hex)
        if repeat is not None:
            return replace(self.request(repeat, viewer=actor.address), created=False)
        engine = self.parts.engine
        row_id = insert(
            engine,
            TimeBankDetails(
                scheme_id=s.id,
                requester=member,
                details_hash=digest_hex,
                details_json=canonical_json(details).decode(),
                posted_by=actor.address,
                created_at=utcnow(),
            ),
        )
        with (
            dropped_if_refused(engine, TimeBankDetails, row_id, "request_id"),
            self._attempt(actor.address, "post", member),
        ):
            result = self.contract.post(
                actor, member, s.id, service.code, amount, digest, deadline_ts
            )
        request_id = self.contract.posted_id(result)
        link(engine, TimeBankDetails, row_id, request_id=request_id)
        return replace(self.request(request_id, viewer=actor.address), created=True)

    def _repeat(self, member: str, digest_hex: str) -> int | None:
        """The open request these details already made (a repeated or interrupted post)."""
        with session(self.parts.engine) as db:
            rows = db.exec(
                select(TimeBankDetails).where(
                    TimeBankDetails.requester == member, TimeBankDetails.details_hash == digest_hex
                )
            ).all()
        for row in rows:
            if row.request_id is None:
                found = self._find_posted(member, digest_hex)
                if found is None:
                    with session(self.parts.engine) as db:
                        stale = db.get(TimeBankDetails, row.id)
                        if stale is not None:
                            db.delete(stale)
                    continue
                link(self.parts.engine, TimeBankDetails, row.id, request_id=found)
                row.request_id = found
            if self.contract.request(row.request_id, details=False).status is RequestStatus.OPEN:
                return row.request_id
        return None

    def _find_posted(self, member: str, digest_hex: str) -> int | None:
        """A request these details posted that no row of the store is linked to yet."""
        known = linked(self.parts.engine, TimeBankDetails.request_id)
        for entry in self.contract.logs("RequestPosted", requester=member):
            request_id = int(entry["args"]["requestId"])
            if "0x" + bytes(entry["args"]["detailsHash"]).hex() == digest_hex and (
                request_id not in known
            ):
                return request_id
        return None

    # --- the steps of a request ----------------------------------------------------------------

    def accept(self, *, actor: Signer, request_id: int, helper: str) -> RequestView:
        """`helper` (signed by them or their proxy) takes an open request; the hours are held."""
        helper = parse_address(helper, what="helper address")
        with self._attempt(actor.address, "accept", f"request {request_id}"):
            self.contract.accept(actor, _request_id(request_id), helper)
        return self.request(request_id, viewer=actor.address)

    def withdraw(self, *, actor: Signer, request_id: int) -> RequestView:
        """The helper (or their proxy) steps back: the hours return, the request is open again."""
        with self._attempt(actor.address, "withdraw", f"request {request_id}"):
            self.contract.withdraw(actor, _request_id(request_id))
        return self.request(request_id, viewer=actor.address)

    def cancel(self, *, actor: Signer, request_id: int) -> RequestView:
        """The requester (or their proxy) cancels a request nobody has accepted."""
        with self._attempt(actor.address, "cancel", f"request {request_id}"):
            self.contract.cancel(actor, _request_id(request_id))
        return self.request(request_id, viewer=actor.address)

    def confirm(self, *, actor: Signer, request_id: int) -> RequestView:
        """The requester (or their proxy) confirms the help: the hours go to the helper."""
        with self._attempt(actor.address, "confirm", f"request {request_id}"):
            self.contract.confirm(actor, _request_id(request_id))
        return self.request(request_id, viewer=actor.address)

    def dispute(self, *, actor: Signer, request_id: int, reason: int | str) -> RequestView:
        """Either party (or a proxy) disputes an accepted request; a reviewer settles it."""
        code = parse_dispute_reason(reason)
        with self._attempt(actor.address, "dispute", f"request {request_id}"):
            self.contract.dispute(actor, _request_id(request_id), code)
        return self.request(request_id, viewer=actor.address)

    def resolve(self, *, reviewer: Signer, request_id: int, helper_hours: int | str) -> RequestView:
        """A reviewer of the scheme (neither party) splits a disputed request's hours."""
        try:
            hours = int(str(helper_hours).strip())
        except ValueError:
            raise InvalidAmount(
                f"hours for the helper must be a whole number ({helper_hours!r})"
            ) from None
        if not 0 <= hours <= MAX_HOURS:
            raise InvalidAmount(f"hours for the helper must be 0 to {MAX_HOURS} (got {hours})")
        with self._attempt(reviewer.address, "resolve", f"request {request_id}"):
            self.contract.resolve(reviewer, _request_id(request_id), hours)
        return self.request(request_id, viewer=reviewer.address)

    # --- reading -------------------------------------------------------------------------------

    def request(self, request_id: int, *, viewer: str | None = None) -> RequestView:
        """A request; its address is shown only if `viewer` may see it."""
        r = self.contract.request(_request_id(request_id))
        if r.status is RequestStatus.NONE:
            raise RecordNotFound(
                f"there is no time-bank request {request_id}; list them with `vpl timebank list`"
            )
        return self._view(r, viewer, self.parts.scheme_code(r.scheme_id))

    def _view(self, r: TimeBankRequest, viewer: str | None, code: str) -> RequestView:
        with session(self.parts.engine) as db:
            row = db.exec(select(TimeBankDetails).where(TimeBankDetails.request_id == r.id)).first()
        details: dict[str, Any] = {}
        if row is not None and row.details_hash == r.details_hash:
            details = json.loads(row.details_json)
        may_see = viewer is not None and self.may_see_address(r, viewer)
        return RequestView(
            request=r,
            scheme_code=code,
            kind=kind_by_code(r.kind),
            needs=details.get("needs"),
            address=details.get("address") if may_see else None,
            address_hidden=not may_see and "address" in details,
            posted_by=row.posted_by if row is not None else None,
        )

    def may_see_address(self, r: TimeBankRequest, viewer: str) -> bool:
        """The parties, their proxies, and the scheme's issuer and reviewers see the address."""
        viewer = parse_address(viewer, what="viewer address")
        members = self.parts.members
        for party in (r.requester, r.helper):
            if party is not None and (viewer == party or members.is_proxy(party, viewer)):
                return True
        if viewer == self.parts.scheme(r.scheme_id).issuer:
            return True
        return self.parts.has_role(role_name="reviewer", account=viewer, scheme=r.scheme_id)

    def requests(
        self,
        *,
        member: str | None = None,
        status: str | RequestStatus | None = None,
        scheme: str | int | None = None,
        viewer: str | None = None,
        last: int = 100,
    ) -> list[RequestView]:
        """Requests, newest first: of a member (as requester or helper), a status, a scheme."""
        wanted = _status(status) if status is not None else None
        scheme_id = self.parts.scheme(scheme).id if scheme is not None else None
        who = parse_address(member, what="member address") if member is not None else None
        found: list[TimeBankRequest] = []
        ids = self._candidates(who, scheme_id)
        page = max(last, 50)
        for first in range(0, len(ids), page):  # read in batches, newest first
            for r in self.contract.requests(ids[first : first + page]):
                if wanted is not None and r.status is not wanted:
                    continue
                if scheme_id is not None and r.scheme_id != scheme_id:
                    continue
                if who is not None and who not in (r.requester, r.helper):
                    continue
                found.append(r)
            if len(found) >= last:
                break
        found = found[:last]
        return [
            self._view(r, viewer, self.parts.scheme_code(r.scheme_id))
            for r in self.contract.with_details(found)
        ]

    def _candidates(self, member: str | None, scheme_id: int | None) -> list[int]:
        """The ids of the requests that may be a member's (posted by them, or accepted by them
        once) or a scheme's, from the events; every id without either; newest first."""
        if member is None and scheme_id is None:
            return list(range(self.contract.request_count(), 0, -1))
        posted: dict[str, object] = {}
        if member is not None:
            posted["requester"] = member
        if scheme_id is not None:
            posted["schemeId"] = scheme_id
        ids = {int(e["args"]["requestId"]) for e in self.contract.logs("RequestPosted", **posted)}
        if member is not None:
            accepted = self.contract.logs("RequestAccepted", helper=member)
            ids |= {int(e["args"]["requestId"]) for e in accepted}
        return sorted(ids, reverse=True)

    def history(self, request_id: int) -> list[RequestEvent]:
        """Every event of a request in chain order, with who signed it."""
        names = (
            "RequestPosted",
            "RequestAccepted",
            "HelperWithdrew",
            "RequestCancelled",
            "RequestConfirmed",
            "RequestDisputed",
            "DisputeResolved",
            "TimeBankServiceRecorded",
        )
        found = []
        for name in names:
            for e in self.contract.logs(name, requestId=_request_id(request_id)):
                args = dict(e["args"])
                by = args.pop("by", None) or args.get("reviewer")
                found.append(
                    (
                        (int(e["blockNumber"]), int(e["logIndex"])),
                        RequestEvent(
                            event=name,
                            by=by,
                            block=int(e["blockNumber"]),
                            tx_hash=e["transactionHash"].to_0x_hex(),
                            args={k: _plain(v) for k, v in args.items()},
                        ),
                    )
                )
        return [event for _, event in sorted(found, key=lambda pair: pair[0])]

    def service_records(
        self, member: str, *, scheme: str | int | None = None
    ) -> list[TimeBankServiceRecord]:
        """The member's service records of time-bank schemes: hours of help given, as paid."""
        helper = parse_address(member, what="member address")
        scheme_id = self.parts.scheme(scheme).id if scheme is not None else None
        return self.contract.service_records(helper=helper, scheme_id=scheme_id)


def _request_id(value: int | str) -> int:
    try:
        request_id = int(str(value).strip().lstrip("#"))
    except ValueError:
        raise InputError(f"a request id is a number (got {value!r})") from None
    if not 1 <= request_id < 2**256:
        raise InputError(f"a request id is a positive number (got {value!r})")
    return request_id


def _status(value: str | RequestStatus) -> RequestStatus:
    if isinstance(value, RequestStatus):
        return value
    try:
        return RequestStatus[value.strip().upper()]
    except KeyError:
        names = ", ".join(s.label for s in RequestStatus if s is not RequestStatus.NONE)
        raise UnknownName(f"unknown request status {value!r}; statuses are: {names}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def request_data(view: RequestView) -> dict[str, Any]:
    """A request as the CLI and the API show it."""
    r = view.request
    return {
        "id": r.id,
        "scheme": view.scheme_code,
        "status": r.status.label,
        "kind": view.kind.name if view.kind else r.kind,
        "kind_zh": view.kind.zh if view.kind else None,
        "hours": r.hours,
        "requester": r.requester,
        "helper": r.helper,
        "deadline": show_time(r.deadline) if r.deadline else None,
        "hold_id": r.hold_id,
        "needs": view.needs,
        "address": view.address,
        "address_hidden": view.address_hidden,
        "posted_by": view.posted_by,
        "details_hash": r.details_hash,
        **({} if view.created is None else {"created": view.created}),
    }
