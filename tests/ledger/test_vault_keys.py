"""The encrypted personal-data vault (ledger.store.vault): its keys and what tampering shows, a
member's status and deletion, and recovery to a new address."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.errors import (
    AlreadyInVault,
    InvalidAddress,
    RecordNotFound,
    StatusConflict,
    StoreError,
    UnknownName,
    VaultCorrupt,
    VaultKeyError,
)
from ledger.store import Vault
from ledger.store.vault import key_id
from tests.vault_helpers import (
    make_address,
    person,
    snapshot,
)

# --- keys and tampering ------------------------------------------------------------------------


def test_wrong_key_raises_vault_key_error(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    intruder = Vault(engine, os.urandom(32))
    with pytest.raises(VaultKeyError, match="does not match the key these rows were written with"):
        intruder.get(make_address(1))
    with pytest.raises(VaultKeyError):
        intruder.find_by_commitment(commitment)
    with pytest.raises(VaultKeyError):
        intruder.verify_key()
    vault.verify_key()


def test_wrong_key_cannot_write_either(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    before = snapshot(engine)
    other, other_commitment = person(2)
    with pytest.raises(VaultKeyError):
        Vault(engine, os.urandom(32)).put(
            address=make_address(2), commitment=other_commitment, data=other
        )
    assert snapshot(engine) == before


def test_key_id_is_stored_per_row(engine: Engine, vault: Vault, key: bytes) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_id FROM member_identity")).scalar_one()
    assert stored == hashlib.sha256(key).hexdigest()[:8] == key_id(key) == vault.key_id


@pytest.mark.parametrize("bad_key", [b"", b"\x00" * 16, b"\x00" * 33])
def test_vault_key_must_be_32_bytes(engine: Engine, bad_key: bytes) -> None:
    with pytest.raises(VaultKeyError, match="32 bytes"):
        Vault(engine, bad_key)


def test_tampered_ciphertext_raises_store_error(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    with engine.begin() as conn:
        ciphertext = conn.execute(text("SELECT ciphertext FROM member_identity")).scalar_one()
        flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
        conn.execute(text("UPDATE member_identity SET ciphertext = :c"), {"c": flipped})
    with pytest.raises(VaultCorrupt, match="fails authentication") as info:
        vault.get(make_address(1))
    assert isinstance(info.value, StoreError)


def test_ciphertext_copied_onto_another_row_fails_to_decrypt(engine: Engine, vault: Vault) -> None:
    first, c1 = person(1)
    second, c2 = person(2, name="李四")
    vault.put(address=make_address(1), commitment=c1, data=first)
    vault.put(address=make_address(2), commitment=c2, data=second)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE member_identity SET"
                " ciphertext = (SELECT ciphertext FROM member_identity WHERE address = :src),"
                " nonce = (SELECT nonce FROM member_identity WHERE address = :src)"
                " WHERE address = :dst"
            ),
            {"src": make_address(1), "dst": make_address(2)},
        )
    with pytest.raises(VaultCorrupt):
        vault.get(make_address(2))
    with pytest.raises(VaultCorrupt):
        vault.find_by_commitment(c2)
    assert vault.get(make_address(1)).data == first


# --- status, delete ----------------------------------------------------------------------------


def test_pending_entry_becomes_registered(vault: Vault) -> None:
    data, commitment = person(1)
    created = vault.put(address=make_address(1), commitment=commitment, data=data)
    updated = vault.set_status(make_address(1), "registered")
    assert updated.status == "registered"
    assert updated.updated_at >= created.updated_at
    assert vault.get(make_address(1)).status == "registered"
    assert vault.set_status(make_address(1), "registered").status == "registered"  # no-op


def test_registered_entry_cannot_go_back_to_pending(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    before = snapshot(engine)
    with pytest.raises(StatusConflict) as info:
        vault.set_status(make_address(1), "pending")
    assert info.value.status == "registered"
    assert snapshot(engine) == before


def test_unknown_or_reserved_status_is_refused(vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    with pytest.raises(UnknownName, match="pending, registered, recovered"):
        vault.set_status(make_address(1), "approved")
    with pytest.raises(StatusConflict, match="relink"):
        vault.set_status(make_address(1), "recovered")
    with pytest.raises(StatusConflict, match="relink"):
        vault.put(address=make_address(2), commitment=person(2)[1], data=data, status="recovered")


def test_delete_removes_a_pending_entry(vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    vault.delete(make_address(1))
    with pytest.raises(RecordNotFound):
        vault.get(make_address(1))
    assert vault.find_by_commitment(commitment) is None
    # the identity may register again afterwards
    vault.put(address=make_address(1), commitment=commitment, data=data)


def test_delete_refuses_a_registered_entry(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    vault.set_status(make_address(1), "registered")
    before = snapshot(engine)
    with pytest.raises(StatusConflict, match="only a pending entry can be deleted") as info:
        vault.delete(make_address(1))
    assert info.value.status == "registered"
    assert snapshot(engine) == before


def test_delete_refuses_a_recovered_tombstone(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    vault.relink(make_address(1), make_address(2))
    before = snapshot(engine)
    with pytest.raises(StatusConflict) as info:
        vault.delete(make_address(1))
    assert info.value.status == "recovered"
    assert snapshot(engine) == before


def test_delete_of_an_unknown_address_raises_record_not_found(vault: Vault) -> None:
    with pytest.raises(RecordNotFound):
        vault.delete(make_address(1))


# --- recovery ----------------------------------------------------------------------------------


def test_relink_moves_the_data_and_the_commitment_to_the_new_address(
    engine: Engine, vault: Vault
) -> None:
    data, commitment = person(1)
    old, new = make_address(1), make_address(2)
    vault.put(address=old, commitment=commitment, data=data, status="registered")

    moved = vault.relink(old, new)
    assert moved.address == new
    assert moved.status == "registered"
    assert moved.commitment == commitment
    assert moved.data == data
    assert vault.get(new).data == data

    tombstone = vault.get(old)
    assert tombstone.status == "recovered"
    assert tombstone.successor == new
    assert tombstone.data is None
    assert tombstone.commitment is None
    assert not tombstone.is_live

    found = vault.find_by_commitment(commitment)
    assert found is not None
    assert found.address == new
    assert vault.resolve(old) == vault.get(new)


def test_relink_keeps_one_copy_sealed_for_the_new_address(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    old, new = make_address(1), make_address(2)
    vault.put(address=old, commitment=commitment, data=data, status="registered")
    with engine.connect() as conn:
        old_ciphertext = conn.execute(
            text("SELECT ciphertext FROM member_identity WHERE address = :a"), {"a": old}
        ).scalar_one()
    vault.relink(old, new)
    with engine.connect() as conn:
        rows = {
            row.address: row
            for row in conn.execute(
                text("SELECT address, commitment, ciphertext, nonce, key_id FROM member_identity")
            )
        }
    assert rows[old].commitment is None
    assert rows[old].ciphertext is None and rows[old].nonce is None and rows[old].key_id is None
    assert rows[new].commitment == commitment.hex()
    assert rows[new].ciphertext != old_ciphertext


def test_relink_twice_to_the_same_address_is_idempotent(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    first = vault.relink(make_address(1), make_address(2))
    before = snapshot(engine)
    again = vault.relink(make_address(1), make_address(2))
    assert again == first
    assert snapshot(engine) == before


def test_relink_of_a_recovered_address_to_another_address_is_refused(
    engine: Engine, vault: Vault
) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    vault.relink(make_address(1), make_address(2))
    before = snapshot(engine)
    with pytest.raises(StatusConflict, match="already recovered"):
        vault.relink(make_address(1), make_address(3))
    assert snapshot(engine) == before


def test_a_recovered_account_can_be_recovered_again(vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    vault.relink(make_address(1), make_address(2))
    vault.relink(make_address(2), make_address(3))
    assert vault.resolve(make_address(1)).address == make_address(3)
    found = vault.find_by_commitment(commitment)
    assert found is not None and found.address == make_address(3)


def test_relink_refuses_a_pending_entry(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    before = snapshot(engine)
    with pytest.raises(StatusConflict, match="only a registered member can be recovered"):
        vault.relink(make_address(1), make_address(2))
    assert snapshot(engine) == before


def test_relink_refuses_a_new_address_already_in_the_vault(engine: Engine, vault: Vault) -> None:
    first, c1 = person(1)
    second, c2 = person(2, name="李四")
    vault.put(address=make_address(1), commitment=c1, data=first, status="registered")
    vault.put(address=make_address(2), commitment=c2, data=second, status="registered")
    before = snapshot(engine)
    with pytest.raises(AlreadyInVault) as info:
        vault.relink(make_address(1), make_address(2))
    assert info.value.field == "address"
    assert snapshot(engine) == before


def test_relink_refuses_the_same_address(vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    with pytest.raises(InvalidAddress, match="new address"):
        vault.relink(make_address(1), make_address(1).lower())


def test_relink_of_an_unknown_address_raises_record_not_found(vault: Vault) -> None:
    with pytest.raises(RecordNotFound):
        vault.relink(make_address(1), make_address(2))


def test_a_put_that_loses_a_race_names_the_duplicate_and_changes_nothing(
    engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    before = snapshot(engine)
    checks = iter([False, True])  # the first check "misses" the row a concurrent put just wrote
    original = Vault._refuse_duplicate

    def racing_check(db: Any, address: str, hex_commitment: str) -> None:
        if next(checks):
            original(db, address, hex_commitment)

    monkeypatch.setattr(Vault, "_refuse_duplicate", staticmethod(racing_check))
    with pytest.raises(AlreadyInVault) as info:
        vault.put(address=make_address(2), commitment=commitment, data=data)
    assert info.value.field == "commitment"
    assert snapshot(engine) == before
