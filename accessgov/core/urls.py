"""The project's own pages outside any tenant: the health probe and sign-out (sign-in: accessgov.mfa)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accessgov.core import views

app_name = "core"

urlpatterns = [
    path("healthz", views.check_health, name="check_health"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="sign_out"),
]
