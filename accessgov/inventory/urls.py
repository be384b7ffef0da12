from django.urls import path

from accessgov.inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.list_credentials, name="list_credentials"),
    path("export.csv", views.export_credentials, name="export_credentials"),
]
