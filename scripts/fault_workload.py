"""The writes of ``scripts/fault_run.py`` (and ``scripts/soak.py``) and the checks after them.

Who writes, each through the HTTP API with an Idempotency-Key, signing on their own side after
the 428 round trip, and sending the same signed request with the same key again for as long as
the answer is lost (the connection broke, a 5xx, or 409 idempotency_in_progress):

* members, in turn: post a time-bank request for an hour, redeem one unit of an item, give one
  point to another member, accept another member's open request, exchange 5 VOL for BEE (after a
  quote), cancel their oldest held order, and confirm the help on a request of theirs someone
  accepted (the hour goes to the helper);
* a registrar registering new people (personal data to the vault, a commitment on chain);
* an organiser submitting single service records, and a reviewer approving three of four and
  rejecting the fourth as they come.

The checks (``check``): every acknowledged write is on chain exactly once and nothing else ran,
each write of a kind in its own count; each acknowledged write sent again with its key answers
the same; and every member's available points in each scheme are what the acknowledged writes
leave.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.contracts.service_records import RecordStatus
from ledger.chain.contracts.timebank import RequestStatus
from ledger.demo import synthetic_id_number
from ledger.errors import RecordNotFound
from ledger.ledger import Ledger
from scripts.bench_api import authorization, sign_in

#: Set when a run ends early (a failure of its own): writers stop sending.
STOPPED = threading.Event()
#: Every kind of write, in the order the tables print them.
KINDS = ("register", "record", "approve", "reject", "post", "order", "gift", "accept",
         "exchange", "cancel", "confirm")  # fmt: skip
#: A member's writes, in turn (a step with nothing to act on is skipped).
MEMBER_STEPS = ("post", "order", "gift", "accept", "exchange", "cancel", "confirm")
#: The field of an answer that names what the write did: a retry must name the same.
NAMED_BY = {"gift": "request_id", "exchange": "exchange_id", "register": "address"}
#: VOL exchanged for BEE each time.
EXCHANGED = 5
#: Points an approved hour of service pays (the benchmark's duration rule for VOL).
POINTS_PER_HOUR = 50
#: Records a volunteer may have a day (the benchmark's limits): the organiser stops before.
RECORDS_A_DAY = 6
#: Fields of a registration that are personal data: never written to a run's outcome.
PERSONAL = ("name", "id_number", "phone")


@dataclass
class Write:
    """One logical write and what became of it."""

    kind: str  # one of KINDS
    member: str  # who signs it: the member, or the registrar, organiser or reviewer
    recipient: str | None  # who else it is for: gift recipient, volunteer, requester, new member
    key: str
    url: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    target: int | None = None  # the order, record or request it acts on
    attempts: int = 0
    status: int | None = None  # the definite answer's status
    #: The answers before it, by status (0: the connection broke).
    transient: list[int] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def shown(self) -> dict[str, Any]:
        """The write for a run's outcome: its personal data left out."""
        body = {k: ("(personal data)" if k in PERSONAL else v) for k, v in self.body.items()}
        return {**self.__dict__, "body": body}


def error_code(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return str(answer.status_code)


def send(http: httpx.Client, tokens: dict[str, str], account: LocalAccount, w: Write) -> None:
    """Send `w` until it has a definite answer: sign it after its 428 (once), then the same signed
    request and key again for as long as the answer is lost."""
    while w.status is None:
        if STOPPED.is_set():
            raise RuntimeError("the run stopped before this write had an answer")
        w.attempts += 1
        headers = {"Authorization": f"Bearer {tokens[account.address]}", "Idempotency-Key": w.key}
        try:
            if "authorization" not in w.body:
                first = http.post(w.url, json=w.body, headers=headers)
                if first.status_code == 428:
                    w.body["authorization"] = authorization(account, first.json())
                    continue
                answer = first
            else:
                answer = http.post(w.url, json=w.body, headers=headers)
        except httpx.TransportError:
            w.transient.append(0)
            time.sleep(0.2)
            continue
        if answer.status_code == 401:  # signed out by a restart: sign in again, same write
            tokens[account.address] = sign_in(http, account)
            continue
        if answer.status_code >= 500:
            w.transient.append(answer.status_code)
            time.sleep(0.2)
            continue
        if answer.status_code == 409 and error_code(answer) == "idempotency_in_progress":
            w.transient.append(409)
            time.sleep(float(answer.headers.get("Retry-After", "1")))  # the first attempt runs
            continue
        w.status = answer.status_code
        w.answer = answer.json() if answer.content else {}


def ask(
    http: httpx.Client, tokens: dict[str, str], account: LocalAccount, url: str, body: object
) -> dict[str, Any] | None:
    """A read sent as a POST (a quote): its answer, asked again while it is lost; None when
    refused."""
    while not STOPPED.is_set():
        try:
            answer = http.post(
                url, json=body, headers={"Authorization": f"Bearer {tokens[account.address]}"}
            )
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if answer.status_code == 401:
            tokens[account.address] = sign_in(http, account)
            continue
        if answer.status_code >= 500:
            time.sleep(0.2)
            continue
        return dict(answer.json()) if answer.status_code == 200 else None
    raise RuntimeError("the run stopped before a read had an answer")


class Board:
    """What the writers share: open time-bank requests, the accepted ones by requester, and
    records waiting for review."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: list[tuple[int, str]] = []  # (request id, requester)
        self.accepted: defaultdict[str, list[int]] = defaultdict(list)
        self.records: queue.Queue[int] = queue.Queue()

    def take_open(self, helper: str) -> tuple[int, str] | None:
        """An open request of another member's, no longer offered to others."""
        with self.lock:
            for i, (_, requester) in enumerate(self.open):
                if requester != helper:
                    return self.open.pop(i)
        return None

    def take_accepted(self, requester: str) -> int | None:
        with self.lock:
            mine = self.accepted[requester]
            return mine.pop(0) if mine else None


@dataclass
class Writers:
    """What every writer thread needs: the API, the sign-in tokens, the writes so far."""

    base: str
    end: float
    tokens: dict[str, str]
    writes: list[Write]
    board: Board
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, http: httpx.Client, account: LocalAccount, w: Write) -> Write:
        with self.lock:
            self.writes.append(w)
        send(http, self.tokens, account, w)
        return w

    def going(self) -> bool:
        return time.monotonic() < self.end and not STOPPED.is_set()


def member(
    writers: Writers, account: LocalAccount, members: list[str], item: int, price: int
) -> None:
    """A member's writes in turn (MEMBER_STEPS, from the one their place among `members` gives:
    a short run on a slow chain still sees every kind) until the end."""
    me = account.address
    others = [m for m in members if m != me]
    held: list[int] = []  # the member's acknowledged orders not cancelled yet
    board = writers.board
    with httpx.Client(base_url=writers.base, timeout=120) as http:
        turn = members.index(me)
        while writers.going():
            step = MEMBER_STEPS[turn % len(MEMBER_STEPS)]
            turn += 1
            w = Write(step, me, None, str(uuid.uuid4()))
            if step == "post":
                w.url = f"/v1/members/{me}/timebank/requests"
                # needs of its own: the same needs again, while open, name the same request
                w.body = {"scheme": "TIME", "kind": "escort", "hours": 1,
                          "needs": f"陪同去社区医院复查 (第 {turn} 次)"}  # fmt: skip
            elif step == "order":
                w.url = f"/v1/members/{me}/orders"
                w.body = {"item_id": item, "quantity": 1, "unit_price": price}
            elif step == "gift":
                w.recipient = random.choice(others)
                w.url = f"/v1/members/{me}/gifts"
                w.body = {"scheme": "VOL", "recipient": w.recipient, "amount": 1}
            elif step == "accept":
                taken = board.take_open(me)
                if taken is None:
                    continue
                w.target, w.recipient = taken
                w.url = f"/v1/members/{me}/timebank/requests/{w.target}/accept"
            elif step == "exchange":
                terms = {"from_scheme": "VOL", "to_scheme": "BEE", "amount": EXCHANGED}
                quote = ask(
                    http, writers.tokens, account, f"/v1/members/{me}/exchange/quote", terms
                )
                if quote is None or not quote["ok"]:
                    continue
                w.url = f"/v1/members/{me}/exchanges"
                w.body = {**terms, "from_value": quote["from_value"], "to_value": quote["to_value"]}
            elif step == "cancel":
                if not held:
                    continue
                w.target = held.pop(0)
                w.url = f"/v1/members/{me}/orders/{w.target}/cancel"
            else:
                target = board.take_accepted(me)
                if target is None:
                    continue
                w.target = target
                w.url = f"/v1/members/{me}/timebank/requests/{w.target}/confirm"
            writers.write(http, account, w)
            if w.acknowledged:
                if step == "order":
                    held.append(int(w.answer["id"]))
                elif step == "post":
                    with board.lock:
                        board.open.append((int(w.answer["id"]), me))
                elif step == "accept":
                    assert w.recipient is not None and w.target is not None
                    with board.lock:
                        board.accepted[w.recipient].append(w.target)
            time.sleep(random.uniform(0, 0.2))  # a person between two taps


def registrar(writers: Writers, account: LocalAccount) -> None:
    """New people registered, one after another, until the end."""
    rng = random.Random(random.random())
    with httpx.Client(base_url=writers.base, timeout=120) as http:
        while writers.going():
            address = Account.create().address
            w = Write("register", account.address, address, str(uuid.uuid4()), "/v1/issuer/members")
            w.body = {"address": address, "name": f"测试{rng.choice('甲乙丙丁戊')}{rng.randrange(10**4)}",
                      "id_number": synthetic_id_number(rng),
                      "phone": "15" + "".join(rng.choice("0123456789") for _ in range(9))}  # fmt: skip
            writers.write(http, account, w)
            time.sleep(random.uniform(0.1, 0.5))


def organiser(writers: Writers, account: LocalAccount, volunteers: list[str], day: int) -> None:
    """Single VOL records of an hour on `day` for `volunteers` in turn, until the end (or until
    each has RECORDS_A_DAY); each acknowledged one goes to the reviewer."""
    with httpx.Client(base_url=writers.base, timeout=120) as http:
        for n in range(len(volunteers) * RECORDS_A_DAY):
            if not writers.going():
                return
            volunteer = volunteers[n % len(volunteers)]
            start = day + 8 * 3600 + (n // len(volunteers)) * 7200
            w = Write("record", account.address, volunteer, str(uuid.uuid4()), "/v1/issuer/records")
            w.body = {"scheme": "VOL", "volunteer": volunteer, "start": start, "end": start + 3600,
                      "content": "为独居老人送午餐", "evidence_hash": "0x" + uuid.uuid4().hex * 2,
                      "activity_name": "助老送餐", "place": "百瑞景社区",
                      "organising_unit": "百瑞景社区居委会", "person_in_charge": "王主任"}  # fmt: skip
            if writers.write(http, account, w).acknowledged:
                writers.board.records.put(int(w.answer["id"]))
            time.sleep(random.uniform(0.1, 0.5))


def reviewer(writers: Writers, account: LocalAccount) -> None:
    """The records as they come: three of four approved, the fourth rejected, until the end."""
    with httpx.Client(base_url=writers.base, timeout=120) as http:
        turn = 0
        while writers.going():
            try:
                record_id = writers.board.records.get(timeout=0.5)
            except queue.Empty:
                continue
            turn += 1
            kind, body = ("reject", {"reason": 1}) if turn % 4 == 0 else ("approve", {"grade": "A"})
            w = Write(kind, account.address, None, str(uuid.uuid4()),
                      f"/v1/issuer/records/{record_id}/{kind}", body, target=record_id)  # fmt: skip
            writers.write(http, account, w)


@dataclass
class Tally:
    """Lost and doubled writes by kind, and each check's problems."""

    lost: Counter[str] = field(default_factory=Counter)
    doubled: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def compare(
        self, kind: str, acked: Counter[Any], on_chain: Counter[Any], whose: str,
        sent: dict[Any, Write] | None = None, ledger: Ledger | None = None,
    ) -> None:  # fmt: skip
        """`acked` against `on_chain` (what names each write, counted): the lost and the
        doubled; a lost one's transaction traced when `sent` names its write."""
        for name in (acked - on_chain).elements():
            self.lost[kind] += 1
            problem = f"{kind} {name} of {whose} acknowledged, not on chain"
            if sent is not None and ledger is not None and name in sent:
                problem += f": {trace(ledger, sent[name])}"
            self.problems.append(problem)
        for name in (on_chain - acked).elements():
            self.doubled[kind] += 1
            self.problems.append(f"{kind} {name} of {whose} on chain, not acknowledged once")

    def counts(self, writes: list[Write]) -> dict[str, Any]:
        kinds = [k for k in KINDS if any(w.kind == k for w in writes)]
        return {
            "lost": sum(self.lost.values()),
            "doubled": sum(self.doubled.values()),
            "by_kind": {
                k: {
                    "attempted": sum(w.kind == k for w in writes),
                    "acknowledged": sum(w.kind == k and w.acknowledged for w in writes),
                    "lost": self.lost[k],
                    "doubled": self.doubled[k],
                }
                for k in kinds
            },
        }


def trace(ledger: Ledger, w: Write) -> str:
    """What the chain knows of a write acknowledged and not found: its transaction's receipt, and
    whether the node's eth_getLogs returns that transaction's logs."""
    tx_hash = w.answer.get("tx_hash")
    found = "none named"
    if tx_hash:
        try:
            receipt = ledger.w3.eth.get_transaction_receipt(tx_hash)
        except Exception as exc:  # not found: the answer named a transaction the chain lacks
            found = f"no receipt ({type(exc).__name__})"
        else:
            block = int(receipt["blockNumber"])
            logs = ledger.w3.eth.get_logs({"fromBlock": block, "toBlock": block})
            listed = sum(1 for e in logs if e["transactionHash"] == receipt["transactionHash"])
            found = (f"status {receipt['status']} block {block}, {len(receipt['logs'])} logs in "
                     f"its receipt, {listed} by eth_getLogs")  # fmt: skip
    return (
        f"attempts {w.attempts}, answers before {w.transient}, its transaction {tx_hash}: {found}"
    )


#: Available points before the writes, by (address, scheme code).
Balances = dict[tuple[str, str], int]


def available(ledger: Ledger, addresses: Iterable[str], codes: Iterable[str]) -> Balances:
    ids = {code: ledger.scheme(code).id for code in codes}
    return {
        (a, code): ledger.points.available_of(a, scheme_id)
        for a in addresses
        for code, scheme_id in ids.items()
    }


def acked(writes: list[Write], kind: str, by: str | None = None) -> list[Write]:
    return [w for w in writes if w.kind == kind and w.acknowledged and by in (None, w.member)]


def check_spending(
    ledger: Ledger, writes: list[Write], members: list[str], price: int, tally: Tally
) -> Counter[tuple[str, str]]:
    """Orders, cancels, gifts, exchanges and time-bank requests: each member's on chain are those
    acknowledged, in the state the acknowledged writes left; what they changed of each member's
    available points, by (address, scheme code)."""
    change: Counter[tuple[str, str]] = Counter()
    gifts = ledger.gifts.contract
    exchanged = ledger.exchange_contract.contract.events.Exchanged()
    timebank = ledger.timebank_contract
    requests: set[int] = set()  # acknowledged posts found on chain
    for me in members:
        orders = Counter(int(w.answer["id"]) for w in acked(writes, "order", me))
        on_chain = Counter(o.order.id for o in ledger.catalogue.orders(member=me))
        sent = {int(w.answer["id"]): w for w in acked(writes, "order", me)}
        tally.compare("order", orders, on_chain, me, sent, ledger)
        cancelled = {int(w.answer["id"]) for w in acked(writes, "cancel", me)}
        for order_id in orders.keys() & on_chain.keys():
            status = ledger.catalogue_contract.order(order_id).status.name.lower()
            if status != ("cancelled" if order_id in cancelled else "held"):
                tally.problems.append(f"order {order_id} of {me} is {status} on chain")
        given = Counter("0x" + g.memo_hash.hex() for g in gifts.gifts_of(giver=me))
        sent_gifts = {str(w.answer["text_hash"]): w for w in acked(writes, "gift", me)}
        gave = Counter(str(w.answer["text_hash"]) for w in acked(writes, "gift", me))
        tally.compare("gift", gave, given, me, sent_gifts, ledger)
        mine = exchanged.get_logs(from_block=0, argument_filters={"member": me})
        exchanges = acked(writes, "exchange", me)
        sent_exchanges = {int(w.answer["exchange_id"]): w for w in exchanges}
        done = Counter(int(w.answer["exchange_id"]) for w in exchanges)
        logged_exchanges = Counter(int(e["args"]["exchangeId"]) for e in mine)
        tally.compare("exchange", done, logged_exchanges, me, sent_exchanges, ledger)
        posted = Counter(int(w.answer["id"]) for w in acked(writes, "post", me))
        logged = Counter(
            int(e["args"]["requestId"]) for e in timebank.logs("RequestPosted", requester=me)
        )
        tally.compare("post", posted, logged, me)
        requests.update(posted.keys() & logged.keys())
        change[(me, "VOL")] += (
            price * (len(cancelled) - orders.total())
            - len(acked(writes, "gift", me))
            - sum(int(w.answer["used"]) for w in exchanges)
        )
        change[(me, "BEE")] += sum(int(w.answer["out"]) for w in exchanges)
    for w in acked(writes, "gift"):
        change[(str(w.recipient), "VOL")] += 1
    # a request: accepted (its hour held from the requester), then confirmed (paid to the helper)
    accepted = {w.target: w for w in acked(writes, "accept")}
    confirmed = {w.target for w in acked(writes, "confirm")}
    for request_id in sorted(requests):
        on_chain_status = timebank.request(request_id, details=False).status
        expected = RequestStatus.OPEN
        if request_id in accepted:
            expected = (
                RequestStatus.COMPLETED if request_id in confirmed else RequestStatus.ACCEPTED
            )
        if on_chain_status is not expected:
            tally.problems.append(
                f"time-bank request {request_id} is {on_chain_status.label} on chain, "
                f"the acknowledged steps leave it {expected.label}"
            )
    for taken, w in accepted.items():
        change[(str(w.recipient), "TIME")] -= 1
        if taken in confirmed:
            change[(w.member, "TIME")] += 1
    for w in acked(writes, "confirm"):
        if w.target not in accepted:
            tally.problems.append(
                f"request {w.target} confirmed, its acceptance never acknowledged"
            )
    return change


def check_records(ledger: Ledger, writes: list[Write], tally: Tally) -> Counter[tuple[str, str]]:
    """Single records and their reviews: each acknowledged record on chain once, in the state its
    acknowledged review left; the points approved records paid, by (volunteer, "VOL")."""
    change: Counter[tuple[str, str]] = Counter()
    submitter = next((w.member for w in writes if w.kind == "record"), None)
    if submitter is None:
        return change
    records = acked(writes, "record")
    on_chain = [ledger.records.record(i) for i in range(1, ledger.records.record_count() + 1)]
    by_evidence = Counter(
        "0x" + r.evidence_hash.hex() for r in on_chain if r.submitter == submitter
    )
    tally.compare("record", Counter(str(w.body["evidence_hash"]) for w in records), by_evidence,
                  submitter)  # fmt: skip
    chain = {r.id: r for r in on_chain}
    reviewed = {w.target: w for w in [*acked(writes, "approve"), *acked(writes, "reject")]}
    for w in records:
        record = chain.get(int(w.answer["id"]))
        if record is None or "0x" + record.evidence_hash.hex() != w.body["evidence_hash"]:
            tally.problems.append(f"record {w.answer['id']} on chain is not the one acknowledged")
            continue
        review = reviewed.get(record.id)
        expected = review.answer["status"] if review is not None else RecordStatus.PENDING.label
        if record.status.label != expected:
            tally.problems.append(
                f"record {record.id} is {record.status.label}, expected {expected}"
            )
            if review is not None:  # the acknowledged review did not happen
                tally.lost[review.kind] += 1
            else:  # a review happened that was never acknowledged
                tally.doubled[
                    "reject" if record.status is RecordStatus.REJECTED else "approve"
                ] += 1
        if record.status is RecordStatus.APPROVED:
            change[(record.volunteer, "VOL")] += POINTS_PER_HOUR
    return change


def check_registrations(ledger: Ledger, writes: list[Write], tally: Tally) -> None:
    """Each acknowledged registration is a member on chain with their data in the vault; a
    refused one registered nobody."""
    for w in [w for w in writes if w.kind == "register"]:
        address = str(w.recipient)
        registered = ledger.member(address).registered
        if w.acknowledged and not registered:
            tally.lost["register"] += 1
            tally.problems.append(f"registration {w.key} acknowledged, {address} not a member")
        elif not w.acknowledged and registered:
            tally.doubled["register"] += 1
            tally.problems.append(f"registration {w.key} answered {w.status}, {address} a member")
        if w.acknowledged:
            try:
                kept = ledger.personal_data(address).data
            except RecordNotFound:
                kept = None
            if kept is None or kept.id_number != w.body["id_number"]:
                tally.problems.append(f"registration {w.key}: the vault does not hold their data")


def check_chain(ledger: Ledger, writes: list[Write], price: int, start: Balances) -> Tally:
    """Each kind of write against the chain, then each member's available points (`start`: those
    before the writes, of every member whose are checked)."""
    tally = Tally()
    members = sorted({w.member for w in writes if w.kind in MEMBER_STEPS})
    change = check_spending(ledger, writes, members, price, tally)
    change.update(check_records(ledger, writes, tally))
    check_registrations(ledger, writes, tally)
    for (address, code), before in sorted(start.items()):
        have = ledger.points.available_of(address, ledger.scheme(code).id)
        if have != before + change[(address, code)]:
            expected = before + change[(address, code)]
            tally.problems.append(f"{address} has {have} {code} available, expected {expected}")
    return tally


def check(
    ledger: Ledger, api_base: str, writes: list[Write], signers: dict[str, LocalAccount],
    tokens: dict[str, str], price: int, start: Balances,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Lost and doubled writes (in all, and by kind), and each check's problems (none when all is
    well): ``check_chain``, and each acknowledged write sent again answers the same result."""
    tally = check_chain(ledger, writes, price, start)
    with httpx.Client(base_url=api_base, timeout=120) as http:
        for w in [w for w in writes if w.acknowledged]:
            again = Write(w.kind, w.member, w.recipient, w.key, w.url, dict(w.body), w.target)
            send(http, tokens, signers[w.member], again)
            same = NAMED_BY.get(w.kind, "id")
            if not again.acknowledged or again.answer.get(same) != w.answer.get(same):
                tally.problems.append(
                    f"{w.kind} {w.key} sent again answered {again.status} {again.answer}"
                )
    return tally.counts(writes), tally.problems
