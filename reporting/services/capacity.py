"""Rewrites DailyCapacity: each officer's and resource's offered and booked minutes per local day."""

from __future__ import annotations

from datetime import date, datetime

from django.db import connection, transaction
from django_scopes import scope

from accounts.models import Tenant
from scheduling.availability.supply import open_minutes_by_day

from ..models import DailyCapacity
from ..selectors.capacity import booked_minutes_sql


@transaction.atomic
def daily_capacity_refresh(
    *, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None
) -> int:
    """Rewrites the tenant's DailyCapacity rows of local days first_day..last_day in one transaction (one
    DELETE, one INSERT): offered minutes from the working patterns, absences and public holidays as they
    are now, booked minutes from the bookings as they are now (one GROUP BY). Only calendars and days with
    offered or booked time get a row. Readers see the old rows or the new, never a mix; running it twice
    leaves the same rows. Returns the rows written.

    `now` is accepted for the task's sake; a day is rewritten as it stands, whenever the refresh runs.
    """
    del now  # a refresh records the present state; it needs no clock
    if last_day < first_day:
        return 0
    with scope(tenant=tenant):
        offered = open_minutes_by_day(first_day=first_day, last_day=last_day, tz=tenant.zone)
    select_sql, params = booked_minutes_sql(tenant=tenant, first_day=first_day, last_day=last_day)
    table = connection.ops.quote_name(DailyCapacity._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(select_sql, params)
        booked = {(day, officer_id, resource_id): int(m) for day, officer_id, resource_id, m in cursor}
        rows: dict[tuple[date, int | None, int | None], list[int]] = {}
        for (kind, calendar_id), minutes_by_day in offered.items():
            officer_id, resource_id = (calendar_id, None) if kind == "officer" else (None, calendar_id)
            for day, minutes in minutes_by_day.items():
                rows[(day, officer_id, resource_id)] = [minutes, 0]
        for key, minutes in booked.items():
            rows.setdefault(key, [0, 0])[1] = minutes
        cursor.execute(
            f"DELETE FROM {table} WHERE tenant_id = %s AND day >= %s AND day <= %s",
            [tenant.pk, first_day, last_day],
        )
        written = [(key, figures) for key, figures in rows.items() if figures[0] > 0 or figures[1] > 0]
        if not written:
            return 0
        # One INSERT of parallel arrays, however many rows.
        cursor.execute(
            f"""
            INSERT INTO {table} (tenant_id, day, officer_id, resource_id, offered_minutes, booked_minutes)
            SELECT %s, * FROM unnest(%s::date[], %s::bigint[], %s::bigint[], %s::integer[], %s::integer[])
            """,
            [
                tenant.pk,
                [day for (day, _o, _r), _f in written],
                [officer_id for (_d, officer_id, _r), _f in written],
                [resource_id for (_d, _o, resource_id), _f in written],
                [offered_minutes for _k, (offered_minutes, _b) in written],
                [booked_minutes for _k, (_o, booked_minutes) in written],
            ],
        )
        return cursor.rowcount
