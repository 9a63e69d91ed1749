"""The encrypted personal-data vault (ledger.store.vault) and its database plumbing."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.errors import (
    AlreadyInVault,
    InvalidAddress,
    InvalidIdentity,
    RecordNotFound,
    StoreError,
)
from ledger.store import PersonalData, Vault, init_db, make_engine, session
from ledger.store.vault import MemberIdentity
from tests.store_files import read_store_files, store_paths
from tests.vault_helpers import (
    NAME,
    PHONE,
    make_address,
    make_id,
    person,
    snapshot,
)

# --- database plumbing -------------------------------------------------------------------------


def test_make_engine_creates_the_directory_and_enables_wal_and_foreign_keys(
    engine: Engine, db_path: Path
) -> None:
    assert db_path.parent.is_dir()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # a write waits 30 s for another's lock (5 s ran out under the soak's 50 clients)
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def rows_kept_while_another_process_comes_and_goes(
    db_path: Path, read_files: Callable[[Path], object]
) -> int:
    """Rows in a store this process holds open, after `read_files` read its files here and other
    processes then opened it, wrote and closed it, between this process's own writes."""
    engine = make_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x BLOB)")
        conn.exec_driver_sql("INSERT INTO t VALUES (randomblob(3000))")
    with engine.connect() as held:  # this process's connection, open throughout
        held.exec_driver_sql("SELECT count(*) FROM t").scalar()
        read_files(db_path)
        other = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "for _ in range(20): c.execute('INSERT INTO t VALUES (randomblob(3000))')\n"
            "c.close()"
        )
        for _ in range(4):
            subprocess.run([sys.executable, "-c", other, str(db_path)], check=True)
            for _ in range(20):
                held.exec_driver_sql("INSERT INTO t VALUES (randomblob(3000))")
                held.commit()
    engine.dispose()
    with sqlite3.connect(db_path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return int(check.execute("SELECT count(*) FROM t").fetchone()[0])


def test_reading_the_store_files_in_another_process_loses_no_writes(tmp_path: Path) -> None:
    """The suite's searches of the store's files read them in a child process: read here, they
    drop this process's locks on the store, and another process closing it deletes the
    write-ahead log this process is still writing to (its later rows are lost)."""
    written = 1 + 4 * 20 + 4 * 20

    def read_here(database: Path) -> None:
        for path in store_paths(database):
            path.read_bytes()

    assert rows_kept_while_another_process_comes_and_goes(tmp_path / "here.db", read_here) < written
    kept = rows_kept_while_another_process_comes_and_goes(tmp_path / "there.db", read_store_files)
    assert kept == written


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

    raw = read_store_files(db_path)
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
