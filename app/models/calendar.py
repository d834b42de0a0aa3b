"""The working-day calendar: holidays and make-up working days (调休) as rows."""

from flask_appbuilder import Model
from sqlalchemy import Column, Date, Integer, String

HOLIDAY = "holiday"
WORKDAY = "workday"


class CalendarDay(Model):
    """An exception to Monday–Friday: a holiday on a weekday, or a weekend working day."""

    __tablename__ = "calendar_day"

    id = Column(Integer, primary_key=True)
    day = Column(Date, unique=True, nullable=False)
    kind = Column(String(16), nullable=False)  # holiday | workday
    name = Column(String(64))

    def __repr__(self):
        return f"{self.day} {self.kind}"
