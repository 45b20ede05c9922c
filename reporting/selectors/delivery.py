"""Service delivery beyond the booking summaries: why appointments were cancelled, and how old the conflict
queue is. Each read is one query; the adding up is SQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from bookings.models import (
    Booking,
    BookingStatus,
    ConflictCause,
    ConflictItem,
)

from ..models import DailyCancellationSummary
from ..tables import Column, Table
from .bookings_sql import (
    WHITESPACE,
    booking_filter_sql,
    fetch_rows,
    hours_of,
    local_today,
    period_bounds,
    quote,
    share_of,
)
from .filters import ReportFilters
from .summaries import cancellation_rows_sql

TOP_REASONS = 8


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
    today = local_today(tenant, now)
    if filters.by_officer:
        # Only the bookings know their officers: the wanted officers' cancellations, read live.
        start, end = period_bounds(tenant, filters)
        joins, conditions, params = booking_filter_sql(filters)
        trimmed = "btrim(b.cancellation_reason, %s)"
        source = f"""
            SELECT {trimmed} AS reason, 1 AS cancelled
            FROM {quote(Booking._meta.db_table)} b
            {joins}
            WHERE b.tenant_id = %s AND b.status = %s AND b.starts_at >= %s AND b.starts_at < %s
                  {"".join(" AND " + c for c in conditions)}
        """
        source_params = [WHITESPACE, tenant.pk, BookingStatus.CANCELLED.value, start, end, *params]
    else:
        # Days before today from the daily cancellation summaries, today and later live.
        where, where_params = filters.summary_conditions(officer=False, by_type=True)
        live_sql, live_params = cancellation_rows_sql(
            tenant=tenant, first_day=max(filters.first_day, today), last_day=filters.last_day
        )
        source = f"""
            SELECT reason, cancelled FROM {quote(DailyCancellationSummary._meta.db_table)}
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
    for reason, spelling, cancellations, everything in fetch_rows(
        sql, [*source_params, TOP_REASONS, TOP_REASONS]
    ):
        if reason is None:
            label = _("Other reasons")
        elif reason == "":
            label = _("No reason given")
        else:
            label = spelling
        rows.append((label, int(cancellations), share_of(int(cancellations), int(everything))))
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
    start, end = period_bounds(tenant, filters)
    joins, conditions, params = booking_filter_sql(filters, also_officer="c.officer_id")
    # The queue is read on its own unless a filter needs its bookings.
    booking_join = f"JOIN {quote(Booking._meta.db_table)} b ON b.id = c.booking_id" if conditions else ""
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
        FROM {quote(ConflictItem._meta.db_table)} c
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
    found = {(None if grouped else cause): row for cause, grouped, *row in fetch_rows(sql, sql_params)}
    rows = []
    for cause, label in [*ConflictCause.choices, (None, _("All causes"))]:
        open_count, oldest, median_age, resolved_count, median_took = found.get(
            cause, (0, None, None, 0, None)
        )
        rows.append(
            (
                str(label),
                open_count,
                hours_of(oldest),
                hours_of(median_age),
                resolved_count,
                hours_of(median_took),
            )
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
