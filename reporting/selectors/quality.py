"""Reads for the dashboard figures the booking summaries do not hold: why bookings were cancelled, how old
the conflict queue is, how messages fared per channel, what customers said, and how far ahead the first
free slot of each type is. Each is a fixed number of queries, whatever the period; the adding up is SQL.

A booking's officer is its lead officer, as in the summaries (the lowest-numbered officer among its active
assignments, else among any), and its team that officer's team now.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, Tenant
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingStatus,
    ConflictCause,
    ConflictItem,
    SurveyResponse,
)
from notifications.models import Message, MessageChannel, MessageStatus
from scheduling.models import AppointmentType, Category

from ..models import DailyCancellationSummary, DailyMessageSummary, NextSlotSnapshot
from ..tables import Column, Table
from .filters import ReportFilters
from .summaries import COUNTED_STATUSES, Figures, cancellation_rows_sql, local_midnight

# Reasons shown by name; the rest are added up as "Other reasons".
TOP_REASONS = 8
LATEST_COMMENTS = 20
SCORES = range(1, 6)
# What trimming a free-text reason takes off: Python's str.strip() whitespace that staff can type.
_WHITESPACE = " \t\r\n\f\v"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _today(tenant: Tenant, now: datetime | None) -> date:
    return (now or timezone.now()).astimezone(tenant.zone).date()


def _period_bounds(tenant: Tenant, filters: ReportFilters) -> tuple[datetime, datetime]:
    """The period as [start, end) instants: from local midnight of its first day to that after its last."""
    end_day = max(filters.first_day, filters.last_day + timedelta(days=1))
    return local_midnight(tenant, filters.first_day), local_midnight(tenant, end_day)


def _booking_filter_sql(
    filters: ReportFilters, *, booking: str = "b", also_officer: str | None = None
) -> tuple[str, list[str], list[Any]]:
    """Joins, conditions and parameters that apply the filters to the bookings aliased `booking`.

    Joins are added only for the filters given, so an unfiltered read touches no assignment. With
    `also_officer` (a column naming another officer), the officer and team filters match either it or the
    booking's lead officer.
    """
    joins: list[str] = []
    conditions: list[str] = []
    params: list[Any] = []
    officer_table = _q(Officer._meta.db_table)
    if filters.officer is not None or filters.team is not None:
        joins.append(
            f"""LEFT JOIN LATERAL (
                SELECT a.officer_id FROM {_q(BookingAssignment._meta.db_table)} a
                WHERE a.booking_id = {booking}.id AND a.officer_id IS NOT NULL
                ORDER BY a.is_active DESC, a.officer_id
                LIMIT 1
            ) lead ON true"""
        )
    if filters.officer is not None:
        if also_officer:
            conditions.append(f"(lead.officer_id = %s OR {also_officer} = %s)")
            params += [filters.officer.pk, filters.officer.pk]
        else:
            conditions.append("lead.officer_id = %s")
            params.append(filters.officer.pk)
    if filters.team is not None:
        joins.append(f"LEFT JOIN {officer_table} lead_o ON lead_o.id = lead.officer_id")
        if also_officer:
            joins.append(f"LEFT JOIN {officer_table} also_o ON also_o.id = {also_officer}")
            conditions.append("(lead_o.team_id = %s OR also_o.team_id = %s)")
            params += [filters.team.pk, filters.team.pk]
        else:
            conditions.append("lead_o.team_id = %s")
            params.append(filters.team.pk)
    if also_officer is None and (filters.officer is not None or filters.team is not None):
        # A lead officer is one of the booking's officers: reading only the bookings of the wanted officers
        # first spares the lead-officer lookup of every other booking (twice as fast over a year).
        assignment_table = _q(BookingAssignment._meta.db_table)
        if filters.officer is not None:
            conditions.append(
                f"{booking}.id IN (SELECT pa.booking_id FROM {assignment_table} pa WHERE pa.officer_id = %s)"
            )
            params.append(filters.officer.pk)
        else:
            conditions.append(
                f"{booking}.id IN (SELECT pa.booking_id FROM {assignment_table} pa "
                f"JOIN {officer_table} po ON po.id = pa.officer_id WHERE po.team_id = %s)"
            )
            params.append(filters.team.pk)
    if filters.appointment_type is not None:
        conditions.append(f"{booking}.appointment_type_id = %s")
        params.append(filters.appointment_type.pk)
    if filters.category is not None:
        joins.append(f"JOIN {_q(AppointmentType._meta.db_table)} fk ON fk.id = {booking}.appointment_type_id")
        conditions.append("fk.category_id = %s")
        params.append(filters.category.pk)
    if filters.channel is not None:
        conditions.append(f"{booking}.channel = %s")
        params.append(filters.channel)
    return "\n".join(joins), conditions, params


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


# --- cancellation reasons ------------------------------------------------------------------------------


def cancellation_reasons_table(
    *, tenant: Tenant, filters: ReportFilters, now: datetime | None = None
) -> Table:
    """Cancelled bookings starting in the period by reason, the same reason however it was spaced or
    capitalised: the TOP_REASONS commonest (most first), then the rest as one row. Each reason is shown in
    its commonest spelling. One query: days before today from the daily cancellation summaries, unless
    filtered by officer or team (which only the bookings know).

    The reasons are staff's free text: cells are plain strings, escaped wherever they are shown.
    """
    today = _today(tenant, now)
    if filters.by_officer:
        # Only the bookings know their officers: the wanted officers' cancellations, read live.
        start, end = _period_bounds(tenant, filters)
        joins, conditions, params = _booking_filter_sql(filters)
        trimmed = "btrim(b.cancellation_reason, %s)"
        source = f"""
            SELECT {trimmed} AS reason, 1 AS cancelled
            FROM {_q(Booking._meta.db_table)} b
            {joins}
            WHERE b.tenant_id = %s AND b.status = %s AND b.starts_at >= %s AND b.starts_at < %s
                  {"".join(" AND " + c for c in conditions)}
        """
        source_params = [_WHITESPACE, tenant.pk, BookingStatus.CANCELLED.value, start, end, *params]
    else:
        # Days before today from the daily cancellation summaries, today and later live.
        where, where_params = filters.summary_conditions(officer=False, by_type=True)
        live_sql, live_params = cancellation_rows_sql(
            tenant=tenant, first_day=max(filters.first_day, today), last_day=filters.last_day
        )
        source = f"""
            SELECT reason, cancelled FROM {_q(DailyCancellationSummary._meta.db_table)}
            WHERE tenant_id = %s AND day >= %s AND day <= %s{where}
            UNION ALL
            SELECT reason, cancelled
            FROM ({live_sql}) live (day, appointment_type_id, channel, reason, cancelled)
            WHERE true{where}
        """
        source_params = [
            tenant.pk,
            filters.first_day,
            min(filters.last_day, today - timedelta(days=1)),
            *where_params,
            *live_params,
            *where_params,
        ]
    sql = f"""
        WITH source AS ({source}),
        spelled AS (
            SELECT lower(reason) AS reason, reason AS spelling, sum(cancelled) AS n FROM source GROUP BY 1, 2
        ), grouped AS (
            SELECT reason, (array_agg(spelling ORDER BY n DESC, spelling))[1] AS spelling,
                   sum(n) AS cancellations
            FROM spelled
            GROUP BY 1
        ), ranked AS (
            SELECT *, row_number() OVER (ORDER BY cancellations DESC, reason) AS rank,
                   sum(cancellations) OVER () AS everything
            FROM grouped
        )
        SELECT CASE WHEN rank <= %s THEN reason END AS reason,
               CASE WHEN rank <= %s THEN spelling END AS spelling,
               sum(cancellations)::bigint, max(everything)::bigint
        FROM ranked
        GROUP BY 1, 2
        ORDER BY min(rank)
    """
    rows = []
    for reason, spelling, cancellations, everything in _fetch(
        sql, [*source_params, TOP_REASONS, TOP_REASONS]
    ):
        if reason is None:
            label = _("Other reasons")
        elif reason == "":
            label = _("No reason given")
        else:
            label = spelling
        rows.append((label, int(cancellations), _share(int(cancellations), int(everything))))
    return Table(
        slug="cancellation-reasons",
        title=_("Cancellation reasons"),
        columns=(
            Column("reason", _("Reason")),
            Column("cancellations", _("Cancellations"), "int"),
            Column("share", _("Share of cancellations"), "percent"),
        ),
        rows=rows,
        note=_(
            "Cancelled appointments starting in the period, by the reason staff gave (the same words however "
            "spaced or capitalised); the %(top)d commonest, then the rest together. Every filter applies."
        )
        % {"top": TOP_REASONS},
    )


# --- conflict queue ------------------------------------------------------------------------------------


def conflict_queue_table(*, tenant: Tenant, filters: ReportFilters, now: datetime | None = None) -> Table:
    """The conflict queue by cause, then all causes: items open now with the oldest and median age (hours
    since detected), and items resolved in the period with the median hours they took. One query.

    The officer and team filters match the officer the item names or the booking's lead officer; the
    type, category and channel filters the booking's.
    """
    now = now or timezone.now()
    start, end = _period_bounds(tenant, filters)
    joins, conditions, params = _booking_filter_sql(filters, also_officer="c.officer_id")
    # The queue is read on its own unless a filter needs its bookings.
    booking_join = f"JOIN {_q(Booking._meta.db_table)} b ON b.id = c.booking_id" if conditions else ""
    is_open = "(c.resolved_at IS NULL OR c.resolved_at > %s)"
    age = "extract(epoch FROM %s - c.detected_at)::float8 / 3600"
    resolved = "(c.resolved_at >= %s AND c.resolved_at < %s AND c.resolved_at <= %s)"
    took = "extract(epoch FROM c.resolved_at - c.detected_at)::float8 / 3600"
    sql = f"""
        SELECT c.cause, GROUPING(c.cause),
               count(*) FILTER (WHERE {is_open}),
               max({age}) FILTER (WHERE {is_open}),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {age}) FILTER (WHERE {is_open}),
               count(*) FILTER (WHERE {resolved}),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {took}) FILTER (WHERE {resolved})
        FROM {_q(ConflictItem._meta.db_table)} c
        {booking_join}
        {joins}
        WHERE c.tenant_id = %s AND c.detected_at <= %s AND ({is_open} OR {resolved})
              {"".join(" AND " + c for c in conditions)}
        GROUP BY GROUPING SETS ((c.cause), ())
    """
    sql_params = [
        now,  # open count
        now,
        now,  # oldest
        now,
        now,  # median age
        start,
        end,
        now,  # resolved count
        start,
        end,
        now,  # median time to resolve
        tenant.pk,
        now,
        now,
        start,
        end,
        now,
        *params,
    ]
    found = {(None if grouped else cause): row for cause, grouped, *row in _fetch(sql, sql_params)}
    rows = []
    for cause, label in [*ConflictCause.choices, (None, _("All causes"))]:
        open_count, oldest, median_age, resolved_count, median_took = found.get(
            cause, (0, None, None, 0, None)
        )
        rows.append(
            (str(label), open_count, _hours(oldest), _hours(median_age), resolved_count, _hours(median_took))
        )
    return Table(
        slug="conflict-queue",
        title=_("Conflict queue"),
        columns=(
            Column("cause", _("Cause")),
            Column("open", _("Open now"), "int"),
            Column("oldest_hours", _("Oldest open (hours)"), "hours"),
            Column("median_age_hours", _("Median age of open (hours)"), "hours"),
            Column("resolved", _("Resolved in the period"), "int"),
            Column("median_hours_to_resolve", _("Median time to resolve (hours)"), "hours"),
        ),
        rows=rows,
        note=_(
            "Open items are counted now, whatever the period; resolved items by when they were resolved. "
            "Officer and team match the officer an item names or the appointment's lead officer; type, "
            "category and channel are the appointment's."
        ),
    )


# --- messages ------------------------------------------------------------------------------------------

MESSAGE_FIGURES = (
    "total",
    "pending",
    "sent",
    "delivered",
    "bounced",
    "failed",
    "cancelled",
    "expired",
    "fallbacks",
)


def message_figures_sql(*, tenant: Tenant, first_day: date, last_day: date) -> tuple[str, list[Any]]:
    """SQL for the DailyMessageSummary rows of the tenant's local days first_day..last_day from the
    messages as they are now: the local day each was queued, its channel, then MESSAGE_FIGURES."""
    statuses = ", ".join(f"count(*) FILTER (WHERE m.status = %s) AS {name}" for name in MESSAGE_FIGURES[1:-1])
    sql = f"""
        SELECT (m.created_at AT TIME ZONE %s)::date AS day, m.channel, count(*) AS total, {statuses},
               count(*) FILTER (WHERE m.fallback_of_id IS NOT NULL) AS fallbacks
        FROM {_q(Message._meta.db_table)} m
        WHERE m.tenant_id = %s AND m.created_at >= %s AND m.created_at < %s
        GROUP BY 1, 2
    """
    params = [
        tenant.time_zone,
        *(MessageStatus(name).value for name in MESSAGE_FIGURES[1:-1]),
        tenant.pk,
        local_midnight(tenant, first_day),
        local_midnight(tenant, max(first_day, last_day + timedelta(days=1))),
    ]
    return sql, params


def messages_table(*, tenant: Tenant, filters: ReportFilters, now: datetime | None = None) -> Table:
    """Messages queued in the period per channel, then all channels, by what became of them: closed days
    from DailyMessageSummary, today live from the messages. One query.

    Delivery and failure rates are shares of the messages handed to a provider (sent, delivered, bounced
    or failed); cancelled and expired ones were never sent.
    """
    today = _today(tenant, now)
    closed_last = min(filters.last_day, today - timedelta(days=1))
    columns = ", ".join(MESSAGE_FIGURES)
    live_sql, live_params = message_figures_sql(
        tenant=tenant,
        first_day=max(filters.first_day, today),
        last_day=min(filters.last_day, today),
    )
    sums = ", ".join(f"coalesce(sum({name}), 0)::bigint" for name in MESSAGE_FIGURES)
    sql = f"""
        SELECT channel, GROUPING(channel), {sums}
        FROM (
            SELECT channel, {columns} FROM {_q(DailyMessageSummary._meta.db_table)}
            WHERE tenant_id = %s AND day >= %s AND day <= %s
            UNION ALL
            SELECT channel, {columns} FROM ({live_sql}) live
        ) messages
        GROUP BY GROUPING SETS ((channel), ())
    """
    found = {
        (None if grouped else channel): dict(zip(MESSAGE_FIGURES, map(int, row), strict=True))
        for channel, grouped, *row in _fetch(sql, [tenant.pk, filters.first_day, closed_last, *live_params])
    }
    rows = []
    for channel, label in [*MessageChannel.choices, (None, _("All channels"))]:
        figures = found.get(channel, dict.fromkeys(MESSAGE_FIGURES, 0))
        unreached = figures["failed"] + figures["bounced"]
        handed_over = figures["sent"] + figures["delivered"] + unreached
        rows.append(
            (
                str(label),
                figures["total"],
                figures["delivered"],
                figures["sent"],
                unreached,
                figures["pending"],
                figures["cancelled"] + figures["expired"],
                figures["fallbacks"],
                _share(figures["delivered"], handed_over),
                _share(unreached, handed_over),
            )
        )
    return Table(
        slug="messages",
        title=_("Message delivery by channel"),
        columns=(
            Column("channel", _("Channel")),
            Column("total", _("Messages"), "int"),
            Column("delivered", _("Delivered"), "int"),
            Column("sent", _("Sent, not yet confirmed"), "int"),
            Column("failed", _("Failed or bounced"), "int"),
            Column("pending", _("Waiting to be sent"), "int"),
            Column("not_sent", _("Not sent (cancelled or too late)"), "int"),
            Column("fallbacks", _("Sent instead of a failed message"), "int"),
            Column("delivery_rate", _("Delivery rate"), "percent"),
            Column("failure_rate", _("Failure rate"), "percent"),
        ),
        rows=rows,
        note=_(
            "Messages queued on the days of the period, as they stand (past days as last summarised, "
            "today live). Rates are shares of the messages handed to a provider. Only the dates apply: "
            "the team, officer, type, category and channel filters do not."
        ),
    )


# --- survey --------------------------------------------------------------------------------------------


def survey_tables(
    *, tenant: Tenant, filters: ReportFilters, now: datetime | None = None, totals: Figures | None = None
) -> dict[str, Table]:
    """The survey scores of appointments starting in the period (how many of each score, 1 to 5, and
    their share) and the latest LATEST_COMMENTS comments that say something: "survey-scores" and
    "survey-comments", both empty when nobody answered. One query for the comments; the scores come from
    the period's booking figures when given (the summaries hold them), else from the same query."""
    del now  # an answer counts on its appointment's day
    start, end = _period_bounds(tenant, filters)
    joins, conditions, params = _booking_filter_sql(filters)
    answers_sql = f"""
        SELECT s.id, s.score, s.comment, s.created_at, b.appointment_type_id
        FROM {_q(SurveyResponse._meta.db_table)} s
        JOIN {_q(Booking._meta.db_table)} b ON b.id = s.booking_id
        {joins}
        WHERE s.tenant_id = %s AND b.tenant_id = %s AND b.starts_at >= %s AND b.starts_at < %s
              AND b.status = ANY(%s) {"".join(" AND " + c for c in conditions)}
    """
    answers_params = [tenant.pk, tenant.pk, start, end, [s.value for s in COUNTED_STATUSES], *params]
    # The latest comments (ordered by `rank`), after the score counts (rank 0) unless the totals hold them.
    scores_sql = (
        ""
        if totals is not None
        else "SELECT 0 AS rank, score, count(*), NULL::date, NULL, NULL FROM answers GROUP BY score UNION ALL"
    )
    sql = f"""
        WITH answers AS MATERIALIZED ({answers_sql})
        {scores_sql}
        SELECT row_number() OVER (ORDER BY latest.created_at DESC, latest.id DESC), latest.score, NULL,
               (latest.created_at AT TIME ZONE %s)::date, k.name, btrim(latest.comment, %s)
        FROM (
            SELECT * FROM answers WHERE btrim(comment, %s) <> '' ORDER BY created_at DESC, id DESC LIMIT %s
        ) latest
        JOIN {_q(AppointmentType._meta.db_table)} k ON k.id = latest.appointment_type_id
        ORDER BY 1
    """
    if totals is not None:
        # Only the latest comments are wanted: no need to materialise every answer of the period first.
        sql = sql.replace("AS MATERIALIZED", "AS NOT MATERIALIZED")
    found = _fetch(sql, [*answers_params, tenant.time_zone, _WHITESPACE, _WHITESPACE, LATEST_COMMENTS])
    if totals is not None:
        counts = {score: getattr(totals, f"survey_score_{score}") for score in SCORES}
    else:
        counts = {score: int(count) for rank, score, count, *_comment in found if rank == 0}
    answers = sum(counts.values())
    score_rows = (
        [(score, counts.get(score, 0), _share(counts.get(score, 0), answers)) for score in SCORES]
        if answers
        else []
    )
    comments = [(day, name, score, comment) for rank, score, _count, day, name, comment in found if rank]
    return {
        "survey-scores": Table(
            slug="survey-scores",
            title=_("Survey scores"),
            columns=(
                Column("score", _("Score (1 to 5)"), "int"),
                Column("responses", _("Responses"), "int"),
                Column("share", _("Share of responses"), "percent"),
            ),
            rows=score_rows,
            note=_("Answers about appointments starting in the period. Every filter applies."),
        ),
        "survey-comments": Table(
            slug="survey-comments",
            title=_("Latest survey comments"),
            columns=(
                Column("date", _("Answered on"), "date"),
                Column("appointment_type", _("Appointment type")),
                Column("score", _("Score"), "int"),
                Column("comment", _("Comment")),
            ),
            rows=[tuple(row) for row in comments],
            note=_(
                "The latest %(count)d comments about appointments starting in the period, newest first. "
                "Every filter applies."
            )
            % {"count": LATEST_COMMENTS},
        ),
    }


# --- next free slot ------------------------------------------------------------------------------------


def _local_minute(tenant: Tenant, moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(tenant.zone).strftime("%Y-%m-%d %H:%M")


def next_slot_tables(
    *, tenant: Tenant, filters: ReportFilters, now: datetime | None = None
) -> dict[str, Table]:
    """How far ahead the first free slot of each online-bookable type is: "next-slot-today", the latest
    measurement of each type, and "next-slot-trend", a row per day of the period up to today with a column
    per type (the day's measurement; none when not measured). Two queries."""
    today = _today(tenant, now)
    type_table, category_table = _q(AppointmentType._meta.db_table), _q(Category._meta.db_table)
    conditions, params = ["k.is_active", "k.online_bookable"], []
    if filters.appointment_type is not None:
        conditions.append("k.id = %s")
        params.append(filters.appointment_type.pk)
    if filters.category is not None:
        conditions.append("k.category_id = %s")
        params.append(filters.category.pk)
    where = "".join(" AND " + c for c in conditions)
    latest = _fetch(
        f"""
        SELECT DISTINCT ON (n.appointment_type_id) k.name, g.name, n.days_to_next, n.next_start, n.measured_at
        FROM {_q(NextSlotSnapshot._meta.db_table)} n
        JOIN {type_table} k ON k.id = n.appointment_type_id
        JOIN {category_table} g ON g.id = k.category_id
        WHERE n.tenant_id = %s AND n.day <= %s {where}
        ORDER BY n.appointment_type_id, n.day DESC, n.measured_at DESC
        """,
        [tenant.pk, today, *params],
    )
    latest.sort(key=lambda row: (row[0], row[1]))
    trend_last = min(filters.last_day, today)
    measured = _fetch(
        f"""
        SELECT n.day, n.appointment_type_id, k.name, n.days_to_next
        FROM {_q(NextSlotSnapshot._meta.db_table)} n
        JOIN {type_table} k ON k.id = n.appointment_type_id
        WHERE n.tenant_id = %s AND n.day >= %s AND n.day <= %s {where}
        ORDER BY k.name, n.appointment_type_id
        """,
        [tenant.pk, filters.first_day, trend_last, *params],
    )
    type_names = {type_id: name for _day, type_id, name, _days in measured}
    by_day = {(day, type_id): days for day, type_id, _name, days in measured}
    days = [filters.first_day + timedelta(days=n) for n in range((trend_last - filters.first_day).days + 1)]
    trend_rows = (
        [(day, *(by_day.get((day, type_id)) for type_id in type_names)) for day in days] if measured else []
    )
    not_applied = _("The team, officer and channel filters do not apply.")
    return {
        "next-slot-today": Table(
            slug="next-slot-today",
            title=_("Days to the next free slot"),
            columns=(
                Column("appointment_type", _("Appointment type")),
                Column("category", _("Category")),
                Column("days_to_next", _("Days to the next free slot"), "days"),
                Column("next_start", _("First free slot")),
                Column("measured_at", _("Measured at")),
            ),
            rows=[
                (
                    name,
                    category,
                    days_to_next,
                    _local_minute(tenant, next_start),
                    _local_minute(tenant, measured_at),
                )
                for name, category, days_to_next, next_start, measured_at in latest
            ],
            note=_(
                "The first slot the public could book, as last measured (hourly); blank when none was free "
                "within the booking horizon. Online-bookable types only. %(not_applied)s"
            )
            % {"not_applied": not_applied},
        ),
        "next-slot-trend": Table(
            slug="next-slot-trend",
            title=_("Days to the next free slot, day by day"),
            columns=(
                Column("day", _("Day"), "date"),
                *(Column(f"type-{type_id}", name, "days") for type_id, name in type_names.items()),
            ),
            rows=trend_rows,
            note=_(
                "Each day's last measurement of the days to the first free slot, per type; blank when not "
                "measured or none was free. %(not_applied)s"
            )
            % {"not_applied": not_applied},
        ),
    }
