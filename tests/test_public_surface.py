"""The public surface of ``ledger``: what ``ledger/__init__.py`` lists in ``__all__``.

A name leaves it or joins it only on purpose, with this list changed in the same commit: callers
outside the project (an operator's scripts, another service) import these and only these."""

from __future__ import annotations

import importlib

import ledger

# One string rather than a list literal: the names are the same as __init__'s, not its lines.
PUBLIC = sorted(
    """
    Balance Call HistoryEntry HistoryPage IndexStatus Indexer Ledger LedgerError LocalNode
    MemberInfo MemberStatus NodeStatus PersonalData Proposal ProposalOutcome Registration
    Scheme SchemeFlag Settings SyncReport
    """.split()  # noqa: SIM905
)


def test_the_public_names_are_the_listed_ones() -> None:
    assert sorted(ledger.__all__) == PUBLIC


def test_every_public_name_is_defined_in_the_ledger_package() -> None:
    for name in ledger.__all__:
        value = getattr(ledger, name)
        assert value.__module__.split(".")[0] == "ledger", name
        # found where it is defined, under the same name
        assert getattr(importlib.import_module(value.__module__), name) is value


def test_a_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from ledger import *", namespace)
    assert sorted(n for n in namespace if not n.startswith("__")) == PUBLIC
