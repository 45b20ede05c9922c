"""`manage.py bench_travel_aware` at a tiny size: it compares the two runs as JSON on its last line, the
travel-aware run never leaves a visit unreachable, and the scratch tenant is gone afterwards."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from accounts.models import Tenant, User

pytestmark = pytest.mark.django_db(transaction=True)

KEYS = {
    "visits",
    "officers",
    "placed_without",
    "placed_with",
    "travel_km_per_visit_without",
    "travel_km_per_visit_with",
    "reduction_pct",
    "unreachable_without",
    "unreachable_with",
    "seconds",
}


def test_bench_travel_aware_reports_both_runs_and_deletes_its_tenant() -> None:
    out = StringIO()
    call_command("bench_travel_aware", "--officers", "2", "--customers", "8", "--seed", "3", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(result) == KEYS
    assert (result["visits"], result["officers"]) == (8, 2)
    assert result["placed_without"] == result["placed_with"] == 8
    assert result["unreachable_with"] == 0
    assert result["travel_km_per_visit_without"] > 0 and result["travel_km_per_visit_with"] > 0
    with scopes_disabled():
        assert not Tenant.objects.filter(domain_set__host__endswith=".bench.invalid").exists()
        assert not User.objects.filter(email__endswith=".bench.invalid").exists()
