"""What a manager asks the dashboard about: a period of local days and, optionally, one team, officer,
appointment type, category and booking channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

from accounts.models import Officer, Team
from bookings.models import Channel
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

    def describe(self) -> str:
        """The filters other than the period, in words ("" for none)."""
        parts = [
            str(value)
            for value in (self.team, self.officer, self.appointment_type, self.category)
            if value is not None
        ]
        if self.channel:
            parts.append(str(Channel(self.channel).label))
        return ", ".join(parts)

    def summary_conditions(self, *, officer: bool, by_type: bool) -> tuple[str, list[object]]:
        """ " AND ..." conditions (and parameters) on a summary row's own columns (officer_id,
        appointment_type_id, channel), so each part of a union is filtered before anything is added up; a
        team is its officers now, a category its types. `officer` / `by_type` say whether the row has those
        columns (the filters needing them are then never asked of it)."""
        conditions: list[str] = []
        params: list[object] = []
        q = connection.ops.quote_name
        if officer and self.officer is not None:
            conditions.append("officer_id = %s")
            params.append(self.officer.pk)
        if officer and self.team is not None:
            conditions.append(
                f"officer_id IN (SELECT id FROM {q(Officer._meta.db_table)} WHERE team_id = %s)"
            )
            params.append(self.team.pk)
        if by_type and self.appointment_type is not None:
            conditions.append("appointment_type_id = %s")
            params.append(self.appointment_type.pk)
        if by_type and self.category is not None:
            conditions.append(
                "appointment_type_id IN "
                f"(SELECT id FROM {q(AppointmentType._meta.db_table)} WHERE category_id = %s)"
            )
            params.append(self.category.pk)
        if by_type and self.channel is not None:
            conditions.append("channel = %s")
            params.append(self.channel)
        return "".join(f" AND {c}" for c in conditions), params

    @property
    def by_officer(self) -> bool:
        """Whether the filters need each row's officer."""
        return self.officer is not None or self.team is not None

    @property
    def by_type(self) -> bool:
        """Whether the filters need each row's type or channel."""
        return self.appointment_type is not None or self.category is not None or self.channel is not None

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
