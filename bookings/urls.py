from django.urls import path

from . import views

app_name = "bookings"

urlpatterns = [
    path("", views.portal_home, name="portal-home"),
]
