from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo tenants and their working day (`manage.py seed_demo`). Development and test settings only."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
