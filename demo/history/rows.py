"""What the demo history's modules share: the planned visits, writing rows fast (PostgreSQL COPY), and small
helpers."""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.fields import RangeField
from django.db import connection
from django.db.models import JSONField, Model
from psycopg.types.json import Jsonb
from psycopg.types.range import Range

from accounts.models import Officer
from bookings.models import Booking


@dataclass
class History:
    """What was seeded, for the command's message and the tests."""

    bookings: int = 0
    customers: int = 0
    messages: int = 0
    surveys: int = 0
    snapshots: int = 0


@dataclass
class _Calendar:
    """One officer's (or room's) taken ranges on the day being planned."""

    taken: list[tuple[datetime, datetime]] = field(default_factory=list)

    def free(self, lo: datetime, hi: datetime) -> bool:
        return all(hi <= t_lo or t_hi <= lo for t_lo, t_hi in self.taken)


@dataclass
class _Visit:
    booking: Booking
    officers: list[Officer]
    resources: list[int]
    events: list[tuple[str, datetime, dict, dict, str, int | None]] = field(default_factory=list)
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    displaced_at: datetime | None = None
    moved_from: datetime | None = None


def _row(instance: Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _copy(model: type[Model], rows: Iterable[dict[str, Any]]) -> int:
    """COPYs rows (field attnames to values; missing ones take the field's default) into the model's table."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    adapt = [
        (lambda v: Jsonb(v) if v is not None else None)
        if isinstance(f, JSONField)
        else (lambda v: Range(v[0], v[1], "[)") if v is not None else None)
        if isinstance(f, RangeField)
        else None
        for f in fields
    ]
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for f, to_db in zip(fields, adapt, strict=True):
                value = row[f.attname] if f.attname in row else f.get_default()
                values.append(to_db(value) if to_db else value)
            copy.write_row(values)
            written += 1
    return written


def _weighted(rng: random.Random, choices: list[tuple[Any, int]]) -> Any:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def _on_grid(at: datetime, minutes: int, zone: Any) -> datetime:
    """The first local time on the type's grid (from midnight) at or after `at`."""
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)
    grid = -(-minute // minutes) * minutes
    midnight = datetime.combine(local.date(), time.min, zone)
    return midnight + timedelta(minutes=grid)


def _long_date(at: datetime) -> str:
    return _day_name(at.date())


@functools.cache
def _day_name(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"
