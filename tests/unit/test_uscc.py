"""GB 32100-2015 unified social credit codes: check character, length, alphabet."""

from __future__ import annotations

import pytest

from domain.uscc import check_character, is_valid_uscc, normalize_uscc, uscc_problem

# Real-format codes whose check characters are right (the first is the demo code of the
# project's fixtures; the others are well-known companies' codes from their business licences).
VALID = [
    "91350100M000100Y43",
    "91440300708461136T",  # Tencent (Shenzhen)
    "914403001922038216",  # Huawei Technologies (Shenzhen)
    "91520900MA6J6CBN9Q",  # the vendor's tax id in our settings
    "91110000802100433B",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code: str) -> None:
    assert uscc_problem(code) is None
    assert is_valid_uscc(code)


def test_check_character_is_computed_from_the_first_17() -> None:
    assert check_character("91350100M000100Y4") == "3"
    assert check_character("91440300708461136") == "T"
    # A check value of 31 - 0 maps to '0' (the modulo wraps).
    codes = [f"9111010{d}MA01234567" for d in range(10)]
    assert all(is_valid_uscc(c[:17] + check_character(c[:17])) for c in codes)


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y44", "91440300708461136A", "914403001922038217"],
)
def test_wrong_check_character(code: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and "wrong check character" in problem
    assert f"should be {check_character(code[:17])!r}" in problem


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length(code: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and "18 characters" in problem


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        ("91350100M000100I43", "'I'"),  # I, O, S, V, Z are not used
        ("91350100O000100Y43", "'O'"),
        ("91350100M000100Z43", "'Z'"),
        ("91350100M0001-0Y43", "'-'"),
    ],
)
def test_bad_characters(code: str, bad: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and bad in problem and "except I, O, S, V and Z" in problem


def test_division_code_must_be_digits() -> None:
    first17 = "9135A100M000100Y4"
    problem = uscc_problem(first17 + check_character(first17))
    assert problem is not None and "administrative division" in problem


def test_lower_case_and_blanks_are_normalized() -> None:
    assert normalize_uscc(" 91440300708461136t ") == "91440300708461136T"
    assert is_valid_uscc(" 91440300708461136t ")
