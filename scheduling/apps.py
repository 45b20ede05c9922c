from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from accounts.signals import tenant_created

        from .receivers import tenant_created_give_defaults

        tenant_created.connect(tenant_created_give_defaults, dispatch_uid="scheduling.tenant_defaults")
