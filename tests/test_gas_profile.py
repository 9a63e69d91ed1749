"""scripts/gas_profile.py: a transaction's gas broken down from the node's step trace adds up to
what the receipt says, and puts storage, events and calls where they belong."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from ledger.ledger import Ledger
from ledger.store import PersonalData
from scripts import gas_profile
from tests.chain_helpers import make_settings, own_deployment, share_build


def register(ledger: Ledger) -> str:
    """A new member registered (the development registrar granted its role first); the tx."""
    registrar = ledger.operator("registrar")
    ledger.govern([ledger.role_call(role_name="registrar", account=registrar.address, grant=True)])
    registered = ledger.register_member(
        registrar=registrar,
        address=Account.create().address,
        personal=PersonalData(name="测试", id_number="11010519491231002X", phone=None),
    )
    assert registered.tx_hash is not None
    return registered.tx_hash


def test_a_registration_is_broken_down_into_parts_that_add_up(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "anvil").model_copy(update={"node_steps_tracing": True})
    share_build(settings)
    with own_deployment(settings) as (ledger, _):
        tx_hash = register(ledger)
        p = gas_profile.profile(ledger.w3, tx_hash)
        used = ledger.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"]  # type: ignore[arg-type]
        transfer = ledger.w3.eth.send_transaction(
            {"from": ledger.operator("registrar").address, "to": Account.create().address}
        )
        ledger.w3.eth.wait_for_transaction_receipt(transfer)
        plain = gas_profile.profile(ledger.w3, transfer.to_0x_hex())

    assert p.total == used == sum(p.parts.values())
    assert p.parts["storage writes"] >= 20_000 and p.new_slots >= 1  # the member's new record
    assert p.counts["events"] >= 1 and p.parts["events"] > 0  # MemberRegistered
    assert 21_000 < p.parts["intrinsic"] < 30_000  # the base and the calldata
    assert plain.total == plain.parts["intrinsic"] == 21_000


def test_a_node_without_step_traces_is_named_rather_than_read_as_all_intrinsic(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, "anvil")
    share_build(settings)
    with own_deployment(settings) as (ledger, _):
        tx_hash = register(ledger)
        with pytest.raises(RuntimeError, match="--steps-tracing"):
            gas_profile.profile(ledger.w3, tx_hash)
