"""The nightly refresh: one task per active tenant, each rewriting its recent days."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from reporting.models import DailySummary
from reporting.tasks import refresh_daily_summaries, refresh_daily_summaries_everywhere
from tests.builders import appointment_type
from tests.reporting.test_summaries import make_booking


def test_the_nightly_task_rewrites_the_recent_days_of_each_active_tenant(
    tenant: Tenant, other_tenant: Tenant, settings: object
) -> None:
    settings.REPORT_REFRESH_DAYS = 7
    kind = appointment_type(tenant)
    now = timezone.now()
    zone = tenant.zone
    recent = make_booking(tenant, kind, now - timedelta(days=2))
    make_booking(tenant, kind, now - timedelta(days=20))  # older than the window: refreshed on demand only

    assert refresh_daily_summaries.apply(kwargs={"tenant_id": tenant.pk}).get() == 1
    assert refresh_daily_summaries.apply(kwargs={"tenant_id": tenant.pk}).get() == 1  # the same row again
    with scope(tenant=tenant):
        assert list(DailySummary.objects.values_list("day", "booked")) == [
            (recent.starts_at.astimezone(zone).date(), 1)
        ]

    other_tenant.is_active = False
    other_tenant.save()
    with mock.patch.object(refresh_daily_summaries, "apply_async") as send:
        assert refresh_daily_summaries_everywhere() == 1
    assert [c.kwargs["kwargs"] for c in send.call_args_list] == [{"tenant_id": tenant.pk}]
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "reporting.refresh_daily_summaries_everywhere" in scheduled
