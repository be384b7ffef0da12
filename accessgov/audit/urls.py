from django.urls import path

from accessgov.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.list_events, name="list_events"),
]
