"""Demo history: about six months of past work before the seeded fortnight, so that the manager dashboards
(`/staff/reports/`) show real-looking figures to a newcomer who signs in as manager@<tenant>.example.

A few thousand bookings a tenant would take minutes through the booking services, so history is written in
bulk, as the services would have left it once each appointment was over: the booking with the contact
details it was made with, its officers' and rooms' assignments (inactive: nothing past occupies anyone any
more), its audit events (held, confirmed, then rescheduled, displaced, cancelled, completed or no-show), the
messages it caused with their final delivery states, and part of the customers' survey answers. The plan
keeps to the configuration the engine uses: working patterns, public holidays, absences, service blocks,
staffing and room requirements, each type's grid, and no officer or room is given two appointments at once.

Figures a manager looks for are in it: a weekly rhythm (quieter Fridays), a mild upward trend, lead times
from same-day to about six weeks, a few no-shows, cancellations with their reasons as staff typed them,
urgent bookings that displaced others, moves, survey scores, message failures and fallbacks, and the days to
the next free slot of each public type as measured each day. The report summaries are then rebuilt.

Everything is drawn from a fixed seed per tenant and relative to today in the tenant's zone. References start
with "DH-" and message dedupe keys with "demo-history:", which nothing else writes; a tenant that already has
history is left alone.
"""

from __future__ import annotations

from datetime import datetime
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from accounts.models import Tenant
from bookings.models import Booking

from .constants import HISTORY_DAYS, REFERENCE_PREFIX
from .plan import _Seeder
from .rows import History

__all__ = ["History", "seed_history"]


def seed_history(tenant: Tenant, *, now: datetime | None = None, days: int = HISTORY_DAYS) -> History:
    """Seeds `days` of past work before the tenant's earliest booking (or today), then rebuilds the report
    summaries of those days. Runs inside the tenant's scope after `seed_scheduling` (and the diaries, which
    it leaves alone); a tenant that already has history is left alone, so running it twice changes nothing.
    """
    if Booking.objects.filter(reference__startswith=REFERENCE_PREFIX).exists():
        return History()
    now = now or timezone.now()
    seeder = _Seeder(tenant, now, days)
    result = seeder.run()
    # Summaries count local days back from the present, whatever `now` was given.
    today = timezone.now().astimezone(tenant.zone).date()
    call_command(
        "refresh_reports",
        days=max(0, (today - seeder.first_day).days) + 1,
        tenant=tenant.slug,
        stdout=StringIO(),
    )
    return result
