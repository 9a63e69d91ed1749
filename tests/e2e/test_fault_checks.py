"""The checks of scripts/fault_run.py find what they look for: on the session chain, writes
answered as done that never happened are lost, a registration answered as refused that did
happen is doubled, and points that are not what the writes leave are named. (The runs in
test_faults.py pass only when these find nothing.)"""

from __future__ import annotations

import uuid
from collections import Counter

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.ledger import Ledger
from scripts.fault_workload import Write, check_chain
from tests.factories import Member, new_holder, new_scheme


def answered(
    kind: str, signer: str, status: int, recipient: str | None = None, **answer: object
) -> Write:
    w = Write(kind, signer, recipient, str(uuid.uuid4()), status=status, answer=dict(answer))
    return w


def test_the_checks_find_lost_and_doubled_writes_and_wrong_points(
    ledger: Ledger, member: Member, registrar: LocalAccount
) -> None:
    scheme = new_scheme(ledger)
    holder = new_holder(ledger, scheme.id, 30)
    done = answered("register", registrar.address, 201, member.address)
    done.body = {"id_number": member.personal.id_number}
    never = answered("register", registrar.address, 201, Account.create().address)
    never.body = {"id_number": member.personal.id_number}
    refused_yet_done = answered("register", registrar.address, 409, holder.address)
    post_never = answered("post", holder.address, 201, id=10**9)
    start = {(holder.address, scheme.code): 35}

    tally = check_chain(ledger, [done, never, refused_yet_done, post_never], 1, start)

    assert tally.lost == Counter(register=1, post=1)
    assert tally.doubled == Counter(register=1)
    assert f"post {10**9} of {holder.address} acknowledged, not on chain" in tally.problems
    assert f"{holder.address} has 30 {scheme.code} available, expected 35" in tally.problems
    assert any(never.key in p and "the vault does not hold" in p for p in tally.problems)
    assert not any(done.key in p for p in tally.problems)  # the real registration passes


def test_the_checks_pass_writes_that_did_happen(ledger: Ledger, member: Member) -> None:
    registrar = ledger.operator("registrar")
    done = answered("register", registrar.address, 201, member.address)
    done.body = {"id_number": member.personal.id_number}
    refused = answered("register", registrar.address, 409, Account.create().address)

    tally = check_chain(ledger, [done, refused], 1, {})

    assert (tally.lost, tally.doubled, tally.problems) == (Counter(), Counter(), [])
