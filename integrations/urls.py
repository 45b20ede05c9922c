from .views import calendar

app_name = "integrations"

urlpatterns = []
urlpatterns += calendar.urls
