"""The encrypted personal-data vault (ledger.store.vault) and its database plumbing."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.errors import (
    AlreadyInVault,
    InvalidAddress,
    InvalidIdentity,
    RecordNotFound,
    StatusConflict,
    StoreError,
    UnknownName,
    VaultCorrupt,
    VaultKeyError,
)
from ledger.real_name import identity_commitment
from ledger.store import PersonalData, Vault, init_db, make_engine, session
from ledger.store.vault import MemberIdentity, key_id

COMMITMENT_KEY = hashlib.sha256(b"test commitment key").digest()
NAME = "张三丰"
PHONE = "13812345678"


def make_id(region: str = "440604", birth: str = "19850214", sequence: str = "321") -> str:
    """A valid 18-digit ID number, its check character computed from the standard's weights."""
    body = region + birth + sequence
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def make_address(n: int) -> str:
    """A distinct checksummed address per ``n``."""
    return str(to_checksum_address("0x" + hashlib.sha256(f"member {n}".encode()).hexdigest()[:40]))


def person(n: int, name: str = NAME, phone: str | None = PHONE) -> tuple[PersonalData, bytes]:
    """Personal data for person ``n`` and their identity commitment."""
    data = PersonalData(name=name, id_number=make_id(sequence=f"{n:03d}"), phone=phone)
    return data, identity_commitment(COMMITMENT_KEY, data.id_number)


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    """Every column of every vault row, raw, to show that nothing changed."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM member_identity ORDER BY address")).all()
    return [tuple(row) for row in rows]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "vault.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{db_path}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def vault(engine: Engine, key: bytes) -> Vault:
    return Vault(engine, key)


# --- database plumbing -------------------------------------------------------------------------


def test_make_engine_creates_the_directory_and_enables_wal_and_foreign_keys(
    engine: Engine, db_path: Path
) -> None:
    assert db_path.parent.is_dir()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_in_memory_sqlite_keeps_its_tables_across_sessions(key: bytes) -> None:
    engine = make_engine("sqlite://")
    init_db(engine)
    data, commitment = person(1)
    Vault(engine, key).put(address=make_address(1), commitment=commitment, data=data)
    assert Vault(engine, key).get(make_address(1)).data == data


def test_session_rolls_back_when_the_block_raises(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    with pytest.raises(RuntimeError), session(engine) as db:
        row = db.get(MemberIdentity, make_address(1))
        assert row is not None
        row.status = "registered"
        db.add(row)
        db.flush()
        raise RuntimeError("boom")
    assert vault.get(make_address(1)).status == "pending"


# --- round trip --------------------------------------------------------------------------------


def test_put_then_get_returns_the_same_personal_data(vault: Vault) -> None:
    data, commitment = person(1)
    address = make_address(1)
    stored = vault.put(address=address, commitment=commitment, data=data)
    assert stored.address == address
    assert stored.commitment == commitment
    assert stored.status == "pending"
    assert stored.successor is None
    assert stored.data == data

    read = vault.get(address)
    assert read == stored
    assert read.data == PersonalData(NAME, data.id_number, PHONE)
    assert read.created_at.tzinfo is not None
    assert read.created_at.utcoffset() == UTC.utcoffset(None)


def test_put_accepts_a_lower_case_address_and_stores_it_checksummed(vault: Vault) -> None:
    data, commitment = person(1)
    address = make_address(1)
    vault.put(address=address.lower(), commitment=commitment, data=data)
    assert vault.get(address.lower()).address == address


def test_person_without_phone_round_trips(vault: Vault) -> None:
    data, commitment = person(1, phone=None)
    vault.put(address=make_address(1), commitment=commitment, data=data, status="registered")
    entry = vault.get(make_address(1))
    assert entry.data is not None
    assert entry.data.phone is None
    assert entry.status == "registered"


def test_find_by_commitment_returns_the_entry_or_none(vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    found = vault.find_by_commitment(commitment)
    assert found is not None
    assert found.address == make_address(1)
    assert found.data == data
    assert vault.find_by_commitment(person(2)[1]) is None


def test_get_of_an_unknown_address_raises_record_not_found(vault: Vault) -> None:
    with pytest.raises(RecordNotFound, match="not in the vault"):
        vault.get(make_address(9))
    with pytest.raises(LookupError):
        vault.get(make_address(9))


def test_invalid_address_is_refused(vault: Vault) -> None:
    data, commitment = person(1)
    with pytest.raises(InvalidAddress):
        vault.put(address="0x1234", commitment=commitment, data=data)


def test_commitment_must_be_32_bytes(vault: Vault) -> None:
    data, _ = person(1)
    with pytest.raises(InvalidIdentity, match="32 bytes"):
        vault.put(address=make_address(1), commitment=b"\x01" * 31, data=data)


def test_each_write_uses_a_fresh_nonce(engine: Engine, vault: Vault) -> None:
    first, c1 = person(1)
    second, c2 = person(2)
    vault.put(address=make_address(1), commitment=c1, data=first)
    vault.put(address=make_address(2), commitment=c2, data=second)
    with engine.connect() as conn:
        nonces = conn.execute(text("SELECT nonce FROM member_identity")).scalars().all()
    assert len(nonces) == 2
    assert all(len(nonce) == 12 for nonce in nonces)
    assert nonces[0] != nonces[1]


# --- personal data never in plaintext ----------------------------------------------------------


def test_personal_data_never_reaches_disk_logs_or_errors(
    engine: Engine, db_path: Path, key: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # even SQL statements and parameters
    vault = Vault(engine, key)
    data, commitment = person(1)
    secrets = [NAME, data.id_number, PHONE]
    seen: list[str] = []

    address, new_address = make_address(1), make_address(2)
    seen.append(repr(vault.put(address=address, commitment=commitment, data=data)))
    seen.append(repr(vault.get(address)))
    seen.append(repr(vault.find_by_commitment(commitment)))
    seen.append(repr(vault.set_status(address, "registered")))
    seen.append(repr(vault.relink(address, new_address)))
    seen.append(repr(vault.get(address)))
    seen.append(repr(vault.resolve(address)))
    other, other_commitment = person(3)
    vault.put(address=make_address(3), commitment=other_commitment, data=other)
    vault.delete(make_address(3))
    for attempt in (
        lambda: vault.put(address=make_address(4), commitment=commitment, data=data),
        lambda: vault.put(address=new_address, commitment=other_commitment, data=data),
        lambda: vault.delete(new_address),
        lambda: Vault(engine, os.urandom(32)).get(new_address),
        lambda: PersonalData(NAME, data.id_number[:17] + "0", PHONE),
    ):
        with pytest.raises((StoreError, InvalidIdentity)) as info:
            attempt()
        seen.append(str(info.value))
        seen.append(repr(info.value.details if isinstance(info.value, StoreError) else ""))

    assert caplog.records, "the check needs logging to be captured"
    seen.extend(record.getMessage() for record in caplog.records)
    seen.append(caplog.text)
    for value in secrets:
        assert all(value not in line for line in seen), "personal data in a log line or error"

    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    assert db_path in files
    raw = b"".join(p.read_bytes() for p in files)
    assert new_address.encode() in raw, "the grep would find what is written in plaintext"
    for value in secrets:
        assert value.encode("utf-8") not in raw, "personal data written in plaintext"
        assert value.encode("utf-16-le") not in raw


def test_personal_data_repr_is_masked() -> None:
    data, _ = person(1)
    shown = repr(data)
    assert shown == (
        f"PersonalData(name='张**', id_number='{data.id_number[:4]}**********"
        f"{data.id_number[-4:]}', phone='138****5678')"
    )
    assert str(data) == shown
    assert NAME not in f"{data}" and PHONE not in f"{data!r}"


def test_personal_data_is_validated_and_normalized() -> None:
    data = PersonalData(
        name="  张  三丰 ", id_number="110105 19491231 002x", phone="+86 138-1234-5678"
    )
    assert data == PersonalData("张 三丰", "11010519491231002X", "13812345678")
    with pytest.raises(InvalidIdentity, match="name"):
        PersonalData(name="  ", id_number=make_id())


# --- duplicates are refused and change nothing -------------------------------------------------


def test_duplicate_address_is_refused_and_nothing_changes(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    before = snapshot(engine)
    other, other_commitment = person(2, name="李四")
    with pytest.raises(AlreadyInVault, match="address") as info:
        vault.put(address=make_address(1), commitment=other_commitment, data=other)
    assert info.value.field == "address"
    assert snapshot(engine) == before
    assert vault.get(make_address(1)).data == data


def test_duplicate_commitment_is_refused_and_nothing_changes(engine: Engine, vault: Vault) -> None:
    data, commitment = person(1)
    vault.put(address=make_address(1), commitment=commitment, data=data)
    before = snapshot(engine)
    with pytest.raises(AlreadyInVault, match="identity is already in the vault") as info:
        vault.put(address=make_address(2), commitment=commitment, data=data)
    assert info.value.field == "commitment"
    assert make_address(1) not in str(info.value)  # does not reveal whose account it is
    assert snapshot(engine) == before
    with pytest.raises(RecordNotFound):
        vault.get(make_address(2))


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
