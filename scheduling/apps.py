from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import Tenant
        from accounts.signals import tenant_created

        from .receivers import (
            SUPPLY_LINKS,
            SUPPLY_MODELS,
            supply_links_changed,
            supply_row_changed,
            tenant_created_give_defaults,
            tenant_saved,
        )

        tenant_created.connect(tenant_created_give_defaults, dispatch_uid="scheduling.tenant_defaults")
        for model in SUPPLY_MODELS:
            post_save.connect(
                supply_row_changed, sender=model, dispatch_uid=f"scheduling.supply.{model.__name__}"
            )
            post_delete.connect(
                supply_row_changed, sender=model, dispatch_uid=f"scheduling.supply-.{model.__name__}"
            )
        for link in SUPPLY_LINKS:
            m2m_changed.connect(
                supply_links_changed, sender=link, dispatch_uid=f"scheduling.links.{link.__name__}"
            )
        post_save.connect(tenant_saved, sender=Tenant, dispatch_uid="scheduling.supply.tenant")
