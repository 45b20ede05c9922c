"""Seeds two demo tenants on *.localhost host names with staff in every role. Safe to run twice."""

from __future__ import annotations

import os
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scope, scopes_disabled

from accounts.models import Role, Skill, Team, Tenant, User
from accounts.services import member_add, officer_create, tenant_create
from demo.diaries import seed_diaries
from demo.history import seed_history
from demo.places import place_of, seed_gazetteer
from demo.programme import seed_programme
from demo.scheduling import seed_scheduling
from demo.series import seed_series

DEMO_PASSWORD = "demo-password"
OPERATOR_EMAIL = "operator@bookings.example"

DEMO_TENANTS = [
    {"name": "Northshire Council", "slug": "northshire", "hosts": ["northshire.localhost"]},
    {
        "name": "Southvale Regulatory Agency",
        "slug": "southvale",
        "hosts": ["southvale.localhost"],
        "welsh": True,
    },
]

OFFICERS = [
    ("Alex Morgan", ["Food hygiene"], "Environmental Health"),
    ("Sam Patel", ["Food hygiene", "Health and safety"], "Environmental Health"),
    ("Jordan Lee", ["Licensing"], "Licensing"),
    ("Priya Shah", ["Health and safety"], "Environmental Health"),
]
# Where each officer lives (a town-centre postcode of the demo gazetteer, by outward code's number: "NS3",
# "SV3"); `seed_scheduling` starts some of their days at the office instead.
OFFICER_HOME_DISTRICTS = [3, 4, 2, 5]


class Command(BaseCommand):
    help = "Creates the demo tenants, their staff and configuration, unless they already exist."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="Seed even though DEBUG is off (`make run` serves the way production does, with demo data).",
        )
        parser.add_argument(
            "--without-diaries",
            action="store_true",
            help="Tenants, staff and configuration only, no bookings (fast; for tests of the configuration).",
        )
        parser.add_argument(
            "--without-history",
            action="store_true",
            help="The diaries without the months of past work the reports show (for tests of the diaries).",
        )

    def handle(  # type: ignore[no-untyped-def]
        self,
        *args,
        not_production: bool = False,
        without_diaries: bool = False,
        without_history: bool = False,
        **options,
    ) -> None:
        # The demo accounts share one published password, and the platform operator among them can create
        # tenants: never let them appear on a real deployment by accident.
        if not settings.DEBUG and not not_production:
            raise CommandError(
                "seed_demo creates accounts with a published password and refuses to run with DEBUG off. "
                "On a machine that is not production, pass --i-know-this-is-not-production."
            )
        for spec in DEMO_TENANTS:
            with scopes_disabled():
                exists = Tenant.objects.filter(slug=spec["slug"]).exists()
            if exists:
                self.stdout.write(f"{spec['name']}: already seeded")
                continue
            self._seed(spec, diaries=not without_diaries, history=not without_history)
            self.stdout.write(self.style.SUCCESS(f"{spec['name']}: seeded"))
        self._seed_operator()
        self._print_logins()

    def _seed_operator(self) -> None:
        if not User.objects.filter(email=OPERATOR_EMAIL).exists():
            User.objects.create_superuser(OPERATOR_EMAIL, DEMO_PASSWORD, full_name="Platform operator")

    @transaction.atomic
    def _seed(self, spec: dict, *, diaries: bool, history: bool) -> None:
        tenant = tenant_create(name=spec["name"], slug=spec["slug"], hosts=spec["hosts"])
        if spec.get("welsh"):
            tenant.welsh_enabled = True
            tenant.save(update_fields=["welsh_enabled"])
        domain = spec["slug"]
        with scope(tenant=tenant):
            seed_gazetteer(tenant)
            for role, local in [
                (Role.ADMINISTRATOR, "admin"),
                (Role.CUSTOMER_SERVICE, "service"),
                (Role.MANAGER, "manager"),
            ]:
                member_add(
                    tenant=tenant,
                    email=f"{local}@{domain}.example",
                    full_name=f"{role.label} ({spec['name']})",
                    role=role,
                    password=DEMO_PASSWORD,
                )
            skills = {
                name: Skill.objects.create(tenant=tenant, name=name)
                for name in ["Food hygiene", "Health and safety", "Licensing"]
            }
            teams = {
                name: Team.objects.create(tenant=tenant, name=name)
                for name in ["Environmental Health", "Licensing"]
            }
            area = "NS" if spec["slug"] == "northshire" else "SV"
            for index, (name, skill_names, team) in enumerate(OFFICERS, start=1):
                home = f"{area}{OFFICER_HOME_DISTRICTS[index - 1]} 1AA"
                officer = officer_create(
                    tenant=tenant,
                    email=f"officer{index}@{domain}.example",
                    full_name=name,
                    skills=[skills[s] for s in skill_names],
                    team=teams[team],
                    home_base=home,
                    password=DEMO_PASSWORD,
                )
                if place := place_of(tenant, home):
                    officer.home_latitude = Decimal(f"{place.point.latitude:.6f}")
                    officer.home_longitude = Decimal(f"{place.point.longitude:.6f}")
                    officer.save(update_fields=["home_latitude", "home_longitude"])
            seed_scheduling(tenant)
            seed_programme(tenant)
            if diaries:
                seed_diaries(tenant)
                seed_series(tenant)
                if history:
                    seed_history(tenant)

    def _print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        port = os.environ.get("PORT", "8000")  # as `make run` binds
        self.stdout.write(f"  Platform admin: http://localhost:{port}/admin/  {OPERATOR_EMAIL}")
        for spec in DEMO_TENANTS:
            host = spec["hosts"][0]
            self.stdout.write(
                f"  {spec['name']}: http://{host}:{port}/  (staff: http://{host}:{port}/staff/)"
            )
            for local in ["admin", "service", "manager", "officer1"]:
                self.stdout.write(f"    {local}@{spec['slug']}.example")
