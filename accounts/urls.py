from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    path("staff/officers/", views.officer_list, name="officer-list"),
    path("staff/officers/<int:officer_id>/", views.officer_detail, name="officer-detail"),
]
