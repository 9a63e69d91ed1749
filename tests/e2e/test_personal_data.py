"""Personal data stays in the vault (issue 16): members registered with known names, ID numbers
and phones, through the API (with their own keys, and a custodial wallet) and through the CLI,
then a workload touching each of them (service records approved and rejected, a CSV batch, a
redemption and its cancellation, a gift, an exchange, a time-bank request, a proxy, a freeze and
an unfreeze, a certificate, exports, and refused writes that carry their data). Then every
transaction input and every event of every block, and every file under the run's directory (the
store, read by a child process; the node's files; the API's and the CLI's logs at DEBUG, their
outputs and answers; the exports and certificates) is searched for each person's name, ID number
and phone, plain, in hex and as unsalted hashes: none is anywhere.

The search is shown to look: each member's address is found on chain, in the store and in both
logs, every write's transaction was read, and data planted in a file and in a transaction is
found by the same scanner."""

from __future__ import annotations

import base64
import os
import random
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.demo import synthetic_id_number
from ledger.real_name import id_check_char
from ledger.store import PersonalData
from ledger.values import CST
from scripts.bench_earning import bench_chain, cst_midnight, write_file
from scripts.bench_spending import setup
from tests.e2e.logged_run import (
    PIN,
    Caller,
    Cli,
    api_process,
    done,
    pin_signed_in,
    refused,
    signed_in,
)
from tests.e2e.personal_data import Scanner, chain_haystacks, file_haystacks, needles, rpc

#: Names no log could hold by chance (each gets a random last character): Chinese, one of three
#: characters as most are, one with the middle dot of a Uyghur name; one in Latin letters.
NAMES = ("欧阳明月{}", "Ma Xiaoling {}", "上官{}", "诸葛春华{}", "阿依古丽·买买提{}")
PLANTED_FILE = "out/planted.txt"


def people() -> list[PersonalData]:
    rng = random.Random()
    return [
        PersonalData(
            name=name.format(rng.choice("QXZ" if name.isascii() else "甲乙丙丁戊")),
            id_number=synthetic_id_number(rng),
            phone="15" + "".join(rng.choice("0123456789") for _ in range(9)),
        )
        for name in NAMES
    ]


def wrong_check(id_number: str) -> str:
    """The same ID number with a wrong check character (a typo in its last digit)."""
    right = id_check_char(id_number[:17])
    return id_number[:17] + next(c for c in "0123456789X" if c != right)


@dataclass
class Run:
    """The people of a run, their accounts, how to reach the API and the CLI, and the
    transaction of each write answered with one."""

    who: list[PersonalData]
    keys: list[LocalAccount]
    addresses: list[str]
    http: httpx.Client
    answers: list[str]
    vpl: Cli
    operators: dict[str, LocalAccount]
    today: int
    tmp: Path
    out: Path
    chain_writes: list[str]

    def caller(self, operator: str) -> Caller:
        return signed_in(self.http, self.answers, self.operators[operator])

    def member(self, i: int) -> Caller:
        if i == 2:  # the custodial wallet
            return pin_signed_in(self.http, self.answers, self.addresses[2])
        return signed_in(self.http, self.answers, self.keys[i])

    def url(self, i: int, path: str) -> str:
        return f"/v1/members/{self.addresses[i]}/{path}"


def register(registrar: Caller, address: str, p: PersonalData, **changes: str) -> httpx.Response:
    body = {"address": address, "name": p.name, "id_number": p.id_number, "phone": p.phone}
    return registrar.write("/v1/issuer/members", {**body, **changes})


def register_everyone(run: Run) -> None:
    """Two members with their own keys and one with a custodial wallet through the API; two
    through the CLI, the ID number (and for one the name too) read from stdin, as it asks."""
    registrar = run.caller("registrar")
    run.addresses[2] = done(registrar.write("/v1/wallets", {"pin": PIN}))["address"]
    for i in (0, 1, 2):
        member = done(register(registrar, run.addresses[i], run.who[i]))
        assert member["personal"]["masked"] and member["created"]
        run.chain_writes.append(member["tx_hash"])
    p3, p4 = run.who[3], run.who[4]
    made = [
        run.vpl.json("member", "register", run.addresses[3], "--name", p3.name,
                     "--phone", str(p3.phone), input=f"{p3.id_number}\n"),
        run.vpl.json("member", "register", run.addresses[4], "--phone", str(p4.phone),
                     input=f"{p4.name}\n{p4.id_number}\n"),
    ]  # fmt: skip
    run.chain_writes += [m["tx_hash"] for m in made]


def refuse_writes_carrying_their_data(run: Run) -> None:
    """The same person again, a mistyped ID number, a bad phone, a spreadsheet row pasted as a
    name (over the vault's limit, then over the API's), a caller who is no registrar; a batch
    file with a phone, a name and an ID number where the addresses go, checked and then run."""
    who, vpl = run.who, run.vpl
    registrar = run.caller("registrar")
    stranger = Account.create().address
    refused(register(registrar, stranger, who[0]), 409, "already_registered")
    typo = wrong_check(who[1].id_number)
    refused(register(registrar, stranger, who[1], id_number=typo), 422, "invalid_identity")
    bad_phone = f"{who[1].phone}0"
    refused(register(registrar, stranger, who[1], phone=bad_phone), 422, "invalid_phone")
    row = f"{who[2].name}，{who[2].id_number}，{who[2].phone}，百瑞景社区3栋2单元502室，"
    row += "紧急联系人为其女儿，腿脚不便，需要上门服务"
    assert 64 < len(row) <= 100
    refused(register(registrar, stranger, who[2], name=row), 422, "invalid_identity")
    refused(register(registrar, stranger, who[2], name=row * 2), 422, "validation_error")
    not_registrar = {"address": stranger, "name": who[4].name, "id_number": who[4].id_number}
    refused(run.member(0).write("/v1/issuer/members", not_registrar), 403, "access_denied")
    p3, p4 = who[3], who[4]
    vpl("member", "register", stranger, "--name", p3.name, "--phone", str(p3.phone),
        input=f"{p3.id_number}\n", code=3)  # fmt: skip
    vpl("member", "register", stranger, "--name", p4.name,
        input=f"{wrong_check(p4.id_number)}\n", code=2)  # fmt: skip
    bad_file = run.tmp / "bad-batch.csv"  # the organiser's file, not one the system wrote
    write_file(bad_file, [str(who[0].phone), who[1].name, who[2].id_number], run.today, "bad")
    vpl("issue", "batch", str(bad_file), "--scheme", "VOL", "--check", code=2)
    vpl("issue", "batch", str(bad_file), "--scheme", "VOL", "--organiser", "issuer-bee", code=2)


def pay_them(run: Run) -> None:
    """A CSV batch naming all five (50 VOL each); through the API three VOL records, two
    approved and one rejected, and two approved hours of TIME for the member who asks for help."""
    batch_file = run.tmp / "batch.csv"
    write_file(batch_file, run.addresses, run.today - 3 * 86400 + 8 * 3600, "pd")
    paid = run.vpl.json("issue", "batch", str(batch_file), "--scheme", "VOL",
                        "--organiser", "issuer-bee")  # fmt: skip
    assert paid["paid"] == 5, paid
    organiser, reviewer = run.caller("issuer-bee"), run.caller("reviewer-1")
    day = run.today - 2 * 86400

    def record(scheme: str, i: int, start: int, hours: int) -> int:
        body = {"scheme": scheme, "volunteer": run.addresses[i], "start": start,
                "end": start + hours * 3600, "content": "为独居老人送午餐",
                "evidence_hash": "0x" + os.urandom(32).hex(), "activity_name": "助老送餐",
                "place": "百瑞景社区", "organising_unit": "百瑞景社区居委会",
                "person_in_charge": "王主任"}  # fmt: skip
        return int(done(organiser.write("/v1/issuer/records", body))["id"])

    vol = [record("VOL", i, day + 9 * 3600, 1) for i in (0, 1, 2)]
    hours = record("TIME", 0, day + 14 * 3600, 2)
    for record_id, grade in ((vol[0], "A"), (vol[1], "B"), (hours, "A")):
        done(reviewer.write(f"/v1/issuer/records/{record_id}/approve", {"grade": grade}), 200)
    done(reviewer.write(f"/v1/issuer/records/{vol[2]}/reject", {"reason": 1}), 200)


def spend(run: Run, item: int, price: int) -> None:
    """A redemption and its cancellation; a gift from the custodial wallet, and two to what is
    not an address (a phone; a name and a phone); an exchange; a time-bank request asked,
    accepted and confirmed."""
    m0, m1, m2 = run.member(0), run.member(1), run.member(2)
    order = done(m0.write(run.url(0, "orders"), {"item_id": item, "quantity": 1,
                                                 "unit_price": price}))  # fmt: skip
    done(m0.write(run.url(0, f"orders/{order['id']}/cancel")), 200)
    gift = {"scheme": "VOL", "recipient": run.addresses[0], "amount": 2, "memo": "谢谢帮忙"}
    run.chain_writes.append(done(m2.write(run.url(2, "gifts"), gift))["tx_hash"])
    for recipient in (str(run.who[1].phone), f"{run.who[2].name} {run.who[2].phone}"):
        wrong = {**gift, "recipient": recipient}
        refused(m2.write(run.url(2, "gifts"), wrong), 422, "invalid_address")
    ask = {"from_scheme": "VOL", "to_scheme": "BEE", "amount": 5}
    quote = done(m0.write(run.url(0, "exchange/quote"), ask), 200)
    assert quote["ok"], quote
    values = {"from_value": quote["from_value"], "to_value": quote["to_value"]}
    run.chain_writes.append(done(m0.write(run.url(0, "exchanges"), ask | values))["tx_hash"])
    help_wanted = {"scheme": "TIME", "kind": "escort", "hours": 1,
                   "needs": "周三上午陪同去社区医院复查", "address": "百瑞景社区3栋"}  # fmt: skip
    asked = done(m0.write(run.url(0, "timebank/requests"), help_wanted))["id"]
    done(m1.write(run.url(1, f"timebank/requests/{asked}/accept")), 200)
    settled = done(m0.write(run.url(0, f"timebank/requests/{asked}/confirm")), 200)
    assert settled["status"] == "completed", settled


def look_after_them(run: Run) -> None:
    """A proxy for a member the CLI registered, a freeze by the CLI lifted through the API, that
    member shown (masked) by the CLI; a certificate; what registrars and auditors read and
    export."""
    registrar = run.caller("registrar")
    consent = base64.b64encode("社区工作者代办委托书（已签字）".encode()).decode()
    proxy = {"proxy": Account.create().address, "consent_base64": consent,
             "file_name": "consent.pdf"}  # fmt: skip
    done(registrar.write(f"/v1/issuer/members/{run.addresses[4]}/proxies", proxy))
    frozen = run.vpl.json("member", "freeze", run.addresses[3], "--reason", "3")
    lift = registrar.write(f"/v1/issuer/members/{run.addresses[3]}/unfreeze", {"reason": 3})
    run.chain_writes += [frozen["tx_hash"], done(lift, 200)["tx_hash"]]
    assert run.vpl.json("member", "show", run.addresses[3])["personal"]["masked"] is True
    first, last = (
        datetime.fromtimestamp(t, CST).date().isoformat()
        for t in (run.today - 5 * 86400, run.today)
    )
    run.vpl("certificate", "create", run.addresses[0], "--from", first, "--to", last,
            "--out", str(run.out / "certificates"))  # fmt: skip
    run.vpl("audit", "member", run.addresses[0], "--export", str(run.out / "member-0.csv"))
    auditor = run.caller("auditor")
    reads = [registrar.get(f"/v1/issuer/members/{a}") for a in run.addresses]
    reads += [auditor.get(f"/v1/audit/members/{a}", format="csv") for a in run.addresses]
    reads += [auditor.get(u, format="csv") for u in ("/v1/audit/events", "/v1/audit/refusals")]
    reads.append(registrar.get("/v1/admin/actions", limit=200))
    assert [r.status_code for r in reads] == [200] * len(reads), run.answers[-len(reads) :]


def plant(run: Run, rpc_url: str) -> str:
    """Controls: a name and an ID number (upper-case hex, 0x) in a file, and the keccak of an
    ID number in a transaction's input; the transaction's hash."""
    (run.out / "planted.txt").write_text(
        f"{run.who[0].name} 0x{run.who[0].id_number.encode().hex().upper()}", encoding="utf-8"
    )
    sender = rpc(rpc_url, "eth_accounts", [])[-1]
    data = "0x" + keccak(text=run.who[1].id_number).hex()
    return str(rpc(rpc_url, "eth_sendTransaction", [{"from": sender, "to": sender, "data": data}]))


def test_no_name_id_number_or_phone_is_on_chain_in_the_store_or_in_any_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    for name in list(os.environ):
        if name.startswith("VPL_"):
            monkeypatch.delenv(name)
    with bench_chain() as (root, settings, ledger):
        keys = setup(ledger, [])
        auditor = ledger.operator("auditor")
        ledger.govern([ledger.role_call(role_name="auditor", account=auditor.address, grant=True)])
        names = ("registrar", "issuer-bee", "reviewer-1", "auditor")
        operators = {name: ledger.operator(name) for name in names}
        item, price = keys["items"]["VOL"]
        today, rpc_url = cst_midnight(ledger), ledger.network.rpc_url
        ledger.close()  # the API and the CLI have the chain and the store from here on
        monkeypatch.setenv("VPL_DEPLOYMENTS_DIR", str(settings.resolved_deployments_dir))
        out = root / "out"
        out.mkdir()
        who = people()
        accounts: list[LocalAccount] = [Account.create() for _ in who]
        with api_process(settings, out) as base, httpx.Client(base_url=base, timeout=60) as http:
            run = Run(who, accounts, [a.address for a in accounts], http, [],
                      Cli(settings, rpc_url, out), operators, today, tmp_path, out, [])  # fmt: skip
            register_everyone(run)
            refuse_writes_carrying_their_data(run)
            pay_them(run)
            spend(run, item, price)
            look_after_them(run)
        (out / "api-answers.txt").write_text("\n".join(run.answers), encoding="utf-8")
        planted_tx = plant(run, rpc_url)

        scanner = Scanner(needles(who, run.addresses))
        for kind, where, data in (*chain_haystacks(rpc_url), *file_haystacks(root)):
            scanner.scan(kind, where, data)
        shutil.copytree(out, tmp_path / "out")  # the logs and outputs, to look into

    print(f"scanned (sources, bytes): {scanner.summary()}; {time.monotonic() - started:.0f} s")
    personal = scanner.personal()
    assert {f.where for f in personal} == {PLANTED_FILE, f"tx {planted_tx} input"}, "\n".join(
        f"{f.where}: {f.what} of {who[f.person]!r}" for f in personal
    )
    in_file = {f.what for f in personal if f.where == PLANTED_FILE}
    assert {"name", "hex(id number)", "hex(id number (first 17))"} <= in_file
    assert {f.what for f in personal if f.where.startswith("tx ")} == {"keccak(id number)"}
    # It looked where the workload wrote: every write's transaction; every member's address on
    # chain, in the store and in both logs; a store, events and logs of some size.
    assert set(run.chain_writes) <= scanner.transactions
    assert len(scanner.transactions) > 30 + len(run.chain_writes)
    everyone = set(range(len(who)))
    assert scanner.controls("tx ") | scanner.controls("log ") == everyone
    assert scanner.controls("data/vpl.db") == everyone
    assert scanner.controls("out/api-debug.log") == everyone
    assert scanner.controls("out/cli-debug.log") == everyone
    assert scanner.sources["log"] > 50 and scanner.sources["store"] == 1
    assert scanner.read["file"] > 1_000_000
