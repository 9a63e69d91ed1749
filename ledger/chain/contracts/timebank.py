"""Client of the TimeBank contract (爱心银行): requests for help paid in time-bank hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

from web3.types import EventData

from ledger.chain.contracts.base import ZERO_ADDRESS, ContractClient
from ledger.chain.contracts.points import Lot, unpack_lot
from ledger.chain.tx import Signer, TxResult

#: The most hours one request may offer (TimeBank.MAX_HOURS).
MAX_HOURS = 1000
#: The top byte of a request's points-ledger reference (TimeBank.SOURCE_KIND).
SOURCE_KIND = 3


@dataclass(frozen=True)
class ServiceKind:
    """A kind of help a member can ask for; the chain stores its code."""

    code: int
    name: str
    zh: str
    en: str


#: The kinds of service a request names (code on chain, name on the command line).
SERVICE_KINDS: tuple[ServiceKind, ...] = (
    ServiceKind(1, "companionship", "陪伴", "companionship, a chat, a walk"),
    ServiceKind(2, "shopping", "代购", "shopping and errands"),
    ServiceKind(3, "cleaning", "保洁", "cleaning and housework"),
    ServiceKind(4, "escort", "陪诊", "escort to hospital or a clinic"),
    ServiceKind(5, "repairs", "维修", "small repairs at home"),
    ServiceKind(6, "meals", "助餐", "cooking or delivering meals"),
    ServiceKind(99, "other", "其他", "other help (see the needs)"),
)
#: Reason codes for disputing an accepted request.
DISPUTE_REASONS: dict[int, str] = {
    1: "the help was not given (no-show)",
    2: "the help was not given as agreed",
    3: "the hours are disputed",
    4: "the requester does not confirm help that was given",
    99: "other",
}


class RequestStatus(IntEnum):
    NONE = 0
    OPEN = 1
    ACCEPTED = 2
    DISPUTED = 3
    COMPLETED = 4
    RESOLVED = 5
    CANCELLED = 6

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class TimeBankRequest:
    """A request for help as the chain holds it (ITimeBank.Request)."""

    id: int
    requester: str
    scheme_id: int
    kind: int
    status: RequestStatus
    hours: int
    helper: str | None
    #: Unix time from which nobody can accept it; None: no deadline.
    deadline: int | None
    hold_id: int | None
    #: The hash of the request's details, from its RequestPosted event (the contract keeps it in
    #: the event only); empty when read without it.
    details_hash: str = ""


@dataclass(frozen=True)
class TimeBankServiceRecord:
    """A helper's service record of a time-bank scheme (a TimeBankServiceRecorded event)."""

    request_id: int
    scheme_id: int
    helper: str
    requester: str
    hours: int
    source: str
    block: int
    tx_hash: str


def source_of(request_id: int) -> bytes:
    """The points-ledger reference of a request's hold and payment: 3 << 248 | request id."""
    return ((SOURCE_KIND << 248) | request_id).to_bytes(32, "big")


def kind_by_code(code: int) -> ServiceKind | None:
    return next((k for k in SERVICE_KINDS if k.code == code), None)


class TimeBankClient(ContractClient):
    def post(
        self,
        account: Signer,
        member: str,
        scheme_id: int,
        kind: int,
        hours: int,
        details_hash: bytes,
        deadline: int,
    ) -> TxResult:
        return self._write(account, "post", member, scheme_id, kind, hours, details_hash, deadline)

    def posted_id(self, result: TxResult) -> int:
        return int(self._events(result, "RequestPosted")[0]["args"]["requestId"])

    def accept(self, account: Signer, request_id: int, helper: str) -> TxResult:
        return self._write(account, "accept", request_id, helper)

    def withdraw(self, account: Signer, request_id: int) -> TxResult:
        return self._write(account, "withdraw", request_id)

    def cancel(self, account: Signer, request_id: int) -> TxResult:
        return self._write(account, "cancel", request_id)

    def confirm(self, account: Signer, request_id: int) -> TxResult:
        return self._write(account, "confirm", request_id)

    def dispute(self, account: Signer, request_id: int, reason: int) -> TxResult:
        return self._write(account, "dispute", request_id, reason)

    def resolve(self, account: Signer, request_id: int, helper_hours: int) -> TxResult:
        return self._write(account, "resolve", request_id, helper_hours)

    def request_lots(self, request_id: int) -> list[Lot]:
        """The expiring lots a request's held hours came from (they return with them)."""
        return [unpack_lot(int(v)) for v in self._read("requestLots", request_id)]

    def request(self, request_id: int, *, details: bool = True) -> TimeBankRequest:
        """A request; without its details hash (one request fewer) when `details` is False."""
        request = _request(request_id, self._read("request", request_id))
        return self.with_details([request])[0] if details else request

    def requests(self, request_ids: Sequence[int]) -> list[TimeBankRequest]:
        """Requests without their details hashes, read in JSON-RPC batches."""
        raw = self._read_many("request", [(i,) for i in request_ids])
        return [_request(i, r) for i, r in zip(request_ids, raw, strict=True)]

    def with_details(self, requests: list[TimeBankRequest]) -> list[TimeBankRequest]:
        """The requests with their details hashes, read from their RequestPosted events in one
        request."""
        ids = [r.id for r in requests if r.status is not RequestStatus.NONE]
        if not ids:
            return requests
        hashes = {
            int(e["args"]["requestId"]): "0x" + bytes(e["args"]["detailsHash"]).hex()
            for e in self.logs("RequestPosted", requestId=ids)
        }
        return [replace(r, details_hash=hashes.get(r.id, "")) for r in requests]

    def request_count(self) -> int:
        return int(self._read("requestCount"))

    def logs(self, event: str, **filters: object) -> list[EventData]:
        """Every `event` of the contract, oldest first, matching the indexed `filters`."""
        found = getattr(self.contract.events, event)().get_logs(
            from_block=0, argument_filters=filters or None
        )
        return list(found)

    def service_records(
        self, *, helper: str | None = None, scheme_id: int | None = None
    ) -> list[TimeBankServiceRecord]:
        filters: dict[str, object] = {}
        if helper is not None:
            filters["helper"] = helper
        if scheme_id is not None:
            filters["schemeId"] = scheme_id
        return [
            TimeBankServiceRecord(
                request_id=int(e["args"]["requestId"]),
                scheme_id=int(e["args"]["schemeId"]),
                helper=e["args"]["helper"],
                requester=e["args"]["requester"],
                hours=int(e["args"]["hoursPaid"]),
                source="0x" + bytes(e["args"]["source"]).hex(),
                block=int(e["blockNumber"]),
                tx_hash=e["transactionHash"].to_0x_hex(),
            )
            for e in self.logs("TimeBankServiceRecorded", **filters)
        ]


def _request(request_id: int, r: Sequence[Any]) -> TimeBankRequest:
    """A request from the contract's ``request`` answer."""
    return TimeBankRequest(
        id=request_id,
        requester=r[0],
        scheme_id=int(r[1]),
        kind=int(r[2]),
        status=RequestStatus(r[3]),
        hours=int(r[4]),
        helper=None if r[5] == ZERO_ADDRESS else r[5],
        deadline=int(r[6]) or None,
        hold_id=int(r[7]) or None,
    )
