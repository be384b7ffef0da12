"""Sign-in through the operator's identity provider (OpenID Connect)."""

from django.urls import path

from accessgov.sso import views

app_name = "sso"

urlpatterns = [
    path("accounts/sso/", views.start_sso, name="start_sso"),
    path("accounts/sso/callback/", views.finish_sso, name="finish_sso"),
]
