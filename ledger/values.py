"""Parsing of values that come from people: addresses and amounts. Bad input never reaches the chain."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from eth_utils import is_checksum_address, to_checksum_address

from ledger.errors import InvalidAddress, InvalidAmount
from ledger.identity import mask

#: Grade letters by index: grade 0 is "A".
GRADE_LETTERS = "ABCDEFGH"

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: The largest amount any contract accepts (amounts are stored in 128 bits).
MAX_AMOUNT = 2**128 - 1


def parse_address(text: str, *, what: str = "address") -> str:
    """A checksummed address; refuses malformed ones and mixed-case ones with a wrong checksum."""
    value = text.strip() if isinstance(text, str) else ""
    if not _HEX_ADDRESS.match(value):
        shown = repr(value) if len(value) <= 42 and value.startswith("0x") else repr(mask(value))
        raise InvalidAddress(f"{what} {shown} is not an address (0x followed by 40 hex digits)")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise InvalidAddress(
            f"{what} {value} has a wrong checksum (a typo?); the checksummed form of these digits "
            f"is {to_checksum_address(value)}: check it against the source before using it"
        )
    if int(body, 16) == 0:
        raise InvalidAddress(f"{what} cannot be the zero address")
    return to_checksum_address(value)


#: The largest value a 64-bit field (unit values, periods in seconds) holds.
MAX_UINT64 = 2**64 - 1


def parse_amount(
    value: int | str, *, what: str = "amount", allow_zero: bool = False, maximum: int = MAX_AMOUNT
) -> int:
    """A whole, positive amount that fits its contract field (at most 2^128 - 1 by default)."""
    if isinstance(value, bool):
        raise InvalidAmount(f"{what} must be a whole number, not {value!r}")
    if isinstance(value, str):
        # NFKC reads full-width digits (１２, pasted from Chinese text) as plain ones.
        text = unicodedata.normalize("NFKC", value).strip().replace("_", "")
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise InvalidAmount(f"{what} {value!r} is not a whole number")
        value = int(text)
    if not isinstance(value, int):
        raise InvalidAmount(f"{what} must be a whole number, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidAmount(f"{what} must be positive (got {value})")
    if value > maximum:
        bits = {MAX_AMOUNT: " (2^128 - 1)", MAX_UINT64: " (2^64 - 1)"}.get(maximum, "")
        raise InvalidAmount(f"{what} {value} is larger than the maximum {maximum}{bits}")
    return value


def parse_reason(value: int | str) -> int:
    """A freeze/unfreeze reason code: 1-65535."""
    code = parse_amount(value, what="reason code")
    if code > 0xFFFF:
        raise InvalidAmount(f"reason code {code} is larger than 65535")
    return code


def timestamp(seconds: int | None) -> str | None:
    """A chain timestamp as ISO 8601 UTC (None for 0: not set)."""
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
