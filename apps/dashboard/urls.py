from django.urls import path

from apps.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.DashboardPage.as_view(), name="page"),
    path("api/city/status/", views.CityStatusView.as_view(), name="status"),
]
