"""Reads for the manager dashboards: a period's figures from the daily summaries and the live days."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import Officer, Team, Tenant
from bookings.models import Booking, BookingAssignment, BookingEvent, BookingStatus, SurveyResponse
from scheduling.models import AppointmentType, Category, Priority

from ..models import (
    BookingFigures,
    DailySummary,
    WeeklyOfficerSummary,
    WeeklySummary,
    WeeklyTypeSummary,
)
from .filters import ReportFilters

# The states a booking counts in (holds, live or lapsed, never do), and those whose time was taken.
COUNTED_STATUSES = (
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
    BookingStatus.CANCELLED,
    BookingStatus.NEEDS_REBOOKING,
)
TIME_TAKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
DIMENSIONS = ("day", "appointment_type_id", "officer_id", "channel")


@dataclass(frozen=True)
class Figures:
    """A period's sums (see DailySummary for what each means) and the ratios the dashboard shows."""

    booked: int = 0
    confirmed: int = 0
    completed: int = 0
    no_show: int = 0
    cancelled: int = 0
    needs_rebooking: int = 0
    booked_minutes: int = 0
    emergency: int = 0
    displaced: int = 0
    reschedules: int = 0
    lead_time_minutes_sum: int = 0
    late_7d: int = 0
    late_14d: int = 0
    late_21d: int = 0
    late_28d: int = 0
    survey_responses: int = 0
    survey_score_sum: int = 0
    survey_score_1: int = 0
    survey_score_2: int = 0
    survey_score_3: int = 0
    survey_score_4: int = 0
    survey_score_5: int = 0

    def _share(self, part: int) -> float | None:
        return part / self.booked if self.booked else None

    @property
    def completion_rate(self) -> float | None:
        return self._share(self.completed)

    @property
    def no_show_rate(self) -> float | None:
        return self._share(self.no_show)

    @property
    def cancellation_rate(self) -> float | None:
        return self._share(self.cancelled)

    @property
    def mean_lead_time_minutes(self) -> float | None:
        return self._share(self.lead_time_minutes_sum)

    @property
    def mean_survey_score(self) -> float | None:
        return self.survey_score_sum / self.survey_responses if self.survey_responses else None


FIGURES = tuple(f.name for f in fields(Figures))


def local_midnight(tenant: Tenant, day: date) -> datetime:
    return datetime.combine(day, time.min, tenant.zone)


def lead_officer_join(booking: str) -> str:
    """A LATERAL join giving `lead.officer_id`: the booking's officer as the summaries count it (the lowest
    id among its active officer assignments, else among all; none when it has no officer)."""
    assignment = connection.ops.quote_name(BookingAssignment._meta.db_table)
    return f"""
        LEFT JOIN LATERAL (
            SELECT a.officer_id FROM {assignment} a
            WHERE a.booking_id = {booking}.id AND a.officer_id IS NOT NULL
            ORDER BY a.is_active DESC, a.officer_id
            LIMIT 1
        ) lead ON true"""


# What trimming a free-text reason takes off.
REASON_WHITESPACE = " \t\r\n\f\v"


def cancellation_rows_sql(*, tenant: Tenant, first_day: date, last_day: date) -> tuple[str, list[object]]:
    """SQL for the cancellation summary rows of local days first_day..last_day, from the bookings as they
    are now. Columns: day, appointment_type_id, channel, reason, cancelled."""
    booking = connection.ops.quote_name(Booking._meta.db_table)
    sql = f"""
        SELECT (b.starts_at AT TIME ZONE %s)::date, b.appointment_type_id, b.channel,
               btrim(b.cancellation_reason, %s), count(*)
        FROM {booking} b
        WHERE b.tenant_id = %s AND b.status = %s AND b.starts_at >= %s AND b.starts_at < %s
        GROUP BY 1, 2, 3, 4
    """
    params: list[object] = [
        tenant.time_zone,
        REASON_WHITESPACE,
        tenant.pk,
        BookingStatus.CANCELLED.value,
        local_midnight(tenant, first_day),
        local_midnight(tenant, max(first_day, last_day + timedelta(days=1))),
    ]
    return sql, params


def summary_rows_sql(*, tenant: Tenant, first_day: date, last_day: date) -> tuple[str, list[Any]]:
    """SQL (and its parameters) for the DailySummary rows of the tenant's local days first_day..last_day,
    computed from the bookings as they are now: one GROUP BY, no per-booking work outside the database.

    Columns: DIMENSIONS then FIGURES. An empty range (last_day before first_day) selects nothing.
    """
    q = connection.ops.quote_name
    booking = q(Booking._meta.db_table)
    event, survey = q(BookingEvent._meta.db_table), q(SurveyResponse._meta.db_table)
    sql = f"""
        SELECT (b.starts_at AT TIME ZONE %s)::date AS day,
               b.appointment_type_id,
               lead.officer_id,
               b.channel,
               count(*) AS booked,
               count(*) FILTER (WHERE b.status = %s) AS confirmed,
               count(*) FILTER (WHERE b.status = %s) AS completed,
               count(*) FILTER (WHERE b.status = %s) AS no_show,
               count(*) FILTER (WHERE b.status = %s) AS cancelled,
               count(*) FILTER (WHERE b.status = %s) AS needs_rebooking,
               coalesce(sum(floor(extract(epoch FROM b.ends_at - b.starts_at) / 60))
                   FILTER (WHERE b.status = ANY(%s)), 0)::bigint AS booked_minutes,
               count(*) FILTER (WHERE b.priority >= %s) AS emergency,
               count(*) FILTER (WHERE ev.displaced) AS displaced,
               coalesce(sum(ev.reschedules), 0)::bigint AS reschedules,
               coalesce(sum(greatest(0, floor(extract(epoch FROM b.starts_at - b.created_at) / 60))),
                   0)::bigint AS lead_time_minutes_sum,
               count(*) FILTER (WHERE b.status = ANY(%s) AND b.starts_at - b.created_at < interval '7 days')
                   AS late_7d,
               count(*) FILTER (WHERE b.status = ANY(%s) AND b.starts_at - b.created_at < interval '14 days')
                   AS late_14d,
               count(*) FILTER (WHERE b.status = ANY(%s) AND b.starts_at - b.created_at < interval '21 days')
                   AS late_21d,
               count(*) FILTER (WHERE b.status = ANY(%s) AND b.starts_at - b.created_at < interval '28 days')
                   AS late_28d,
               count(s.id) AS survey_responses,
               coalesce(sum(s.score), 0)::bigint AS survey_score_sum,
               count(*) FILTER (WHERE s.score = 1) AS survey_score_1,
               count(*) FILTER (WHERE s.score = 2) AS survey_score_2,
               count(*) FILTER (WHERE s.score = 3) AS survey_score_3,
               count(*) FILTER (WHERE s.score = 4) AS survey_score_4,
               count(*) FILTER (WHERE s.score = 5) AS survey_score_5
        FROM {booking} b
        {lead_officer_join("b")}
        LEFT JOIN (
            SELECT e.booking_id,
                   count(*) FILTER (WHERE e.action = 'rescheduled') AS reschedules,
                   bool_or(e.action = 'displaced') AS displaced
            FROM {event} e
            WHERE e.tenant_id = %s AND e.action IN ('rescheduled', 'displaced')
            GROUP BY e.booking_id
        ) ev ON ev.booking_id = b.id
        LEFT JOIN {survey} s ON s.booking_id = b.id
        WHERE b.tenant_id = %s AND b.starts_at >= %s AND b.starts_at < %s AND b.status = ANY(%s)
        GROUP BY 1, 2, 3, 4
    """
    params = [
        tenant.time_zone,
        BookingStatus.CONFIRMED.value,
        BookingStatus.COMPLETED.value,
        BookingStatus.NO_SHOW.value,
        BookingStatus.CANCELLED.value,
        BookingStatus.NEEDS_REBOOKING.value,
        [s.value for s in TIME_TAKING_STATUSES],
        Priority.URGENT.value,
        *[[s.value for s in TIME_TAKING_STATUSES]] * 4,
        tenant.pk,
        tenant.pk,
        local_midnight(tenant, first_day),
        local_midnight(tenant, max(first_day, last_day + timedelta(days=1))),
        [s.value for s in COUNTED_STATUSES],
    ]
    return sql, params


def weekly_source(*, by_officer: bool, by_type: bool) -> tuple[type[BookingFigures], str, str, str]:
    """The narrowest weekly summary with the dimensions asked for, and its three dimension columns (a
    dimension it lacks reads as NULL)."""
    if by_officer and by_type:
        return WeeklySummary, "appointment_type_id", "officer_id", "channel"
    if by_officer:
        return WeeklyOfficerSummary, "NULL::bigint", "officer_id", "NULL::varchar"
    return WeeklyTypeSummary, "appointment_type_id", "NULL::bigint", "channel"


def period_rows_sql(
    *, tenant: Tenant, filters: ReportFilters, today: date, by_officer: bool = True, by_type: bool = True
) -> tuple[str, list[Any]]:
    """SQL for the summary rows of the filters' period, each with its chart bucket (its day, or its week's
    Monday when the period is charted by week), filtered; the same sums as the bookings would give.

    Days before today come from the stored summaries: whole weeks from a weekly summary when charting by
    week, every other day from DailySummary. Today and later days are summarised live from the bookings,
    so the live day is never stale. A caller that breaks the figures down by officer says `by_officer`,
    by type or channel `by_type`; the filters add what they need. The weekly rows are then read from the
    narrowest summary that has those dimensions (the others read as NULL), a few dozen rows a week instead
    of one per type, officer and channel. Columns: bucket, appointment_type_id, officer_id, channel, then
    FIGURES.
    """
    q = connection.ops.quote_name
    first_day, last_day = filters.first_day, filters.last_day
    closed_last = min(last_day, today - timedelta(days=1))
    figure_columns = ", ".join(FIGURES)
    bucket = "date_trunc('week', {day})::date" if filters.weekly else "{day}"
    parts: list[str] = []
    params: list[Any] = []
    daily_spans: list[tuple[date, date]] = [(first_day, closed_last)]
    if filters.weekly:
        first_week = first_day + timedelta(days=(7 - first_day.weekday()) % 7)
        last_week = closed_last - timedelta(days=(closed_last.weekday() + 1) % 7 + 6)
        if first_week <= last_week:
            with_officer = by_officer or filters.by_officer
            with_type = by_type or filters.by_type
            model, type_column, officer_column, channel_column = weekly_source(
                by_officer=with_officer, by_type=with_type
            )
            where, where_params = filters.summary_conditions(officer=with_officer, by_type=with_type)
            parts.append(
                f"SELECT week AS bucket, {type_column} AS appointment_type_id, "
                f"{officer_column} AS officer_id, {channel_column} AS channel, {figure_columns} "
                f"FROM {q(model._meta.db_table)} "
                f"WHERE tenant_id = %s AND week >= %s AND week <= %s{where}"
            )
            params += [tenant.pk, first_week, last_week, *where_params]
            daily_spans = [
                (first_day, first_week - timedelta(days=1)),
                (last_week + timedelta(days=7), closed_last),
            ]
    where, where_params = filters.summary_conditions(officer=True, by_type=True)
    for span_first, span_last in daily_spans:
        if span_first <= span_last:
            parts.append(
                f"SELECT {bucket.format(day='day')} AS bucket, appointment_type_id, officer_id, channel, "
                f"{figure_columns} FROM {q(DailySummary._meta.db_table)} "
                f"WHERE tenant_id = %s AND day >= %s AND day <= %s{where}"
            )
            params += [tenant.pk, span_first, span_last, *where_params]
    live_sql, live_params = summary_rows_sql(
        tenant=tenant, first_day=max(first_day, today), last_day=last_day
    )
    parts.append(
        f"SELECT {bucket.format(day='live.day')} AS bucket, appointment_type_id, officer_id, channel, "
        f"{figure_columns} FROM ({live_sql}) live WHERE true{where}"
    )
    params += [*live_params, *where_params]
    return " UNION ALL ".join(parts), params


# The breakdowns of a period, as GROUPING SETS of its rows: the first read's need types and channels, the
# second's officers, so each reads the narrowest weekly summary.
BREAKDOWNS = {
    "total": (),
    "bucket_channel": ("bucket", "channel"),
    "bucket_type": ("bucket", "appointment_type_id"),
    "type": ("appointment_type_id",),
    "channel": ("channel",),
}
OFFICER_BREAKDOWNS = {"officer": ("officer_id",)}
_KEYS = ("bucket", "channel", "appointment_type_id", "officer_id")


@dataclass(frozen=True)
class Breakdown:
    """A period's figures in total and broken down: `by[name]` maps each breakdown of BREAKDOWNS and
    OFFICER_BREAKDOWNS to {key tuple: Figures}; an officer of None is the unassigned bookings."""

    total: Figures
    by: dict[str, dict[tuple[Any, ...], Figures]]


def _grouped(
    *,
    tenant: Tenant,
    filters: ReportFilters,
    today: date,
    breakdowns: dict[str, tuple[str, ...]],
    by_officer: bool,
) -> dict[str, dict[tuple[Any, ...], Figures]]:
    source_sql, params = period_rows_sql(
        tenant=tenant, filters=filters, today=today, by_officer=by_officer, by_type=not by_officer
    )
    sets = ", ".join("(" + ", ".join(keys) + ")" for keys in breakdowns.values())
    used = [key for key in _KEYS if any(key in keys for keys in breakdowns.values())]
    sql = f"""
        SELECT GROUPING({", ".join(used)}) AS grouped, {", ".join(used)},
               {", ".join(f"coalesce(sum({name}), 0)::bigint" for name in FIGURES)}
        FROM ({source_sql}) rows
        GROUP BY GROUPING SETS ({sets})
    """
    # GROUPING() sets one bit per key left out, the first key the highest.
    masks = {
        sum(1 << (len(used) - 1 - i) for i, key in enumerate(used) if key not in keys): (name, keys)
        for name, keys in breakdowns.items()
    }
    by: dict[str, dict[tuple[Any, ...], Figures]] = {name: {} for name in breakdowns}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for grouped, *row in cursor.fetchall():
            name, keys = masks[grouped]
            values = dict(zip(used, row[: len(used)], strict=True))
            figures = Figures(**dict(zip(FIGURES, (int(v) for v in row[len(used) :]), strict=True)))
            by[name][tuple(values[key] for key in keys)] = figures
    return by


def booking_breakdown(*, tenant: Tenant, filters: ReportFilters, now: datetime | None = None) -> Breakdown:
    """The filtered period's booking figures in total and by bucket and channel, bucket and type, type,
    channel and officer: two queries, however long the period."""
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    by = _grouped(tenant=tenant, filters=filters, today=today, breakdowns=BREAKDOWNS, by_officer=False)
    by |= _grouped(
        tenant=tenant, filters=filters, today=today, breakdowns=OFFICER_BREAKDOWNS, by_officer=True
    )
    total = by.pop("total").get((), Figures())
    return Breakdown(total=total, by=by)


def summary_between(
    *,
    tenant: Tenant,
    first_day: date,
    last_day: date,
    now: datetime | None = None,
    team: Team | None = None,
    officer: Officer | None = None,
    appointment_type: AppointmentType | None = None,
    category: Category | None = None,
    channel: str | None = None,
) -> Figures:
    """The figures of the tenant's local days first_day..last_day (both included), filtered (a team means
    the officers in it now; unassigned bookings belong to no team). One query."""
    filters = ReportFilters(
        first_day=first_day,
        last_day=last_day,
        team=team,
        officer=officer,
        appointment_type=appointment_type,
        category=category,
        channel=channel,
    )
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    source_sql, params = period_rows_sql(
        tenant=tenant, filters=filters, today=today, by_officer=False, by_type=False
    )
    sums = ", ".join(f"coalesce(sum({name}), 0)::bigint" for name in FIGURES)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sums} FROM ({source_sql}) rows", params)
        row = cursor.fetchone()
    return Figures(**dict(zip(FIGURES, (int(value) for value in row), strict=True)))


def daily_summary_rows_between(*, first_day: date, last_day: date) -> Iterator[tuple[Any, ...]]:
    """The stored summary rows of the active tenant's days first_day..last_day, in day order, streamed
    (what an export writes): DIMENSIONS then FIGURES."""
    return (
        DailySummary.objects.filter(day__gte=first_day, day__lte=last_day)
        .order_by("day", "appointment_type_id", "officer_id", "channel")
        .values_list(*DIMENSIONS, *FIGURES)
        .iterator(chunk_size=5000)
    )
