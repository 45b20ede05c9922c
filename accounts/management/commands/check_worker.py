from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from accounts.models import Tenant
from accounts.tasks import worker_probe


class Command(BaseCommand):
    help = "Sends a tenant-scoped probe task to the Celery workers and waits for the answer."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, tenant: str, timeout: float, **options) -> None:  # type: ignore[no-untyped-def]
        with scopes_disabled():
            found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        result = worker_probe.apply_async(kwargs={"tenant_id": found.pk}).get(timeout=timeout)
        self.stdout.write(str(result))
