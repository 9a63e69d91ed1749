"""Types and limits shared by the routers' request and response models."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, Field

from ledger.errors import InputError
from ledger.values import MAX_TEXT

#: The longest list one request answers (`last`, `limit`).
MAX_LIST = 500


def _hex(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


#: Bytes (a hash, a reference) shown as 0x-prefixed hex.
Hex = Annotated[str, BeforeValidator(_hex)]
#: A time in a request body, as the CLI takes it (checked by `given_time` before use).
Time = Annotated[
    str | int,
    Field(description="unix seconds, or a time such as `2026-11-28 09:00` (CST when no zone)"),
]
#: A line of text that goes into a record's, an activity's or an item's details.
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
SchemeCode = Annotated[str, Field(min_length=1, max_length=32, description="code or id")]
Address = Annotated[str, Field(min_length=1, max_length=42)]
PathAddress = Annotated[str, Path(min_length=1, max_length=42)]


def given_time(value: str | int) -> str | int:
    """A `Time` of a request body, bounded before the ledger parses it."""
    if isinstance(value, str) and len(value) > 40:
        raise InputError("a time is at most 40 characters", field="time")
    if isinstance(value, int) and not 0 <= value < 2**40:
        raise InputError("a time in unix seconds is 0 - 2^40", field="time")
    return value
