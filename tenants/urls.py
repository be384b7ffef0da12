from django.urls import path

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("", views.list_tenants, name="list_tenants"),
    path("t/<slug:tenant_slug>/", views.show_tenant, name="show_tenant"),
]
