from django.apps import AppConfig
from django.db.models.signals import post_save


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from bookings.models import Booking, BookingAssignment, BookingEvent

        from .models import CalendarConnection
        from .receivers import booking_row_saved, booking_saved, connection_saved

        post_save.connect(booking_saved, sender=Booking, dispatch_uid="integrations.push.booking")
        post_save.connect(
            booking_row_saved, sender=BookingAssignment, dispatch_uid="integrations.push.assignment"
        )
        post_save.connect(booking_row_saved, sender=BookingEvent, dispatch_uid="integrations.push.event")
        post_save.connect(
            connection_saved, sender=CalendarConnection, dispatch_uid="integrations.disconnected"
        )
