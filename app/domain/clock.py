"""Business time is China Standard Time, whatever the server's clock zone."""

import datetime
from zoneinfo import ZoneInfo

CST = ZoneInfo("Asia/Shanghai")


def now_cst():
    return datetime.datetime.now(CST)


def today_cst():
    return now_cst().date()


def to_cst_date(utc_naive):
    """The business day of a naive UTC timestamp as stored in the database."""
    return utc_naive.replace(tzinfo=datetime.UTC).astimezone(CST).date()
