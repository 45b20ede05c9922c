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

from ..models import DailySummary, WeeklySummary
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


def summary_rows_sql(*, tenant: Tenant, first_day: date, last_day: date) -> tuple[str, list[Any]]:
    """SQL (and its parameters) for the DailySummary rows of the tenant's local days first_day..last_day,
    computed from the bookings as they are now: one GROUP BY, no per-booking work outside the database.

    Columns: DIMENSIONS then FIGURES. An empty range (last_day before first_day) selects nothing.
    """
    q = connection.ops.quote_name
    booking, assignment = q(Booking._meta.db_table), q(BookingAssignment._meta.db_table)
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
               coalesce(sum(s.score), 0)::bigint AS survey_score_sum
        FROM {booking} b
        LEFT JOIN LATERAL (
            SELECT a.officer_id FROM {assignment} a
            WHERE a.booking_id = b.id AND a.officer_id IS NOT NULL
            ORDER BY a.is_active DESC, a.officer_id
            LIMIT 1
        ) lead ON true
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


def period_rows_sql(*, tenant: Tenant, filters: ReportFilters, today: date) -> tuple[str, list[Any]]:
    """SQL for the summary rows of the filters' period, each with its chart bucket (its day, or its week's
    Monday when the period is charted by week), filtered; the same sums as the bookings would give.

    Days before today come from the stored summaries: whole weeks from WeeklySummary when charting by
    week, every other day from DailySummary. Today and later days are summarised live from the bookings,
    so the live day is never stale. Columns: bucket, appointment_type_id, officer_id, channel, team_id,
    category_id, then FIGURES.
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
            parts.append(
                f"SELECT week AS bucket, appointment_type_id, officer_id, channel, {figure_columns} "
                f"FROM {q(WeeklySummary._meta.db_table)} WHERE tenant_id = %s AND week >= %s AND week <= %s"
            )
            params += [tenant.pk, first_week, last_week]
            daily_spans = [
                (first_day, first_week - timedelta(days=1)),
                (last_week + timedelta(days=7), closed_last),
            ]
    for span_first, span_last in daily_spans:
        if span_first <= span_last:
            parts.append(
                f"SELECT {bucket.format(day='day')} AS bucket, appointment_type_id, officer_id, channel, "
                f"{figure_columns} FROM {q(DailySummary._meta.db_table)} "
                "WHERE tenant_id = %s AND day >= %s AND day <= %s"
            )
            params += [tenant.pk, span_first, span_last]
    live_sql, live_params = summary_rows_sql(
        tenant=tenant, first_day=max(first_day, today), last_day=last_day
    )
    parts.append(
        f"SELECT {bucket.format(day='live.day')} AS bucket, appointment_type_id, officer_id, channel, "
        f"{figure_columns} FROM ({live_sql}) live"
    )
    params += live_params
    conditions, condition_params = filters.booking_conditions(
        officer="t.officer_id",
        team="o.team_id",
        appointment_type="t.appointment_type_id",
        category="k.category_id",
        channel="t.channel",
    )
    sql = f"""
        SELECT t.*, o.team_id, k.category_id
        FROM ({" UNION ALL ".join(parts)}) t
        JOIN {q(AppointmentType._meta.db_table)} k ON k.id = t.appointment_type_id
        LEFT JOIN {q(Officer._meta.db_table)} o ON o.id = t.officer_id
        {"WHERE " + " AND ".join(conditions) if conditions else ""}
    """
    return sql, params + condition_params


# The breakdowns one read returns, as GROUPING SETS of the period's rows.
BREAKDOWNS = {
    "total": (),
    "bucket_channel": ("bucket", "channel"),
    "bucket_type": ("bucket", "appointment_type_id"),
    "type": ("appointment_type_id",),
    "officer": ("officer_id",),
    "channel": ("channel",),
}
_KEYS = ("bucket", "channel", "appointment_type_id", "officer_id")


@dataclass(frozen=True)
class Breakdown:
    """A period's figures in total and broken down, from one query: `by[name]` maps each breakdown of
    BREAKDOWNS to {key tuple: Figures}; an officer of None is the unassigned bookings."""

    total: Figures
    by: dict[str, dict[tuple[Any, ...], Figures]]


def booking_breakdown(*, tenant: Tenant, filters: ReportFilters, now: datetime | None = None) -> Breakdown:
    """The filtered period's booking figures in total and by bucket and channel, bucket and type, type,
    officer and channel: one query, however long the period."""
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    source_sql, params = period_rows_sql(tenant=tenant, filters=filters, today=today)
    sets = ", ".join("(" + ", ".join(keys) + ")" for keys in BREAKDOWNS.values())
    sql = f"""
        SELECT GROUPING({", ".join(_KEYS)}) AS grouped, {", ".join(_KEYS)},
               {", ".join(f"coalesce(sum({name}), 0)::bigint" for name in FIGURES)}
        FROM ({source_sql}) rows
        GROUP BY GROUPING SETS ({sets})
    """
    # GROUPING() sets one bit per key left out, the first key the highest.
    masks = {
        sum(1 << (len(_KEYS) - 1 - i) for i, key in enumerate(_KEYS) if key not in keys): (name, keys)
        for name, keys in BREAKDOWNS.items()
    }
    by: dict[str, dict[tuple[Any, ...], Figures]] = {name: {} for name in BREAKDOWNS}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for grouped, *row in cursor.fetchall():
            name, keys = masks[grouped]
            values = dict(zip(_KEYS, row[: len(_KEYS)], strict=True))
            figures = Figures(**dict(zip(FIGURES, (int(v) for v in row[len(_KEYS) :]), strict=True)))
            by[name][tuple(values[key] for key in keys)] = figures
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
    source_sql, params = period_rows_sql(tenant=tenant, filters=filters, today=today)
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
