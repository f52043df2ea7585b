from django.urls import path

from apps.greeter.rest import views

app_name = "greeter"

urlpatterns = [
    path("", views.GreeterRootView.as_view(), name="api-root"),
    path("greet", views.GreetView.as_view(), name="greet"),
    path("greetings/counts/", views.GreetingCountsView.as_view(), name="greeting-counts"),
    path("newcomers/", views.NewcomerRegistrationView.as_view(), name="newcomer-register"),
    path("newcomers/me/", views.NewcomerMeView.as_view(), name="newcomer-me"),
]
