"""The dates of a recurring series and the instants of its occurrences: plain data in and out, no database.

A series' rule (a django-recurrence `Recurrence`) speaks of the tenant's local dates, never of instants:
DTSTART, UNTIL and every EXDATE are stored as midnight UTC of the local date they name ("20270302T000000Z"
is the local date 2 March 2027). That encoding survives django-recurrence's serialisation unchanged (it
writes everything as UTC), has no daylight-saving change inside it, so "every week" is always seven
calendar days, and keeps the wall-clock time out of the rule: an occurrence's instant is its local date at
the series' local start time in the tenant's zone (`occurrence_start`), so 10:00 stays 10:00 when the
clocks change. A wall time that does not exist (in the spring gap) moves to the end of the gap, as opening
hours do in `scheduling.availability.wallclock`.

The series' first date is its DTSTART; the rule's dates are counted from it, and the first date is a date
of the series only when the rule gives it (django-recurrence would add DTSTART as an extra date otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recurrence import FR, MO, SA, SU, TH, TU, WE, Recurrence, Rule
from recurrence.base import MONTHLY, WEEKLY

from scheduling.availability.wallclock import MIDNIGHT, local_span_to_interval

WEEKDAYS = (MO, TU, WE, TH, FR, SA, SU)


class Repeat:
    """How often a series repeats (the staff form's choices)."""

    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY_NTH_WEEKDAY = "monthly_nth_weekday"
    CHOICES = (WEEKLY, FORTNIGHTLY, MONTHLY_NTH_WEEKDAY)


def as_rule_datetime(day: date) -> datetime:
    """A local date as the rule stores it: midnight UTC of that date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_local_date(value: datetime | date) -> date:
    """The local date a rule datetime names (aware ones read in UTC, naive ones as they are)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    return value


def nth_weekday(day: date) -> int:
    """Which of its weekdays in the month `day` is: 1 to 4, or -1 for the last (a 5th is always last)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def series_rule(
    repeat: str, first_date: date, *, count: int | None = None, until: date | None = None
) -> Recurrence:
    """The rule for a series starting on `first_date`: weekly or fortnightly on its weekday, or monthly on
    its nth weekday ("2nd Tuesday"; a 5th weekday becomes "last"). Exactly one of `count` and `until`."""
    if (count is None) == (until is None):
        raise ValueError("give a count or an until date, not both or neither")
    if count is not None and count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if until is not None and until < first_date:
        raise ValueError(f"until {until} is before the first date {first_date}")
    weekday = WEEKDAYS[first_date.weekday()]
    end = {"count": count} if count is not None else {"until": as_rule_datetime(until)}  # type: ignore[arg-type]
    if repeat == Repeat.WEEKLY:
        rule = Rule(WEEKLY, interval=1, byday=[weekday], **end)
    elif repeat == Repeat.FORTNIGHTLY:
        rule = Rule(WEEKLY, interval=2, byday=[weekday], **end)
    elif repeat == Repeat.MONTHLY_NTH_WEEKDAY:
        rule = Rule(MONTHLY, interval=1, byday=[weekday(nth_weekday(first_date))], **end)
    else:
        raise ValueError(f"unknown repeat {repeat!r}")
    return Recurrence(dtstart=as_rule_datetime(first_date), rrules=[rule])


def rule_dates(
    recurrence: Recurrence, first_date: date, *, start: date | None = None, end: date | None = None
) -> list[date]:
    """The rule's local dates in [start, end] (either side open when None), counted from `first_date`,
    without its exdates. `first_date` is one of them only if the rule gives it."""
    rules = _rules(recurrence)
    if not rules.rrules and not rules.rdates:
        return []
    dtstart = as_rule_datetime(first_date)
    rruleset = rules.to_dateutil_rruleset(dtstart=dtstart)
    lo = as_rule_datetime(max(start, first_date) if start else first_date)
    if end is None:
        if not rule_is_bounded(recurrence):
            raise ValueError("an unbounded rule needs an end date")
        return [as_local_date(value) for value in rruleset if value >= lo]
    return [as_local_date(value) for value in rruleset.between(lo, as_rule_datetime(end), inc=True)]


def rule_is_bounded(recurrence: Recurrence) -> bool:
    """Whether every rule ends (a count or an until)."""
    return all(rule.count is not None or rule.until is not None for rule in recurrence.rrules)


def rule_last_date(recurrence: Recurrence, first_date: date) -> date | None:
    """The rule's last date (exdates aside, so an exdated end still ends it); None for an endless rule."""
    if not rule_is_bounded(recurrence):
        return None
    undated = Recurrence(rrules=recurrence.rrules, rdates=recurrence.rdates, include_dtstart=False)
    dates = rule_dates(undated, first_date)
    return dates[-1] if dates else None


def exdates(recurrence: Recurrence) -> set[date]:
    return {as_local_date(value) for value in recurrence.exdates}


def with_exdates(recurrence: Recurrence, days: Iterable[date]) -> Recurrence:
    """A copy of the rule with `days` taken out (already excluded ones once)."""
    taken = exdates(recurrence) | set(days)
    return _copy(recurrence, exdates=[as_rule_datetime(day) for day in sorted(taken)])


def without_exdates(recurrence: Recurrence, days: Iterable[date]) -> Recurrence:
    """A copy of the rule with `days` put back in (an occurrence booked at another time after all)."""
    kept = exdates(recurrence) - set(days)
    return _copy(recurrence, exdates=[as_rule_datetime(day) for day in sorted(kept)])


def ended_before(recurrence: Recurrence, day: date) -> Recurrence:
    """A copy of the rule that ends the day before `day` (UNTIL; a COUNT is replaced), keeping earlier
    dates as they were and the exdates before `day`."""
    until = as_rule_datetime(day - timedelta(days=1))
    rules = []
    for rule in recurrence.rrules:
        ends = rule.until if rule.until is not None and as_local_date(rule.until) < day else until
        kept = {param: getattr(rule, param) for param in Rule.byparams if getattr(rule, param)}
        rules.append(Rule(rule.freq, interval=rule.interval, wkst=rule.wkst, until=ends, **kept))
    excluded = [as_rule_datetime(d) for d in sorted(exdates(recurrence)) if d < day]
    return _copy(recurrence, rrules=rules, exdates=excluded)


def occurrence_start(day: date, start_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of `start_time` on the local date `day`: the wall time kept across DST; a time in
    the spring gap moves forward to the end of the gap, a repeated autumn time is its first occurrence."""
    span = local_span_to_interval(day, start_time.replace(second=0, microsecond=0), MIDNIGHT, zone)
    if span is None:  # a start at or after the day's last instant: only a time in a 23:xx gap does this
        raise ValueError(f"{start_time} does not fall on {day} in {zone}")
    return datetime.fromtimestamp(span[0], UTC)


def _rules(recurrence: Recurrence) -> Recurrence:
    """The rule without DTSTART as an extra date, whatever the field's include_dtstart says."""
    return Recurrence(
        rrules=recurrence.rrules,
        exrules=recurrence.exrules,
        rdates=recurrence.rdates,
        exdates=[as_rule_datetime(day) for day in exdates(recurrence)],
        include_dtstart=False,
    )


def _copy(recurrence: Recurrence, **changes: object) -> Recurrence:
    fields = {
        "dtstart": recurrence.dtstart,
        "dtend": recurrence.dtend,
        "rrules": list(recurrence.rrules),
        "exrules": list(recurrence.exrules),
        "rdates": list(recurrence.rdates),
        "exdates": list(recurrence.exdates),
        "include_dtstart": recurrence.include_dtstart,
        **changes,
    }
    return Recurrence(**fields)
