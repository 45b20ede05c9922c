"""The manager dashboard: every panel's headline figures and tables for one set of filters, in a fixed
number of queries whatever the period (each read aggregates in SQL; Python only arranges the results)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, Tenant
from bookings.models import Booking, BookingStatus, Channel
from scheduling.models import AppointmentType

from ..tables import Column, Table
from .capacity import capacity_tables, offered_hours_by_week
from .delivery import cancellation_reasons_table, conflict_queue_table
from .experience import messages_table, survey_tables
from .filters import ReportFilters
from .next_slot import next_slot_tables
from .summaries import (
    Breakdown,
    Figures,
    booking_breakdown,
    lead_officer_join,
    local_midnight,
    weekly_source,
)

# Types charted one by one; the rest are added up as "Other types".
CHARTED_TYPES = 6
FORECAST_WEEKS = 4
# The weeks the forecast's "typical demand still to come" is averaged over.
FORECAST_HISTORY_WEEKS = 8


@dataclass(frozen=True)
class Headline:
    label: str
    value: Any
    kind: str  # as a Column's kind
    detail: str = ""


@dataclass(frozen=True)
class Panel:
    slug: str
    title: str
    headlines: tuple[Headline, ...]
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Dashboard:
    filters: ReportFilters
    today: date
    totals: Figures
    panels: tuple[Panel, ...]

    @property
    def tables(self) -> dict[str, Table]:
        return {table.slug: table for panel in self.panels for table in panel.tables}


@dataclass(frozen=True)
class Names:
    """Labels for the ids the figures carry (one query each)."""

    types: dict[int, AppointmentType]
    officers: dict[int, Officer]

    @classmethod
    def read(cls) -> Names:
        return cls(
            types={t.pk: t for t in AppointmentType.objects.select_related("category").order_by("name")},
            officers={o.pk: o for o in Officer.objects.select_related("user", "team")},
        )

    def officer(self, officer_id: int | None) -> str:
        if officer_id is None:
            return _("Not assigned")
        officer = self.officers.get(officer_id)
        return officer.user.full_name if officer else _("Former officer")

    def team(self, officer_id: int | None) -> str:
        officer = self.officers.get(officer_id) if officer_id is not None else None
        return officer.team.name if officer and officer.team else ""


def _mean(total: int, count: int) -> float | None:
    return total / count if count else None


def _days(minutes: float | None) -> float | None:
    return minutes / (60 * 24) if minutes is not None else None


def buckets(filters: ReportFilters) -> list[date]:
    """Every chart bucket of the period: its days, or the Mondays of its weeks."""
    if not filters.weekly:
        return [filters.first_day + timedelta(days=n) for n in range(filters.days)]
    monday = filters.first_day - timedelta(days=filters.first_day.weekday())
    return [monday + timedelta(weeks=n) for n in range((filters.last_day - monday).days // 7 + 1)]


def bookings_over_time(breakdown: Breakdown, filters: ReportFilters, names: Names) -> list[Table]:
    bucket_label = _("Week starting") if filters.weekly else _("Day")
    by_channel = breakdown.by["bucket_channel"]
    channels = [(value, label) for value, label in Channel.choices]
    channel_rows = [
        (
            bucket,
            *(by_channel.get((bucket, value), Figures()).booked for value, _label in channels),
            sum(by_channel.get((bucket, value), Figures()).booked for value, _label in channels),
        )
        for bucket in buckets(filters)
    ]
    by_type = breakdown.by["bucket_type"]
    type_totals = breakdown.by["type"]
    ranked = sorted(type_totals, key=lambda key: (-type_totals[key].booked, names.types[key[0]].name))
    shown = [key[0] for key in ranked[:CHARTED_TYPES]]
    others = [key[0] for key in ranked[CHARTED_TYPES:]]
    type_columns = [Column(f"type_{pk}", names.types[pk].name, "int") for pk in shown]
    if others:
        type_columns.append(Column("other_types", _("Other types"), "int"))
    type_rows = []
    for bucket in buckets(filters):
        counts = [by_type.get((bucket, pk), Figures()).booked for pk in shown]
        if others:
            counts.append(sum(by_type.get((bucket, pk), Figures()).booked for pk in others))
        type_rows.append((bucket, *counts, sum(counts)))
    return [
        Table(
            slug="bookings-by-channel",
            title=_("Appointments by channel, week by week")
            if filters.weekly
            else _("Appointments by channel, day by day"),
            columns=(
                Column("bucket", bucket_label, "date"),
                *(Column(value, str(label), "int") for value, label in channels),
                Column("total", _("Total"), "int"),
            ),
            rows=channel_rows,
            note=_("Appointments starting in each period, whatever became of them, by how they were booked."),
        ),
        Table(
            slug="bookings-by-type",
            title=_("Appointments by type, week by week")
            if filters.weekly
            else _("Appointments by type, day by day"),
            columns=(
                Column("bucket", bucket_label, "date"),
                *type_columns,
                Column("total", _("Total"), "int"),
            ),
            rows=type_rows,
        ),
    ]


OUTCOME_COLUMNS = (
    Column("booked", _("Appointments"), "int"),
    Column("completed", _("Completed"), "int"),
    Column("no_show", _("Did not attend"), "int"),
    Column("cancelled", _("Cancelled"), "int"),
    Column("needs_rebooking", _("Need a new time"), "int"),
    Column("completion_rate", _("Completion rate"), "percent"),
    Column("no_show_rate", _("No-show rate"), "percent"),
    Column("cancellation_rate", _("Cancellation rate"), "percent"),
    Column("reschedules", _("Reschedules"), "int"),
    Column("lead_days", _("Mean lead time (days)"), "number"),
    Column("emergency", _("Emergency"), "int"),
    Column("displaced", _("Displaced"), "int"),
)


def _outcomes(f: Figures) -> tuple[Any, ...]:
    return (
        f.booked,
        f.completed,
        f.no_show,
        f.cancelled,
        f.needs_rebooking,
        f.completion_rate,
        f.no_show_rate,
        f.cancellation_rate,
        f.reschedules,
        _days(f.mean_lead_time_minutes),
        f.emergency,
        f.displaced,
    )


def outcome_tables(breakdown: Breakdown, names: Names) -> list[Table]:
    by_type = breakdown.by["type"]
    type_rows = sorted(
        (
            (names.types[pk].name, names.types[pk].category.name, *_outcomes(figures))
            for (pk,), figures in by_type.items()
        ),
        key=lambda row: (-row[2], row[0]),
    )
    by_officer = breakdown.by["officer"]
    officer_rows = sorted(
        ((names.officer(pk), names.team(pk), *_outcomes(figures)) for (pk,), figures in by_officer.items()),
        key=lambda row: (row[0] == _("Not assigned"), row[0]),
    )
    return [
        Table(
            slug="outcomes-by-type",
            title=_("Outcomes by appointment type"),
            columns=(
                Column("type", _("Appointment type")),
                Column("category", _("Category")),
                *OUTCOME_COLUMNS,
            ),
            rows=type_rows,
            note=_(
                "Rates are shares of the appointments starting in the period. Lead time runs from booking "
                "to appointment."
            ),
        ),
        Table(
            slug="outcomes-by-officer",
            title=_("Outcomes by officer"),
            columns=(Column("officer", _("Officer")), Column("team", _("Team")), *OUTCOME_COLUMNS),
            rows=officer_rows,
            note=_("An appointment with two officers counts once, for the first of them."),
        ),
    ]


def channel_table(breakdown: Breakdown) -> Table:
    total = breakdown.total.booked
    rows = [
        (str(label), breakdown.by["channel"].get((value,), Figures()).booked)
        for value, label in Channel.choices
    ]
    return Table(
        slug="channels",
        title=_("Portal and staff bookings"),
        columns=(
            Column("channel", _("Booked through")),
            Column("booked", _("Appointments"), "int"),
            Column("share", _("Share"), "percent"),
        ),
        rows=[(label, count, count / total if total else None) for label, count in rows],
    )


def forecast_table(
    *, tenant: Tenant, filters: ReportFilters, today: date, offered_hours: dict[date, float] | None = None
) -> Table:
    """The next FORECAST_WEEKS weeks (Monday to Sunday, from next Monday): appointments booked so far,
    plus the demand that typically still arrives that far ahead. For the k-th week ahead that is the mean,
    over the last FORECAST_HISTORY_WEEKS whole weeks, of the appointments (not cancelled) booked fewer than
    7k days before they started. Two queries; the booked weeks are read live from the bookings."""
    first_week = today + timedelta(days=7 - today.weekday())
    weeks = [first_week + timedelta(weeks=n) for n in range(FORECAST_WEEKS)]
    by_officer = filters.by_officer
    q = connection.ops.quote_name
    conditions, condition_params = filters.booking_conditions(
        officer="lead.officer_id",
        team="o.team_id",
        appointment_type="b.appointment_type_id",
        category="k.category_id",
        channel="b.channel",
    )
    officer_join = (
        f"{lead_officer_join('b')} LEFT JOIN {q(Officer._meta.db_table)} o ON o.id = lead.officer_id"
        if by_officer
        else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT date_trunc('week', b.starts_at AT TIME ZONE %s)::date, count(*)
            FROM {q(Booking._meta.db_table)} b
            JOIN {q(AppointmentType._meta.db_table)} k ON k.id = b.appointment_type_id
            {officer_join}
            WHERE b.tenant_id = %s AND b.starts_at >= %s AND b.starts_at < %s AND b.status = %s
            {"AND " + " AND ".join(conditions) if conditions else ""}
            GROUP BY 1
            """,
            [
                tenant.time_zone,
                tenant.pk,
                local_midnight(tenant, first_week),
                local_midnight(tenant, weeks[-1] + timedelta(weeks=1)),
                BookingStatus.CONFIRMED.value,
                *condition_params,
            ],
        )
        booked = dict(cursor.fetchall())
    this_monday = today - timedelta(days=today.weekday())
    history_first = this_monday - timedelta(weeks=FORECAST_HISTORY_WEEKS)
    model, *_dimensions = weekly_source(by_officer=filters.by_officer, by_type=filters.by_type)
    where, where_params = filters.summary_conditions(officer=filters.by_officer, by_type=filters.by_type)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT coalesce(sum(late_7d), 0), coalesce(sum(late_14d), 0),
                   coalesce(sum(late_21d), 0), coalesce(sum(late_28d), 0)
            FROM {q(model._meta.db_table)}
            WHERE tenant_id = %s AND week >= %s AND week < %s{where}
            """,
            [tenant.pk, history_first, this_monday, *where_params],
        )
        late = [value / FORECAST_HISTORY_WEEKS for value in cursor.fetchone()]
    rows = []
    for n, week in enumerate(weeks):
        so_far = booked.get(week, 0)
        still = round(late[n], 1)
        offered = (offered_hours or {}).get(week)
        rows.append((week, so_far, still, round(so_far + still, 1), offered))
    return Table(
        slug="forecast",
        title=_("Forecast for the next four weeks"),
        columns=(
            Column("week", _("Week starting"), "date"),
            Column("booked", _("Booked so far"), "int"),
            Column("expected", _("Typically still to come"), "number"),
            Column("forecast", _("Forecast"), "number"),
            Column("offered_hours", _("Hours offered"), "hours"),
        ),
        rows=rows,
        note=_(
            "Still to come: on average over the last %(weeks)s weeks, the appointments booked as short a "
            "time ahead as each week now is."
        )
        % {"weeks": FORECAST_HISTORY_WEEKS},
    )


def headlines(
    totals: Figures, breakdown: Breakdown, capacity: dict[str, Table]
) -> dict[str, tuple[Headline, ...]]:
    portal = breakdown.by["channel"].get((Channel.PORTAL.value,), Figures()).booked
    teams = capacity["utilisation-teams"]
    offered = sum(value or 0 for value in teams.values("offered_hours"))
    booked = sum(value or 0 for value in teams.values("booked_hours"))
    return {
        "demand": (
            Headline(_("Appointments"), totals.booked, "int"),
            Headline(_("Hours offered"), offered, "hours"),
            Headline(
                _("Utilisation"), booked / offered if offered else None, "percent", _("of hours offered")
            ),
            Headline(_("Emergency appointments"), totals.emergency, "int"),
        ),
        "delivery": (
            Headline(_("Completed"), totals.completion_rate, "percent", _("of appointments")),
            Headline(_("Did not attend"), totals.no_show_rate, "percent", _("of appointments")),
            Headline(_("Cancelled"), totals.cancellation_rate, "percent", _("of appointments")),
            Headline(
                _("Mean lead time"), _days(totals.mean_lead_time_minutes), "number", _("days from booking")
            ),
            Headline(_("Reschedules"), totals.reschedules, "int"),
            Headline(_("Displaced by emergencies"), totals.displaced, "int"),
        ),
        "experience": (
            Headline(_("Satisfaction"), totals.mean_survey_score, "number", _("mean score out of 5")),
            Headline(_("Survey answers"), totals.survey_responses, "int"),
            Headline(_("Booked online"), portal / totals.booked if totals.booked else None, "percent"),
        ),
    }


def dashboard(*, tenant: Tenant, filters: ReportFilters, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = now.astimezone(tenant.zone).date()
    names = Names.read()
    breakdown = booking_breakdown(tenant=tenant, filters=filters, now=now)
    capacity = capacity_tables(tenant=tenant, filters=filters, now=now)
    next_slot = next_slot_tables(tenant=tenant, filters=filters, now=now)
    survey = survey_tables(tenant=tenant, filters=filters, now=now, totals=breakdown.total)
    heads = headlines(breakdown.total, breakdown, capacity)
    next_monday = today + timedelta(days=7 - today.weekday())
    offered = offered_hours_by_week(
        tenant=tenant, first_week=next_monday, weeks=FORECAST_WEEKS, filters=filters
    )
    panels = (
        Panel(
            "demand",
            _("Demand and capacity"),
            heads["demand"],
            (
                *bookings_over_time(breakdown, filters, names),
                capacity["utilisation-officers"],
                capacity["utilisation-teams"],
                next_slot["next-slot-today"],
                next_slot["next-slot-trend"],
                forecast_table(tenant=tenant, filters=filters, today=today, offered_hours=offered),
            ),
        ),
        Panel(
            "delivery",
            _("Service delivery"),
            heads["delivery"],
            (
                *outcome_tables(breakdown, names),
                cancellation_reasons_table(tenant=tenant, filters=filters, now=now),
                conflict_queue_table(tenant=tenant, filters=filters, now=now),
            ),
        ),
        Panel(
            "experience",
            _("Customer experience"),
            heads["experience"],
            (
                survey["survey-scores"],
                survey["survey-comments"],
                messages_table(tenant=tenant, filters=filters, now=now),
                channel_table(breakdown),
            ),
        ),
        Panel("resources", _("Resource use"), (), (capacity["resources"],)),
    )
    return Dashboard(filters=filters, today=today, totals=breakdown.total, panels=panels)
