"""CSV or JSON answers for auditors' queries (``?format=csv``; JSON is the default).

The CSV is the answer's rows (``ledger.audit.export.csv_text``), served as an attachment with a file
name that says what it holds; JSON is the answer itself, validated by the route's response model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel

from ledger.audit.export import csv_text

ExportFormat = Literal["json", "csv"]
FormatQuery = Annotated[
    ExportFormat,
    Query(
        alias="format",
        description="json (default): the whole answer; csv: its rows, one line each",
    ),
]

#: Pass as ``responses=`` to a route that answers CSV too, so its OpenAPI lists text/csv.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The answer (JSON), or with format=csv its rows as CSV.",
    }
}

T = TypeVar("T")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def csv_or(
    fmt: ExportFormat,
    data: T,
    rows: Iterable[Mapping[str, Any]],
    filename: str,
    columns: Sequence[str] | None = None,
) -> T | Response:
    """`data` for JSON; for CSV a download of `rows` named `filename` (.csv added). With no rows
    the header is `columns` (give the row model's fields), so an empty answer is still a table."""
    if fmt != "csv":
        return data
    name = _UNSAFE.sub("-", filename).strip("-") or "export"
    return Response(
        # The BOM makes spreadsheets read the UTF-8 (Chinese names) correctly.
        content="\ufeff" + _csv(list(rows), columns),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def csv_or_models(
    fmt: ExportFormat, data: T, rows: Sequence[BaseModel], model: type[BaseModel], filename: str
) -> T | Response:
    """`csv_or` for rows that are response models: each row its fields, the header `model`'s."""
    return csv_or(fmt, data, [row.model_dump() for row in rows], filename, list(model.model_fields))


def _csv(rows: list[Mapping[str, Any]], columns: Sequence[str] | None) -> str:
    return csv_text(rows, None if rows else columns or ())
