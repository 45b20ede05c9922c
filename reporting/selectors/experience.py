"""Customer experience beyond the booking summaries: how messages fared per channel, and what customers
said in the survey. Each read is one query; the adding up is SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Tenant
from bookings.models import (
    Booking,
    SurveyResponse,
)
from notifications.models import Message, MessageChannel, MessageStatus
from scheduling.models import AppointmentType

from ..models import DailyMessageSummary
from ..tables import Column, Table
from .bookings_sql import (
    WHITESPACE,
    booking_filter_sql,
    fetch_rows,
    local_today,
    period_bounds,
    quote,
    share_of,
)
from .filters import ReportFilters
from .summaries import COUNTED_STATUSES, Figures, local_midnight

LATEST_COMMENTS = 20
SCORES = range(1, 6)


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
        FROM {quote(Message._meta.db_table)} m
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
    today = local_today(tenant, now)
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
            SELECT channel, {columns} FROM {quote(DailyMessageSummary._meta.db_table)}
            WHERE tenant_id = %s AND day >= %s AND day <= %s
            UNION ALL
            SELECT channel, {columns} FROM ({live_sql}) live
        ) messages
        GROUP BY GROUPING SETS ((channel), ())
    """
    found = {
        (None if grouped else channel): dict(zip(MESSAGE_FIGURES, map(int, row), strict=True))
        for channel, grouped, *row in fetch_rows(
            sql, [tenant.pk, filters.first_day, closed_last, *live_params]
        )
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
                share_of(figures["delivered"], handed_over),
                share_of(unreached, handed_over),
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
    start, end = period_bounds(tenant, filters)
    joins, conditions, params = booking_filter_sql(filters)
    answers_sql = f"""
        SELECT s.id, s.score, s.comment, s.created_at, b.appointment_type_id
        FROM {quote(SurveyResponse._meta.db_table)} s
        JOIN {quote(Booking._meta.db_table)} b ON b.id = s.booking_id
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
        JOIN {quote(AppointmentType._meta.db_table)} k ON k.id = latest.appointment_type_id
        ORDER BY 1
    """
    if totals is not None:
        # Only the latest comments are wanted: no need to materialise every answer of the period first.
        sql = sql.replace("AS MATERIALIZED", "AS NOT MATERIALIZED")
    found = fetch_rows(sql, [*answers_params, tenant.time_zone, WHITESPACE, WHITESPACE, LATEST_COMMENTS])
    if totals is not None:
        counts = {score: getattr(totals, f"survey_score_{score}") for score in SCORES}
    else:
        counts = {score: int(count) for rank, score, count, *_comment in found if rank == 0}
    answers = sum(counts.values())
    score_rows = (
        [(score, counts.get(score, 0), share_of(counts.get(score, 0), answers)) for score in SCORES]
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
