from .views import dashboard, exports

app_name = "reporting"

urlpatterns = [*dashboard.urls, *exports.urls]
