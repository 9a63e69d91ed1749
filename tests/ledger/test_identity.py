"""Resident ID numbers, phones and identity commitments (ledger.real_name)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest

from ledger.errors import ConfigError, InputError, InvalidIdentity, InvalidPhone
from ledger.real_name import (
    id_check_char,
    identity_commitment,
    mask,
    normalize_id_number,
    normalize_phone,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def make_id(region: str = "440604", birth: str = "19850214", sequence: str = "321") -> str:
    """A valid 18-digit ID number, its check character computed here from the standard's weights."""
    body = region + birth + sequence
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064 MOD 11-2: 7, 9, 10, 5, 8, ...
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def with_wrong_check(id_number: str) -> str:
    """The same ID number with any other check character."""
    wrong = "1" if id_number[-1] != "1" else "2"
    return id_number[:17] + wrong


# --- ID numbers --------------------------------------------------------------------------------


def test_test_helper_agrees_with_the_published_sample() -> None:
    assert make_id("110105", "19491231", "002") == "11010519491231002X"


def test_valid_id_number_is_returned_unchanged() -> None:
    id_number = make_id()
    assert normalize_id_number(id_number) == id_number


def test_id_number_is_stripped_and_x_upper_cased() -> None:
    assert normalize_id_number(" 110105 19491231 002x ") == "11010519491231002X"


def test_full_width_id_number_is_normalized() -> None:
    assert normalize_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


def test_check_char_matches_the_standard_for_every_remainder() -> None:
    ids = [make_id(sequence=f"{n:03d}") for n in range(40)]
    assert {i[-1] for i in ids} == set("10X98765432")
    for id_number in ids:
        assert id_check_char(id_number[:17]) == id_number[17]
        assert normalize_id_number(id_number) == id_number


def test_birth_date_today_is_accepted() -> None:
    id_number = make_id(birth="20240229")
    assert normalize_id_number(id_number, today=date(2024, 2, 29)) == id_number


INVALID_IDS = {
    "bad checksum": with_wrong_check(make_id()),
    "not a real date": make_id(birth="19850230"),
    "month 13": make_id(birth="19851301"),
    "born in the future": make_id(birth="20990101"),
    "born before 1900": make_id(birth="18991231"),
    "17 digits": make_id()[:17],
    "19 digits": make_id() + "1",
    "letter inside": make_id()[:8] + "A" + make_id()[9:],
    "X not last": "X" + make_id()[1:],
    "region starts with 0": make_id(region="040604"),
    "15-digit first generation": "440604850214321",
    "punctuation": make_id()[:17] + "-",
}


@pytest.mark.parametrize("raw", INVALID_IDS.values(), ids=INVALID_IDS.keys())
def test_invalid_id_number_is_refused_with_a_masked_message(raw: str) -> None:
    with pytest.raises(InvalidIdentity) as info:
        normalize_id_number(raw)
    message = str(info.value)
    assert raw not in message
    assert raw[4:-4] not in message
    assert mask(raw) in message


def test_empty_id_number_is_refused() -> None:
    with pytest.raises(InvalidIdentity, match="empty"):
        normalize_id_number("   ")


def test_non_text_id_number_is_refused() -> None:
    with pytest.raises(InvalidIdentity, match="text"):
        normalize_id_number(440604198502143219)  # type: ignore[arg-type]


def test_invalid_identity_is_an_input_error_and_a_value_error() -> None:
    with pytest.raises(InputError):
        normalize_id_number("nonsense")
    with pytest.raises(ValueError):
        normalize_id_number("nonsense")


def test_bad_checksum_message_says_what_to_do() -> None:
    raw = with_wrong_check(make_id())
    with pytest.raises(InvalidIdentity, match="check character") as info:
        normalize_id_number(raw)
    assert str(info.value) == (
        f"ID number {raw[:4]}**********{raw[-4:]} has a wrong check character (last digit); "
        "check it for a typo"
    )


# --- commitments -------------------------------------------------------------------------------


def test_commitment_is_32_bytes_and_deterministic() -> None:
    id_number = make_id()
    first = identity_commitment(KEY, id_number)
    assert isinstance(first, bytes)
    assert len(first) == 32
    assert identity_commitment(KEY, id_number) == first


def test_commitment_is_the_specified_hmac() -> None:
    id_number = make_id()
    expected = hmac.new(
        KEY, b"vpl/identity/v1\x00" + id_number.encode("utf-8"), hashlib.sha256
    ).digest()
    assert identity_commitment(KEY, id_number) == expected


def test_commitment_differs_across_keys() -> None:
    id_number = make_id()
    assert identity_commitment(KEY, id_number) != identity_commitment(OTHER_KEY, id_number)


def test_commitment_differs_across_people() -> None:
    assert identity_commitment(KEY, make_id(sequence="001")) != identity_commitment(
        KEY, make_id(sequence="002")
    )


def test_commitment_is_not_a_plain_hash_of_the_id_number() -> None:
    id_number = make_id()
    assert identity_commitment(KEY, id_number) != hashlib.sha256(id_number.encode()).digest()


def test_commitment_normalizes_the_id_number_first() -> None:
    assert identity_commitment(KEY, "110105 19491231 002x") == identity_commitment(
        KEY, "11010519491231002X"
    )


def test_commitment_refuses_an_invalid_id_number() -> None:
    with pytest.raises(InvalidIdentity):
        identity_commitment(KEY, with_wrong_check(make_id()))


@pytest.mark.parametrize("key", [b"", b"short", "a text key of more than 16 chars"])
def test_commitment_refuses_a_weak_key(key: bytes) -> None:
    with pytest.raises(ConfigError, match="commitment key"):
        identity_commitment(key, make_id())


# --- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "8613812345678",
        "008613812345678",
        "１３８１２３４５６７８",
    ],
)
def test_mainland_mobile_numbers_are_normalized(raw: str) -> None:
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # no mobile segment starts 12
        "23812345678",
        "1381234567a",
        "+1 415 555 0100",
        "020-12345678",
        "",
    ],
)
def test_invalid_phone_is_refused_with_a_masked_message(raw: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)
    digits = "".join(c for c in raw if c.isalnum())
    if len(digits) >= 8:
        assert digits not in str(info.value)
    assert isinstance(info.value, InputError)


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("11010519491231002X", "1101**********002X"),
        ("13812345678", "138****5678"),
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        # a name with a phone, or a pasted row, shows no whole name (it kept four characters)
        ("上官丙 13800137705", "上*************5"),
        ("张三 朝阳区建国路 88 号 13800138000", "张************************0"),
        ("a", "*"),
        ("", ""),
    ],
)
def test_mask_hides_the_middle(value: str, shown: str) -> None:
    assert mask(value) == shown
    assert len(mask(value)) == len(value)
