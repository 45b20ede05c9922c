"""An officer's subscription feed as iCalendar: their appointments, and optionally their absences.

Plain data in (bookings with their series, type and customer already loaded; absences), bytes out: no
queries here. What a subscriber's calendar is promised:

- A single booking is `integrations.events.officer_event`: the booking's UID for its whole life, its
  SEQUENCE. A cancelled booking is not in the feed at all, which is how subscribed calendars drop it.
- A series is one master event (UID `<series.public_id>@bookings`, SEQUENCE = the series') repeating at
  the series' local time in the tenant's zone (TZID + VTIMEZONE), so a change of clocks keeps the local
  time. Its RRULE is the series' rule with its end brought in to the officer's last booked occurrence, so
  the feed never promises a date that is not booked; every rule date in between without a booking of this
  officer (cancelled, skipped, given to someone else) is an EXDATE, and an occurrence booked at another
  time is an override (same UID, RECURRENCE-ID = the rule's local start). An occurrence the rule cannot
  describe (the rule changed since) is shown as a single booking, so nothing booked is ever missing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateutil.rrule
from icalendar import Calendar, Event, Timezone, vDuration
from recurrence import Rule, to_weekday

from bookings.models import Booking, BookingSeries
from scheduling.models import Absence

from .events import officer_event

TOKEN_BYTES = 32
# secrets.token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet; anything else is not a token.
TOKEN_LENGTH = 43
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Subscribed calendars are asked to refresh this often (Outlook and Apple honour it; Google polls anyway).
REFRESH = timedelta(minutes=30)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What is stored of a feed's token: the URL can be checked, never rebuilt."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return len(value) == TOKEN_LENGTH and set(value) <= TOKEN_ALPHABET


def series_uid(series: BookingSeries) -> str:
    return f"{series.public_id}@bookings"


def absence_uid(absence: Absence) -> str:
    return f"absence-{absence.pk}@bookings"


def officer_calendar(
    *,
    name: str,
    bookings: Iterable[Booking],
    absences: Iterable[Absence] = (),
    since: date,
    zone: ZoneInfo,
    with_customer_names: bool,
    stamp: datetime,
) -> bytes:
    """The feed's body. `bookings` are this officer's (their active assignment), with `series`,
    `series__appointment_type`, `series__customer`, `appointment_type` and `customer` loaded, from the
    local date `since` on."""
    calendar = Calendar()
    calendar.add("prodid", "-//Bookings//Officer calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())

    bookings = list(bookings)
    absences = list(absences)
    singles: list[Booking] = []
    by_series: dict[int, list[Booking]] = defaultdict(list)
    for booking in bookings:
        if booking.series_id is not None and booking.occurrence_date is not None:
            by_series[booking.series_id].append(booking)
        else:
            singles.append(booking)
    events: list[Event] = []
    for occurrences in by_series.values():
        series_events, unmatched = _series_events(
            occurrences, since=since, zone=zone, names=with_customer_names, stamp=stamp
        )
        events += series_events
        singles += unmatched
    for booking in sorted(singles, key=lambda b: (b.starts_at, b.pk)):
        event = officer_event(booking, with_customer_name=with_customer_names, stamp=stamp)
        events.append(_local(event, zone))
    events += [_absence_event(absence, zone=zone, stamp=stamp) for absence in absences]
    for event in events:
        calendar.add_component(event)

    # The zone's rules for the years the feed touches (every zone the events name, and the tenant's even
    # when there are no events, so a subscriber knows the calendar's zone).
    moments = [stamp, *(b.starts_at for b in bookings), *(a.ends_at for a in absences)]
    first = date(min(moments).year - 1, 1, 1)
    last = date(max(moments).year + 2, 1, 1)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    if zone.key not in {tz.tz_name for tz in calendar.timezones}:
        calendar.subcomponents.insert(0, Timezone.from_tzid(zone.key, first_date=first, last_date=last))
    return calendar.to_ical()


def _series_events(
    occurrences: list[Booking], *, since: date, zone: ZoneInfo, names: bool, stamp: datetime
) -> tuple[list[Event], list[Booking]]:
    """The master event and its overrides for this officer's occurrences of one series, and the
    occurrences the rule does not produce (shown as single bookings)."""
    series = occurrences[0].series
    rule = _only_rule(series)
    if rule is None:
        return [], occurrences
    occurrences = sorted(occurrences, key=lambda b: b.occurrence_date)
    booked = {b.occurrence_date: b for b in occurrences}
    first, last = occurrences[0].occurrence_date, occurrences[-1].occurrence_date
    # The rule's first date that the feed covers (a cancelled first occurrence is an EXDATE of it).
    rule_dates = _rule_dates(rule, start=series.first_date, until=last, zone=zone)
    in_range = [d for d in rule_dates if d >= min(since, first)]
    if not in_range:
        return [], occurrences
    dtstart = in_range[0]
    # Anchored at one of the rule's own dates, the emitted rule repeats as the series does; the dates it
    # produces (not the series' stored exdates) decide what is excluded, so the feed is right either way.
    emitted = _rule_dates(rule, start=dtstart, until=last, zone=zone, count=False)
    produced = set(emitted)
    unmatched = [b for d, b in booked.items() if d not in produced]
    dates = [d for d in emitted if d in booked]
    if not dates:
        return [], occurrences
    last = dates[-1]
    emitted = [d for d in emitted if d <= last]
    duration = series.appointment_type.duration

    def local_start(day: date) -> datetime:
        return datetime.combine(day, series.start_time, tzinfo=zone)

    summary = series.appointment_type.name
    if names:
        summary = f"{summary} – {series.customer.full_name}"
    master = Event()
    master.add("uid", series_uid(series))
    master.add("dtstamp", stamp)
    master.add("sequence", series.sequence)
    master.add("dtstart", local_start(emitted[0]))
    master.add("dtend", local_start(emitted[0]) + duration)
    master.add("rrule", _recur(rule, until=local_start(last).astimezone(UTC)))
    if excluded := [local_start(d) for d in emitted if d not in booked]:
        master.add("exdate", excluded)
    master.add("summary", summary)
    if series.location:
        master.add("location", series.location)
    master.add("description", "Repeating appointment")
    master.add("status", "CONFIRMED")
    master.add("transp", "OPAQUE")
    events = [master]
    for day in dates:
        booking = booked[day]
        starts = booking.starts_at.astimezone(zone)
        if starts == local_start(day) and booking.ends_at - booking.starts_at == duration:
            continue
        override = _local(officer_event(booking, with_customer_name=names, stamp=stamp), zone)
        override.pop("uid")
        override.pop("sequence")
        override.add("uid", series_uid(series))
        override.add("sequence", max(series.sequence, booking.sequence))
        override.add("recurrence-id", local_start(day))
        events.append(override)
    return events, unmatched


def _only_rule(series: BookingSeries) -> Rule | None:
    recurrence = series.recurrence
    if recurrence is None or len(recurrence.rrules) != 1 or recurrence.exrules:
        return None
    rule = recurrence.rrules[0]
    return rule if 0 <= rule.freq < len(FREQUENCIES) else None


def _rule_dates(rule: Rule, *, start: date, until: date, zone: ZoneInfo, count: bool = True) -> list[date]:
    """The rule's local dates from `start` to `until` (its COUNT and UNTIL honoured when `count`)."""
    naive_start = datetime.combine(start, time(0))
    kwargs = {p: getattr(rule, p) or None for p in Rule.byparams}
    kwargs["byweekday"] = [_dateutil_weekday(d) for d in kwargs.pop("byday") or []] or None
    rule_until = rule.until
    if isinstance(rule_until, datetime) and rule_until.tzinfo is not None:
        # Stored as UTC: the rule's end is read as the tenant's wall clock, as its dates are.
        rule_until = rule_until.astimezone(zone).replace(tzinfo=None)
    limit = datetime.combine(until, time(23, 59))
    if count and rule_until is not None:
        if not isinstance(rule_until, datetime):
            rule_until = datetime.combine(rule_until, time(23, 59))
        limit = min(limit, rule_until)
    bounded = count and rule.count
    expansion = dateutil.rrule.rrule(
        rule.freq,
        dtstart=naive_start,
        interval=rule.interval or 1,
        wkst=getattr(rule.wkst, "number", rule.wkst),
        count=rule.count if bounded else None,
        until=None if bounded else limit,
        **kwargs,
    )
    return [moment.date() for moment in expansion if moment <= limit]


def _dateutil_weekday(value: object) -> dateutil.rrule.weekday:
    day = to_weekday(value)
    return dateutil.rrule.weekday(day.number, day.index or None)


def _recur(rule: Rule, *, until: datetime) -> dict[str, object]:
    recur: dict[str, object] = {"freq": FREQUENCIES[rule.freq]}
    if rule.interval and rule.interval != 1:
        recur["interval"] = rule.interval
    if rule.wkst is not None:
        recur["wkst"] = WEEKDAYS[getattr(rule.wkst, "number", rule.wkst)]
    if rule.byday:
        days = [to_weekday(d) for d in rule.byday]
        recur["byday"] = [f"{d.index or ''}{WEEKDAYS[d.number]}" for d in days]
    for param in ("bysetpos", "bymonth", "bymonthday", "byyearday", "byweekno"):
        if values := getattr(rule, param):
            recur[param] = list(values)
    recur["until"] = until
    return recur


def _local(event: Event, zone: ZoneInfo) -> Event:
    """The event's times in the tenant's zone (as the officer reads them), not UTC."""
    for key in ("dtstart", "dtend"):
        moment = event.decoded(key)
        event.pop(key)
        event.add(key, moment.astimezone(zone))
    return event


def _absence_event(absence: Absence, *, zone: ZoneInfo, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", absence_uid(absence))
    event.add("dtstamp", stamp)
    event.add("dtstart", absence.starts_at.astimezone(zone))
    event.add("dtend", absence.ends_at.astimezone(zone))
    event.add("summary", "Absence")
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    return event
