"""Resident ID numbers: the check character and the birth date, never the region code."""

import datetime

import pytest

from app.domain.identity import birth_date, check_character, is_valid_id_number, make_id_number


def test_the_standards_own_example():
    assert check_character("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")


def test_an_elderly_hengfeng_residents_number_is_accepted():
    # python-stdnum refuses it: 361125 is newer than 1950. We must not.
    assert is_valid_id_number("361125195001011237")


@pytest.mark.parametrize(
    "value",
    ["361125195001011236", "36112519500101123", "3611251950010112377", "36112519500230123X", "ABCDEFGHIJKLMNOPQR", None],
)
def test_bad_numbers_are_refused(value):
    assert not is_valid_id_number(value)


def test_made_numbers_carry_their_birth_date():
    number = make_id_number("361126", datetime.date(1931, 2, 28), 17)
    assert is_valid_id_number(number) and birth_date(number) == datetime.date(1931, 2, 28)
