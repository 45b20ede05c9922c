"""`manage.py import_gazetteer --tenant <slug or host> FILE [--replace]`: a tenant's gazetteer from CSV,
all of it or nothing (see `integrations.services.gazetteer_import` for the columns)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from accounts.models import Domain, Tenant
from integrations.services import GazetteerImportError, gazetteer_import


class Command(BaseCommand):
    help = "Imports places (postcodes or addresses with latitude and longitude) into a tenant's gazetteer."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "file", help="CSV with columns key (or postcode/address), label, latitude, longitude"
        )
        parser.add_argument("--tenant", required=True, help="the tenant's slug or one of its host names")
        parser.add_argument("--replace", action="store_true", help="remove the places the file does not name")

    def handle(self, *args, file: str, tenant: str, replace: bool = False, **options) -> None:  # type: ignore[no-untyped-def]
        found = self._tenant(tenant)
        try:
            with open(file, "rb") as csv_file:
                result = gazetteer_import(tenant=found, file=csv_file, actor=None, replace=replace)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        except GazetteerImportError as error:
            more = error.count - len(error.errors)
            lines = [*error.errors, *([f"... and {more} more"] if more > 0 else [])]
            raise CommandError("Nothing was imported:\n" + "\n".join(lines)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{found.name}: {result.rows} rows; {result.created} added, {result.updated} changed, "
                f"{result.unchanged} unchanged, {result.deleted} removed."
            )
        )

    def _tenant(self, name: str) -> Tenant:
        with scopes_disabled():
            tenant = (
                Tenant.objects.filter(slug=name).first()
                or Tenant.objects.filter(
                    pk__in=Domain.objects.filter(host=name.lower()).values("tenant")
                ).first()
            )
        if tenant is None:
            raise CommandError(f"No tenant has the slug or host name {name!r}.")
        return tenant
