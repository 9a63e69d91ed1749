"""Parsing of values that come from people: addresses, amounts, times, hashes and texts. Bad
input never reaches the chain."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from eth_utils import is_checksum_address, to_checksum_address

from ledger.errors import InputError, InvalidAddress, InvalidAmount
from ledger.real_name import mask

#: Grade letters by index: grade 0 is "A".
GRADE_LETTERS = "ABCDEFGH"

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: The largest amount any contract accepts (amounts are stored in 128 bits).
MAX_AMOUNT = 2**128 - 1


def parse_address(text: str, *, what: str = "address") -> str:
    """A checksummed address; refuses malformed ones and mixed-case ones with a wrong checksum."""
    value = text.strip() if isinstance(text, str) else ""
    if not _HEX_ADDRESS.match(value):
        raise InvalidAddress(
            f"{what} {shown_address(value)} is not an address (0x followed by 40 hex digits)"
        )
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise InvalidAddress(
            f"{what} {value} has a wrong checksum (a typo?); the checksummed form of these digits "
            f"is {to_checksum_address(value)}: check it against the source before using it"
        )
    if int(body, 16) == 0:
        raise InvalidAddress(f"{what} cannot be the zero address")
    return to_checksum_address(value)


def shown_address(value: str) -> str:
    """A value given for an address, as a message quotes it: as it is when it looks like one (0x,
    at most 42 characters), else masked (it may be a phone or an ID number typed in its place)."""
    return repr(value) if len(value) <= 42 and value.startswith("0x") else repr(mask(value))


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


#: China Standard Time: how service times are read and shown when no zone is given.
CST = timezone(timedelta(hours=8), "CST")
MAX_TEXT = 500


def parse_time(value: str | int | datetime, *, what: str = "time") -> int:
    """A Unix time from an ISO 8601 text (no zone given: China Standard Time) or a datetime."""
    if isinstance(value, int):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, datetime):
        moment = value
    else:
        text = value.strip().replace("/", "-")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"{what} {value!r} is not a date and time like 2026-11-20 09:00 (China Standard "
                "Time unless a zone such as +08:00 is given)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return int(moment.timestamp())


def day_of(timestamp: int) -> int:
    """The day number (China Standard Time) of a Unix time, as ServiceTime.dayOf counts it."""
    return (timestamp + 8 * 3600) // 86400


def working_days_between(from_day: int, to_day: int) -> int:
    """Working days (Mon-Fri) after day `from_day` up to `to_day`, as ServiceTime counts them."""

    def before(day: int) -> int:  # weekdays among days [0, day); day 0 was a Thursday
        e = day + 3
        return 5 * (e // 7) + min(e % 7, 5) - 3

    return 0 if to_day <= from_day else before(to_day + 1) - before(from_day + 1)


def show_time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, CST).strftime("%Y-%m-%d %H:%M")


def parse_hash(value: str | bytes, *, what: str) -> bytes:
    """A 32-byte hash from 0x-prefixed hex (or bytes); never zero."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = value.strip().lower().removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
    if len(raw) != 32 or raw == bytes(32):
        raise InputError(f"{what} must be a 32-byte hash in hex (0x followed by 64 digits)")
    return raw


def check_text_fields(fields: dict[str, Any], required: tuple[str, ...]) -> dict[str, str]:
    """The detail fields as clean text; every required one present, none too long."""
    out: dict[str, str] = {}
    missing = [name for name in required if not str(fields.get(name) or "").strip()]
    if missing:
        raise InputError(f"missing details: {', '.join(missing)}")
    for name, value in fields.items():
        if value is None:
            continue
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise InputError(f"{name} is longer than {MAX_TEXT} characters")
        if text:
            out[name] = text
    return out
