"""How every summary is rewritten: delete a tenant's rows of a range, insert what one SELECT gives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import connection, models

from accounts.models import Tenant


def rows_rewrite(
    *,
    model: type[models.Model],
    tenant: Tenant,
    first: date,
    last: date,
    columns: Sequence[str],
    select_sql: str,
    params: Sequence[object],
    period: str = "day",
) -> int:
    """Deletes the tenant's `model` rows whose `period` column falls in first..last and inserts the rows
    `select_sql` gives (its columns are `columns`, the tenant's id is added), in the caller's transaction.
    Returns the rows inserted."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE tenant_id = %s AND {period} >= %s AND {period} <= %s",
            [tenant.pk, first, last],
        )
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, {', '.join(columns)}) "
            f"SELECT %s, rows.* FROM ({select_sql}) rows",
            [tenant.pk, *params],
        )
        return cursor.rowcount
