from django.apps import AppConfig
from django.db.models.signals import post_save


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from accounts.models import Officer
        from scheduling.models import Absence

        from .receivers import absence_saved, officer_saved

        post_save.connect(absence_saved, sender=Absence, dispatch_uid="bookings.conflicts.absence")
        post_save.connect(officer_saved, sender=Officer, dispatch_uid="bookings.conflicts.officer")
