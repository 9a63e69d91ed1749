"""Supply reconciliation: the PointsLedger's counters at a block against what the event index's
movements add up to; any difference is a finding, with the figures on both sides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from ledger.audit import reconcile
from ledger.errors import IndexBehind, InputError, UnknownScheme
from ledger.indexer import Indexer
from ledger.ledger import Ledger
from ledger.store.index import PointMovement
from tests.exchange_helpers import exchange_scheme, grant_proxy, holder
from tests.ledger.test_indexer import index_of


@pytest.fixture(scope="module")
def indexer(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexer]:
    idx = index_of(ledger, f"sqlite:///{tmp_path_factory.mktemp('audit') / 'index.db'}")
    yield idx
    idx.ledger.close()


def test_supply_reconciles_now_and_at_an_earlier_block(ledger: Ledger, indexer: Indexer) -> None:
    a = exchange_scheme(ledger, value=1000)
    b = exchange_scheme(ledger, value=500)
    member = holder(ledger, a, 300)
    grant_proxy(ledger, member.address)
    before = ledger.w3.eth.block_number
    ledger.exchange.execute(
        actor=ledger.operator("issuer-vol"), member=member.address, from_scheme=a.id,
        to_scheme=b.id, amount=100, values=(1000, 500),
    )  # fmt: skip
    indexer.sync()
    now_a = reconcile(ledger, indexer, a.code)
    assert now_a.balanced, now_a.findings
    assert (now_a.issued, now_a.burned, now_a.total_supply) == (300, 100, 200)
    assert (now_a.created, now_a.destroyed, now_a.in_accounts, now_a.holders) == (300, 100, 200, 1)
    now_b = reconcile(ledger, indexer, b.id)
    assert now_b.balanced and (now_b.minted, now_b.in_accounts) == (200, 200)
    then = reconcile(ledger, indexer, a.code, block=before)
    assert then.balanced and (then.burned, then.total_supply, then.block) == (0, 300, before)


def test_an_index_that_disagrees_with_the_chain_is_reported(
    ledger: Ledger, indexer: Indexer
) -> None:
    a = exchange_scheme(ledger)
    member = holder(ledger, a, 50)
    indexer.sync()
    with Session(indexer.engine) as db:
        row = db.exec(
            select(PointMovement).where(
                col(PointMovement.scheme_id) == a.id,
                col(PointMovement.to_address) == member.address.lower(),
            )
        ).one()
        row.amount = "49"  # a damaged or tampered index
        db.add(row)
        db.commit()
    found = reconcile(ledger, indexer, a.code)
    assert not found.balanced
    assert "the index saw 49 points created, the chain counts 50" in found.findings


def test_blocks_outside_what_the_index_holds_are_refused(ledger: Ledger, indexer: Indexer) -> None:
    a = exchange_scheme(ledger)
    indexer.sync()
    indexed, _ = indexer.indexed()
    with pytest.raises(IndexBehind, match=f"up to block {indexed}"):
        reconcile(ledger, indexer, a.code, block=indexed + 1_000)
    with pytest.raises(InputError, match="from the deployment on"):
        reconcile(ledger, indexer, a.code, block=ledger.manifest.deploy_block - 1)
    with pytest.raises(UnknownScheme):
        reconcile(ledger, indexer, "NOSUCH")


def test_an_index_never_synced_says_so(ledger: Ledger, tmp_path: Path) -> None:
    fresh = index_of(ledger, f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(IndexBehind, match="not synced yet"):
            reconcile(ledger, fresh, 1)
    finally:
        fresh.ledger.close()
