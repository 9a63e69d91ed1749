"""Real-name identity: validate ID numbers and phones; commit to them without revealing them.

On chain a member is known only by ``identity_commitment``: an HMAC-SHA256 of the ID number under a
secret key. A plain hash would not do: there are few enough valid 18-digit ID numbers (region x
birth date x sequence) to hash them all. Nothing in this module puts a full ID number or phone in an
exception or a log line; ``mask`` is what they show instead.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from hashlib import sha256

from ledger.errors import ConfigError, InvalidIdentity, InvalidPhone

#: GB 11643-1999 / ISO 7064 MOD 11-2: weights of the first 17 digits, and the check character.
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
#: Domain separation for the commitment; bump the version to change the scheme, never the key.
COMMITMENT_DOMAIN = b"vpl/identity/v1\x00"
COMMITMENT_SIZE = 32
MIN_COMMITMENT_KEY_BYTES = 16

#: Birth dates are judged by the calendar in China (UTC+8, no daylight saving).
_CHINA_TZ = timezone(timedelta(hours=8))
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def mask(value: str) -> str:
    """Hide the middle of a value for display: ``1101**********002X``, ``138****5678``, ``张*``.

    Of text that is not ASCII (a name, or a line pasted into the wrong field) no more than one
    character shows at each end: its first few characters may be a whole name."""
    n = len(value)
    if n <= 1:
        return "*" * n
    if not value.isascii():
        keep_head, keep_tail = 1, 1 if n >= 4 else 0
    elif n >= 12:
        keep_head, keep_tail = 4, 4
    elif n == 11:  # the usual way to show a mobile number
        keep_head, keep_tail = 3, 4
    else:
        keep_head, keep_tail = max(1, n // 4), n // 4
    return value[:keep_head] + "*" * (n - keep_head - keep_tail) + value[n - keep_tail :]


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdentity("the check character is computed from exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str, *, today: date | None = None) -> str:
    """Validate an 18-digit resident ID number; return it without spaces, with an upper-case X."""
    if not isinstance(raw, str):
        raise InvalidIdentity(f"an ID number must be text, got {type(raw).__name__}")
    # NFKC turns full-width digits and Ｘ (common in pasted Chinese text) into ASCII.
    value = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    shown = mask(value)
    if not value:
        raise InvalidIdentity("the ID number is empty")
    if len(value) == 15 and value.isascii() and value.isdigit():
        raise InvalidIdentity(
            f"ID number {shown} is a 15-digit first-generation number; "
            "use the 18-digit number on the current card"
        )
    if len(value) != 18:
        raise InvalidIdentity(
            f"ID number {shown} has {len(value)} characters; a resident ID number has 18"
        )
    if not _ID_SHAPE.fullmatch(value):
        raise InvalidIdentity(
            f"ID number {shown} may only contain digits, with an X allowed as the last character"
        )
    if value[0] == "0":
        raise InvalidIdentity(f"ID number {shown} starts with 0, which is not a region code")
    _check_birth_date(value, shown, today or datetime.now(_CHINA_TZ).date())
    if id_check_char(value[:17]) != value[17]:
        raise InvalidIdentity(
            f"ID number {shown} has a wrong check character (last digit); check it for a typo"
        )
    return value


def _check_birth_date(value: str, shown: str, today: date) -> None:
    """Refuse a birth date (characters 7-14) that is not a real day between 1900 and today."""
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidIdentity(
            f"ID number {shown} does not contain a real birth date (characters 7-14)"
        ) from None
    if year < 1900:
        raise InvalidIdentity(f"ID number {shown} gives a birth year before 1900")
    if born > today:
        raise InvalidIdentity(f"ID number {shown} gives a birth date in the future")


def identity_commitment(key: bytes, id_number: str) -> bytes:
    """A person's 32-byte on-chain identity: HMAC-SHA256(key, domain + normalized ID number)."""
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_COMMITMENT_KEY_BYTES:
        raise ConfigError(
            f"the commitment key must be at least {MIN_COMMITMENT_KEY_BYTES} random bytes; "
            "use Settings.commitment_key_bytes()"
        )
    normalized = normalize_id_number(id_number)
    return hmac.new(bytes(key), COMMITMENT_DOMAIN + normalized.encode("utf-8"), sha256).digest()


def commitment_key_id(key: bytes) -> str:
    """A fingerprint of the commitment key (not the key): tells whether two keys are the same."""
    return hmac.new(bytes(key), b"vpl/commitment-key-id/v1", sha256).hexdigest()[:16]


def normalize_phone(raw: str) -> str:
    """Validate a mainland mobile number and return its 11 digits (no +86, spaces or hyphens)."""
    if not isinstance(raw, str):
        raise InvalidPhone(f"a phone number must be text, got {type(raw).__name__}")
    value = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not value:
        raise InvalidPhone("the phone number is empty")
    if not _MOBILE.fullmatch(value):
        raise InvalidPhone(
            f"phone number {mask(value)} is not a mainland mobile number "
            "(11 digits starting 13-19, optionally after +86)"
        )
    return value
