"""The explorer has a sentence, in each of its languages, for every event any contract emits: a new
event cannot fall through to a raw `Name key=value` line."""

from __future__ import annotations

import re

from api.app import EXPLORER_DIR
from ledger.ledger import Ledger


def sentences(language: str) -> set[str]:
    """The event names of one language's sentence table (`TEXT.<language>.s`) in explorer.js."""
    script = (EXPLORER_DIR / "explorer.js").read_text(encoding="utf-8")
    table = re.search(rf"\n  {language}: {{\n.*?\n    s: {{\n(.*?)\n    }},\n", script, re.S)
    assert table is not None, f"no sentence table for {language!r} in explorer.js"
    return set(re.findall(r"^      (\w+): ", table.group(1), re.M))


def test_every_event_of_every_contract_has_a_sentence_in_both_languages(ledger: Ledger) -> None:
    emitted = {
        entry["name"]
        for artifact in ledger.build.artifacts.values()
        for entry in artifact.abi
        if entry["type"] == "event"
    }
    assert len(emitted) > 80  # the contracts' own events and those they inherit (ERC-1155, roles)
    for language in ("zh", "en"):
        missing = emitted - sentences(language)
        assert not missing, f"explorer.js has no {language} sentence for {sorted(missing)}"
