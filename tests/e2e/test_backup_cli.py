"""``vpl backup`` and ``vpl restore``: the store copied while it is in use, restored into an empty
database of either backend, verified against the chain's anchors, its index rebuilt from the chain
alone; a damaged backup or a store that is not empty is refused and nothing is written; the vault
stays sealed in the file."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import func, select

from ledger.ledger import Ledger
from ledger.store import make_engine, migrate
from ledger.store.backup import _tables
from tests.conftest import fresh_database
from tests.e2e.runner import Vpl, ok
from tests.factories import person
from tests.ledger.test_registration import personal_needles


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = {
            t.name: int(connection.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in _tables(with_index=False)
        }
    engine.dispose()
    return found


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_backup_restored_into_an_empty_database_verifies_against_the_anchors(
    vpl: Vpl,
    ledger: Ledger,
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    who = person()
    address = Account.create().address
    ledger.register_member(registrar=ledger.operator("registrar"), address=address, personal=who)
    ok(vpl("--json", "audit", "anchor"))  # the chain holds the store's root as it is now
    file = tmp_path / "store.vplbackup.gz"

    made = ok(vpl("--json", "backup", str(file)))

    source = counts(ledger.settings.resolved_database_url)
    assert made["tables"] == source and made["rows"] == sum(source.values()) > 0
    assert made["revision"] == migrate.head() and not made["with_index"]
    content = gzip.decompress(file.read_bytes())
    assert address.encode() in content  # the member's vault entry is there, sealed
    for what, needle in personal_needles(who).items():
        assert needle not in content, f"{what} in the backup"

    target = fresh_database(kind, tmp_path, request)
    monkeypatch.setenv("VPL_DATABASE_URL", target)
    restored = ok(vpl("--json", "restore", str(file)))
    assert restored["tables"] == source and counts(target) == source

    verified = ok(vpl("--json", "audit", "verify-store"))
    assert verified["clean"] is True, verified
    synced = ok(vpl("--json", "index", "sync"))  # the index, rebuilt from the chain alone
    assert synced["to_block"] == synced["chain_head"] and synced["events"] > 0
    member = ok(vpl("--json", "member", "show", address))
    assert member["registered"] is True

    again = vpl("--json", "restore", str(file))  # not into a store that has rows
    assert again.exit_code == 1 and "the store is not empty" in again.stdout
    assert counts(target) == source


def test_a_damaged_backup_is_refused_and_nothing_is_written(
    vpl: Vpl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "store.vplbackup.gz"
    ok(vpl("--json", "backup", str(file)))
    lines = gzip.decompress(file.read_bytes()).splitlines(keepends=True)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b"".join(lines[: len(lines) // 2])))
    altered = tmp_path / "altered.gz"
    changed = lines[1].replace(b'"', b"'", 1) if len(lines) > 2 else lines[0]
    altered.write_bytes(gzip.compress(b"".join([lines[0], changed, *lines[2:]])))
    target = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("VPL_DATABASE_URL", target)

    for bad in (cut, altered, tmp_path / "missing.gz"):
        refused = vpl("--json", "restore", str(bad))
        assert refused.exit_code == 2, refused.stdout
        assert "backup" in refused.stdout
        assert sum(counts(target).values()) == 0
    assert hashlib.sha256(file.read_bytes()).hexdigest()  # the good one is untouched
    assert ok(vpl("--json", "restore", str(file)))["rows"] > 0
