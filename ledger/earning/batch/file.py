"""The batch file: its columns, its text read line by line as UTF-8, and its values normalised as
spreadsheets write them (full-width digits, Excel's date forms)."""

from __future__ import annotations

import functools
import re
import unicodedata

from web3 import Web3

REQUIRED_COLUMNS = ("record_id", "volunteer", "start", "end", "content", "evidence_hash")
OPTIONAL_COLUMNS = (
    "grade",
    "action",
    "activity_id",
    "activity",
    "place",
    "organising_unit",
    "person_in_charge",
    "employer",
    "scheme",
)
MAX_ROWS = 200_000


@functools.lru_cache(maxsize=65536)
def checksum(text: str) -> str:
    """The checksummed address (cached: a file names the same volunteers again and again)."""
    return Web3.to_checksum_address(text)


def decode(raw: bytes) -> tuple[str, set[int]]:
    """The text of the file and the line numbers that are not UTF-8."""
    bad: set[int] = set()
    lines = raw.split(b"\n")
    decoded = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            bad.add(number)
            decoded.append(line.decode("utf-8", errors="replace"))
    text = "\n".join(decoded)
    return text.removeprefix("\ufeff"), bad


#: Columns holding values, not prose: read after Unicode NFKC (full-width digits and letters, as
#: spreadsheets in zh-CN may write them, become ASCII). Free text keeps its full-width punctuation.
_VALUE_COLUMNS = frozenset(
    ("record_id", "volunteer", "start", "end", "grade", "action", "activity_id",
     "evidence_hash", "employer", "scheme")
)  # fmt: skip
#: Excel's date forms (zh-CN exports write 2026/12/2 7:00): year, month, day, hour, minute and
#: perhaps seconds, without leading zeros.
_EXCEL_TIME = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def normalise(values: dict[str, str]) -> list[str]:
    """Rewrite `values` in place: NFKC for value columns, Excel's date forms as ISO 8601; what
    changed, for the report (dates shown, other values named only)."""
    changes = []
    for name in sorted(values.keys() & _VALUE_COLUMNS):
        before = values[name]
        after = unicodedata.normalize("NFKC", before).strip()
        if name in ("start", "end") and (m := _EXCEL_TIME.match(after)):
            year, month, day, hour, minute, second = m.groups()
            after = f"{year}-{int(month):02d}-{int(day):02d} {int(hour):02d}:{minute}"
            after += f":{second}" if second else ""
        if after != before:
            values[name] = after
            shown = (
                f"{before!r} read as {after!r}"
                if name in ("start", "end")
                else "full-width characters read as plain ones"
            )
            changes.append(f"{name} {shown}")
    return changes
