"""Helpers of the vault tests (tests/ledger/test_vault*.py): valid ID numbers, addresses and
people, and a raw snapshot of the vault's rows (the vault fixtures are in
tests/ledger/conftest.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.real_name import identity_commitment
from ledger.store import PersonalData

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
