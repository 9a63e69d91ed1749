"""ledger.values: addresses and amounts typed by people are refused, clearly, before the chain."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import to_checksum_address

from ledger.errors import InputError, InvalidAddress, InvalidAmount, LedgerError
from ledger.values import (
    MAX_AMOUNT,
    MAX_UINT64,
    parse_address,
    parse_amount,
    parse_reason,
    shown_address,
)

#: A valid checksummed address (EIP-55 test vector).
CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def wrong_checksum(address: str) -> str:
    """The same digits with the case of the first letter flipped: a mixed-case typo."""
    body = address[2:]
    i = next(i for i, c in enumerate(body) if c.isalpha())
    return "0x" + body[:i] + body[i].swapcase() + body[i + 1 :]


# --- addresses -----------------------------------------------------------------------------------


def test_a_checksummed_address_is_returned_unchanged() -> None:
    assert parse_address(CHECKSUMMED) == CHECKSUMMED


@pytest.mark.parametrize("text", [CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper()])
def test_single_case_addresses_are_accepted_and_checksummed(text: str) -> None:
    assert parse_address(text) == CHECKSUMMED


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_address(f"  {CHECKSUMMED}\n") == CHECKSUMMED


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0x",
        "hello",
        CHECKSUMMED[2:],  # no 0x
        CHECKSUMMED[:-1],  # 39 digits
        CHECKSUMMED + "0",  # 41 digits
        "0x" + "g" * 40,  # not hex
        "0X" + CHECKSUMMED[2:],  # upper-case prefix
        CHECKSUMMED[:10] + " " + CHECKSUMMED[11:],  # a space inside
        "vitalik.eth",
    ],
)
def test_a_malformed_address_is_refused(text: str) -> None:
    with pytest.raises(InvalidAddress) as info:
        parse_address(text, what="member address")
    assert "member address" in str(info.value)
    assert "is not an address (0x followed by 40 hex digits)" in str(info.value)


@pytest.mark.parametrize("value", [None, 0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED, b"\x00" * 20])
def test_a_value_that_is_not_text_is_refused_as_an_address(value: Any) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(value)


def test_a_mixed_case_address_with_a_wrong_checksum_is_refused_with_the_right_form() -> None:
    typo = wrong_checksum(CHECKSUMMED)
    with pytest.raises(InvalidAddress) as info:
        parse_address(typo, what="issuer address")
    message = str(info.value)
    assert f"issuer address {typo} has a wrong checksum" in message
    assert f"the checksummed form of these digits is {CHECKSUMMED}" in message


@pytest.mark.parametrize(
    "text", ["0x" + "0" * 40, "0x" + "0" * 40 + " ", "0x0000000000000000000000000000000000000000"]
)
def test_the_zero_address_is_refused(text: str) -> None:
    with pytest.raises(InvalidAddress, match="cannot be the zero address"):
        parse_address(text)


def test_a_low_address_that_is_not_zero_is_accepted() -> None:
    assert parse_address("0x" + "0" * 39 + "1") == to_checksum_address("0x" + "0" * 39 + "1")


def test_address_errors_are_value_errors_and_input_errors() -> None:
    assert issubclass(InvalidAddress, ValueError)
    assert issubclass(InvalidAddress, InputError)
    assert issubclass(InvalidAddress, LedgerError)
    with pytest.raises(ValueError):
        parse_address("nope")


def test_an_address_error_has_its_own_code() -> None:
    with pytest.raises(InvalidAddress) as info:
        parse_address("nope")
    assert info.value.code == "invalid_address"


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("1", 1),
        (" 42 ", 42),
        ("+7", 7),
        ("1_000_000", 1_000_000),
        (MAX_AMOUNT, MAX_AMOUNT),
        (str(MAX_AMOUNT), MAX_AMOUNT),
    ],
)
def test_whole_positive_amounts_are_accepted(value: int | str, expected: int) -> None:
    assert parse_amount(value) == expected
    assert type(parse_amount(value)) is int


def test_the_largest_amount_is_two_to_the_128_minus_one() -> None:
    assert MAX_AMOUNT == 2**128 - 1


@pytest.mark.parametrize("value", [0, "0", "-0", " 0 "])
def test_zero_is_refused(value: int | str) -> None:
    with pytest.raises(InvalidAmount, match=r"amount must be positive \(got 0\)"):
        parse_amount(value)


def test_zero_is_accepted_when_allowed() -> None:
    assert parse_amount(0, allow_zero=True) == 0
    assert parse_amount("0", allow_zero=True) == 0


@pytest.mark.parametrize("value", [-1, "-1", "-5", -(2**200)])
def test_a_negative_amount_is_refused(value: int | str) -> None:
    with pytest.raises(InvalidAmount, match="must be positive"):
        parse_amount(value, allow_zero=True)


@pytest.mark.parametrize(
    "value", ["", " ", "abc", "1.5", "1.0", "1e3", "0x10", "1,000", "10 points", "--1"]
)
def test_a_string_that_is_not_a_whole_number_is_refused(value: str) -> None:
    with pytest.raises(InvalidAmount, match="is not a whole number"):
        parse_amount(value)


def test_full_width_digits_pasted_from_chinese_text_read_as_their_value() -> None:
    assert parse_amount("１２") == 12


@pytest.mark.parametrize("value", [True, False])
def test_a_bool_is_not_an_amount(value: bool) -> None:
    with pytest.raises(InvalidAmount, match="must be a whole number, not"):
        parse_amount(value)


@pytest.mark.parametrize("value", [1.0, 1.5, float("nan"), float("inf"), 0.0])
def test_a_float_is_not_an_amount_even_a_whole_one(value: float) -> None:
    with pytest.raises(InvalidAmount, match="must be a whole number, not"):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, [1], b"1"])
def test_other_types_are_not_amounts(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(value)


@pytest.mark.parametrize("value", [MAX_AMOUNT + 1, str(MAX_AMOUNT + 1), 2**256])
def test_an_amount_over_two_to_the_128_minus_one_is_refused(value: int | str) -> None:
    with pytest.raises(InvalidAmount) as info:
        parse_amount(value, what="quota")
    assert f"quota {int(value)} is larger than the maximum {MAX_AMOUNT} (2^128 - 1)" in str(
        info.value
    )


def test_the_message_names_what_was_parsed() -> None:
    with pytest.raises(InvalidAmount, match=r"^unit value 'ten' is not a whole number$"):
        parse_amount("ten", what="unit value")


def test_amount_errors_are_value_errors_and_input_errors() -> None:
    assert issubclass(InvalidAmount, ValueError)
    assert issubclass(InvalidAmount, InputError)
    with pytest.raises(ValueError):
        parse_amount(-1)
    with pytest.raises(InvalidAmount) as info:
        parse_amount(-1)
    assert info.value.code == "invalid_amount"


# --- reasons -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("65535", 65535), (" 7 ", 7)])
def test_a_reason_code_is_1_to_65535(value: int | str, expected: int) -> None:
    assert parse_reason(value) == expected


@pytest.mark.parametrize("value", [0, -1, 65536, "70000", "x", 1.0, True])
def test_a_reason_code_out_of_range_is_refused(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        parse_reason(value)


def test_a_64_bit_field_refuses_two_to_the_64() -> None:
    with pytest.raises(InvalidAmount) as info:
        parse_amount(2**64, what="quota period", maximum=MAX_UINT64)
    assert str(info.value) == (
        f"quota period {2**64} is larger than the maximum {MAX_UINT64} (2^64 - 1)"
    )
    assert parse_amount(MAX_UINT64, maximum=MAX_UINT64) == MAX_UINT64


def test_a_value_given_for_an_address_is_quoted_as_it_is_only_when_it_looks_like_one() -> None:
    assert shown_address("0x12") == "'0x12'"
    assert shown_address("13800138000") == "'138****8000'"
    assert shown_address("上官丙 13800137705") == "'上*************5'"


def test_an_id_number_pasted_as_an_address_is_masked_in_the_error() -> None:
    with pytest.raises(InvalidAddress) as info:
        parse_address("11010519491231002X")
    assert "11010519491231002X" not in str(info.value)
