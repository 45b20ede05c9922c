from django.urls import path

from .views import allocation, blocks, customer_service, desk, diary, home, series, survey, unreachable
from .views import portal as views

app_name = "bookings"

urlpatterns = [
    path("", views.portal_home, name="portal-home"),
    path("services/<slug:slug>/", views.service_slots, name="service"),
    path("services/<slug:slug>/hold/", views.service_hold, name="hold"),
    path("book/<str:reference>/details/", views.booking_details, name="details"),
    path("book/<str:reference>/confirmed/", views.booking_confirmation, name="confirmation"),
    path("book/<str:reference>/calendar.ics", views.booking_calendar_file, name="calendar-file"),
    path("manage/", views.find_booking, name="find"),
    path("manage/code/", views.verify_code, name="verify-code"),
    path("manage/<str:token>/", views.manage_booking, name="manage"),
    path("manage/<str:token>/calendar.ics", views.manage_calendar_file, name="manage-calendar-file"),
    path("manage/<str:token>/reschedule/", views.manage_reschedule, name="manage-reschedule"),
    path("manage/<str:token>/cancel/", views.manage_cancel, name="manage-cancel"),
]

urlpatterns += survey.urls
urlpatterns += home.urls
urlpatterns += diary.urls
urlpatterns += customer_service.urls
urlpatterns += desk.urls
urlpatterns += unreachable.urls
urlpatterns += blocks.urls
urlpatterns += series.urls
urlpatterns += allocation.urls
