"""What a manager asks the dashboard about: a period of local days and, optionally, one team, officer,
appointment type, category and booking channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from accounts.models import Officer, Team
from scheduling.models import AppointmentType, Category

# Periods longer than this are charted week by week, shorter ones day by day.
DAILY_BUCKETS_UP_TO_DAYS = 62


@dataclass(frozen=True)
class ReportFilters:
    first_day: date
    last_day: date
    team: Team | None = None
    officer: Officer | None = None
    appointment_type: AppointmentType | None = None
    category: Category | None = None
    channel: str | None = None  # bookings.models.Channel

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def weekly(self) -> bool:
        return self.days > DAILY_BUCKETS_UP_TO_DAYS

    def booking_conditions(
        self, *, officer: str, team: str, appointment_type: str, category: str, channel: str
    ) -> tuple[list[str], list[object]]:
        """SQL conditions (and parameters) for the filters, given the column each is read from."""
        conditions: list[str] = []
        params: list[object] = []
        for column, value in (
            (officer, self.officer),
            (team, self.team),
            (appointment_type, self.appointment_type),
            (category, self.category),
        ):
            if value is not None:
                conditions.append(f"{column} = %s")
                params.append(value.pk)
        if self.channel is not None:
            conditions.append(f"{channel} = %s")
            params.append(self.channel)
        return conditions, params
