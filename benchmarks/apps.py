from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Benchmarks, load drivers and their scratch tenants. Development and test settings only."""

    name = "benchmarks"
    default_auto_field = "django.db.models.BigAutoField"
