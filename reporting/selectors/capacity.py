"""Reads for the capacity panels: offered against booked hours per officer and team (utilisation), and
rooms, vehicles and equipment booked against available.

Offered time comes from DailyCapacity (the refresh covers the coming weeks too); booked time of days
before today from DailyCapacity as well, and of today and later days live from the bookings, so a booking
made since the last refresh shows at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, Team, Tenant, User
from bookings.models import Booking, BookingAssignment, BookingStatus
from scheduling.models import Resource, ResourceKind

from ..models import DailyCapacity
from ..tables import Column, Table
from .filters import ReportFilters
from .summaries import TIME_TAKING_STATUSES, local_midnight


def booked_minutes_sql(
    *, tenant: Tenant, first_day: date, last_day: date, by_day: bool = True
) -> tuple[str, list[Any]]:
    """SQL (and parameters) for the appointment minutes (starts_at to ends_at, no buffers) each officer and
    resource is booked for on the tenant's local days first_day..last_day, by the day the booking starts:
    one GROUP BY over the assignments and their bookings. Columns: day (if `by_day`), officer_id,
    resource_id, booked_minutes.

    A booking counts when confirmed, completed or no-show, for each calendar it holds now. A reschedule
    leaves the old assignments behind (inactive), and completing or missing an appointment makes every
    assignment inactive, so "holds now" is: an assignment whose occupied range covers the appointment and,
    while the booking is confirmed, is still active; a calendar counts once per booking (an appointment
    moved by less than its buffers can leave a stale assignment of the same officer covering it).
    """
    q = connection.ops.quote_name
    booking, assignment = q(Booking._meta.db_table), q(BookingAssignment._meta.db_table)
    day = "(starts_at AT TIME ZONE %s)::date AS day, " if by_day else ""
    sql = f"""
        SELECT {day}officer_id, resource_id,
               sum(floor(date_part('epoch', ends_at - starts_at) / 60))::bigint AS booked_minutes
        FROM (
            SELECT b.id, a.officer_id, a.resource_id, min(b.starts_at) AS starts_at, min(b.ends_at) AS ends_at
            FROM {booking} b
            JOIN {assignment} a ON a.booking_id = b.id
            WHERE b.tenant_id = %s AND a.tenant_id = %s
              AND b.starts_at >= %s AND b.starts_at < %s
              AND b.status = ANY(%s)
              AND (a.is_active OR b.status <> %s)
              AND a.occupied @> tstzrange(b.starts_at, b.ends_at)
            GROUP BY b.id, a.officer_id, a.resource_id
        ) held
        GROUP BY {"1, " if by_day else ""}officer_id, resource_id
    """
    params = [
        *([tenant.time_zone] if by_day else []),
        tenant.pk,
        tenant.pk,
        local_midnight(tenant, first_day),
        local_midnight(tenant, max(first_day, last_day + timedelta(days=1))),
        [s.value for s in TIME_TAKING_STATUSES],
        BookingStatus.CONFIRMED.value,
    ]
    return sql, params


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _officer_conditions(filters: ReportFilters, *, officer: str, team: str) -> tuple[list[str], list[Any]]:
    """The filters that apply to offered time: the team (its officers now) and the officer."""
    conditions, params = [], []
    for column, value in ((team, filters.team), (officer, filters.officer)):
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(value.pk)
    return conditions, params


def capacity_tables(
    *, tenant: Tenant, filters: ReportFilters, now: datetime | None = None
) -> dict[str, Table]:
    """Utilisation per officer ("utilisation-officers") and per team ("utilisation-teams"), and each
    resource's use ("resources"), over the filters' period: one query, however long the period.

    A team means the officers in it now; officers without a team are "No team". The team and officer
    filters narrow the officer tables only; the type, category and channel filters apply to none.
    """
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    q = connection.ops.quote_name
    live_sql, live_params = booked_minutes_sql(
        tenant=tenant, first_day=max(filters.first_day, today), last_day=filters.last_day, by_day=False
    )
    conditions, condition_params = _officer_conditions(filters, officer="t.officer_id", team="o.team_id")
    officer_condition = " AND ".join(conditions) if conditions else "true"
    sql = f"""
        SELECT t.officer_id, t.resource_id, u.full_name, u.email, tm.name, r.name, r.kind,
               sum(t.offered)::bigint, sum(t.booked)::bigint
        FROM (
            SELECT officer_id, resource_id, offered_minutes AS offered,
                   CASE WHEN day < %s THEN booked_minutes ELSE 0 END AS booked
            FROM {q(DailyCapacity._meta.db_table)}
            WHERE tenant_id = %s AND day >= %s AND day <= %s
            UNION ALL
            SELECT officer_id, resource_id, 0, booked_minutes FROM ({live_sql}) live
        ) t
        LEFT JOIN {q(Officer._meta.db_table)} o ON o.id = t.officer_id
        LEFT JOIN {q(User._meta.db_table)} u ON u.id = o.user_id
        LEFT JOIN {q(Team._meta.db_table)} tm ON tm.id = o.team_id
        LEFT JOIN {q(Resource._meta.db_table)} r ON r.id = t.resource_id
        WHERE t.resource_id IS NOT NULL OR ({officer_condition})
        GROUP BY t.officer_id, t.resource_id, u.full_name, u.email, tm.name, r.name, r.kind
    """
    params = [today, tenant.pk, filters.first_day, filters.last_day, *live_params, *condition_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    no_team = _("No team")
    officer_rows, resource_rows = [], []
    by_team: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for officer_id, _resource_id, full_name, email, team, resource, kind, offered, booked in rows:
        offered, booked = int(offered), int(booked)
        if officer_id is not None:
            team = team or no_team
            officer_rows.append(
                (full_name or email, team, _hours(offered), _hours(booked), _share(booked, offered))
            )
            by_team[team][0] += offered
            by_team[team][1] += booked
        else:
            resource_rows.append(
                (
                    resource,
                    str(ResourceKind(kind).label),
                    _hours(offered),
                    _hours(booked),
                    _share(booked, offered),
                )
            )
    officer_rows.sort(key=lambda row: (row[0].casefold(), row[1]))
    team_rows = [
        (team, _hours(offered), _hours(booked), _share(booked, offered))
        for team, (offered, booked) in sorted(by_team.items(), key=lambda i: (i[0] == no_team, i[0]))
    ]
    resource_rows.sort(key=lambda row: (row[1], row[0].casefold()))
    offered, booked, use = _("Offered hours"), _("Booked hours"), _("Utilisation")
    offered_note = _(
        "Offered time is each officer's working pattern less absences and public holidays; booked time is "
        "the length of confirmed, completed and no-show appointments (without buffers), on the day they "
        "start. The appointment type, category and channel filters do not apply: offered time is not set "
        "aside by type."
    )
    return {
        "utilisation-officers": Table(
            slug="utilisation-officers",
            title=_("Offered and booked hours by officer"),
            columns=(
                Column("officer", _("Officer")),
                Column("team", _("Team")),
                Column("offered_hours", offered, "hours"),
                Column("booked_hours", booked, "hours"),
                Column("utilisation", use, "percent"),
            ),
            rows=officer_rows,
            note=offered_note,
        ),
        "utilisation-teams": Table(
            slug="utilisation-teams",
            title=_("Offered and booked hours by team"),
            columns=(
                Column("team", _("Team")),
                Column("offered_hours", offered, "hours"),
                Column("booked_hours", booked, "hours"),
                Column("utilisation", use, "percent"),
            ),
            rows=team_rows,
            note=offered_note + " " + _("A team is the officers in it now."),
        ),
        "resources": Table(
            slug="resources",
            title=_("Rooms, vehicles and equipment: booked and available hours"),
            columns=(
                Column("resource", _("Resource")),
                Column("kind", _("Kind")),
                Column("available_hours", _("Available hours"), "hours"),
                Column("booked_hours", booked, "hours"),
                Column("use", _("Use"), "percent"),
            ),
            rows=resource_rows,
            note=_(
                "Available time is each resource's working pattern less its absences and public holidays; "
                "booked time is the length of the confirmed, completed and no-show appointments it is taken "
                "for. The team, officer, appointment type, category and channel filters do not apply."
            ),
        ),
    }


def offered_hours_by_week(
    *, tenant: Tenant, first_week: date, weeks: int, filters: ReportFilters
) -> dict[date, float]:
    """Hours the filters' officers (a team: its officers now) offer in each of `weeks` local weeks from the
    Monday `first_week`, from DailyCapacity (refreshed for the coming weeks): Monday -> hours, every
    week present. The type, category and channel filters do not apply. One query."""
    if first_week.weekday() != 0:
        raise ValueError(f"{first_week} is not a Monday")
    mondays = [first_week + timedelta(weeks=n) for n in range(weeks)]
    if not mondays:
        return {}
    q = connection.ops.quote_name
    where, where_params = _officer_conditions(filters, officer="c.officer_id", team="o.team_id")
    sql = f"""
        SELECT date_trunc('week', c.day)::date, sum(c.offered_minutes)::bigint
        FROM {q(DailyCapacity._meta.db_table)} c
        JOIN {q(Officer._meta.db_table)} o ON o.id = c.officer_id
        WHERE c.tenant_id = %s AND c.day >= %s AND c.day <= %s {"".join(" AND " + w for w in where)}
        GROUP BY 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant.pk, mondays[0], mondays[-1] + timedelta(days=6), *where_params])
        minutes = dict(cursor.fetchall())
    return {monday: _hours(int(minutes.get(monday, 0))) for monday in mondays}
