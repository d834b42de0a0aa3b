"""Resident ID numbers (GB 11643-1999): 6-digit region code, birth date, 3-digit serial
(odd for men), check character.

The region code is not checked against today's list: an elderly person keeps a number
whose code was valid when it was issued, and refusing it would refuse a real person
(python-stdnum's ``cn.ric`` does exactly that). Only the check character and the birth
date are verified.
"""

import datetime

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def check_character(body):
    """The check character of the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def make_id_number(region_code, birth, serial):
    """An 18-character number; an odd ``serial`` is a man's."""
    body = f"{region_code}{birth:%Y%m%d}{serial:03d}"
    return body + check_character(body)


def birth_date(value):
    """The birth date a well-formed number carries, or None if it is not a real date."""
    try:
        return datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def is_valid_id_number(value):
    """18 characters, a correct check character and a real birth date."""
    return (
        isinstance(value, str) and len(value) == 18 and value[:17].isdigit()
        and value[17].upper() == check_character(value[:17])
        and birth_date(value) is not None
    )
