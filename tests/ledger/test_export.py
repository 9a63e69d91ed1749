"""Export of auditors' answers: CSV rows (flattened, formula-safe, exact) and JSON documents."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.audit.export import csv_text, flatten, write_export
from ledger.errors import InputError


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_nested_answers_flatten_to_dotted_columns_and_lists_join() -> None:
    row = {"id": 7, "approved": {"tx_hash": "0xab", "block": 12}, "schemes": ["VOL", "ENV"]}
    assert flatten(row) == {
        "id": 7,
        "approved.tx_hash": "0xab",
        "approved.block": 12,
        "schemes": "VOL;ENV",
    }


def test_csv_keeps_large_integers_exact_and_chinese_text() -> None:
    big = 2**128 - 1
    text = csv_text(
        [{"amount": big, "name": "社区志愿者协会", "when": datetime(2026, 1, 2, tzinfo=UTC)}]
    )
    [row] = rows_of(text)
    assert row == {
        "amount": str(big),
        "name": "社区志愿者协会",
        "when": "2026-01-02T00:00:00+00:00",
    }


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted_but_numbers_are_not() -> None:
    text = csv_text([{"note": '=HYPERLINK("http://x")', "delta": -5, "who": "@admin"}])
    [row] = rows_of(text)
    assert row == {"note": '\'=HYPERLINK("http://x")', "delta": "-5", "who": "'@admin"}


def test_columns_fix_the_order_and_rows_of_different_shapes_share_a_header() -> None:
    assert csv_text([{"b": 1}, {"a": 2}], columns=["a", "b"]).splitlines() == ["a,b", ",1", "2,"]
    assert csv_text([{"b": 1}, {"a": 2}]).splitlines() == ["b,a", "1,", ",2"]
    assert csv_text([]).splitlines() == [""]


@dataclass(frozen=True)
class Answer:
    block: int
    findings: tuple[str, ...]


def test_write_export_by_suffix_and_refuse_other_kinds(tmp_path: Path) -> None:
    data = Answer(block=5, findings=("a", "b"))
    write_export(tmp_path / "a.json", data, [{"x": 1}])
    assert json.loads((tmp_path / "a.json").read_text()) == {"block": 5, "findings": ["a", "b"]}
    write_export(tmp_path / "a.csv", data, [{"x": 1}, {"x": 2}])
    assert rows_of((tmp_path / "a.csv").read_text(encoding="utf-8")) == [{"x": "1"}, {"x": "2"}]
    with pytest.raises(InputError, match=r"\.csv or a \.json"):
        write_export(tmp_path / "a.xlsx", data, [])
    with pytest.raises(InputError, match="no folder"):
        write_export(tmp_path / "missing" / "a.csv", data, [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.json"]
