"""Where an officer's day starts and ends: the pattern's own points, else the officer's home base."""

from __future__ import annotations

from datetime import date

from django_scopes import scope

from scheduling.routing.problem import Point
from scheduling.selectors import officer_day_bases
from tests.factories import OfficerFactory
from tests.scheduling.factories import WorkingPatternFactory


def test_pattern_points_win_over_home_and_end_defaults_to_start(
    tenant, other_tenant, django_assert_num_queries
):
    home = OfficerFactory(
        tenant=tenant, home_base="Home", home_latitude="54.300000", home_longitude="-1.400000"
    )
    WorkingPatternFactory(
        tenant=tenant, officer=home, valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 3)
    )
    WorkingPatternFactory(
        tenant=tenant,
        officer=home,
        valid_from=date(2026, 3, 4),
        start_label="Office",
        start_latitude=54.35,
        start_longitude=-1.45,
    )
    nowhere = OfficerFactory(tenant=tenant)
    WorkingPatternFactory(tenant=tenant, officer=nowhere, valid_from=date(2026, 3, 1))
    theirs = OfficerFactory(tenant=other_tenant, home_latitude="1", home_longitude="1")
    WorkingPatternFactory(tenant=other_tenant, officer=theirs, valid_from=date(2026, 3, 1))

    with scope(tenant=tenant), django_assert_num_queries(2):
        bases = officer_day_bases([home.pk, nowhere.pk, theirs.pk], date(2026, 3, 2), date(2026, 3, 5))

    assert bases[(home.pk, date(2026, 3, 3))].start.point == Point(54.3, -1.4)
    assert bases[(home.pk, date(2026, 3, 3))].end.label == "Home"
    office = bases[(home.pk, date(2026, 3, 4))]
    assert office.start.point == office.end.point == Point(54.35, -1.45)
    assert bases[(nowhere.pk, date(2026, 3, 5))].start is None
    assert (home.pk, date(2026, 3, 1)) not in bases  # outside the days asked for
    assert not any(officer == theirs.pk for officer, _ in bases)  # another tenant's officer is never read
