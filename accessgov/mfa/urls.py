"""Sign-in (both steps) and the signed-in user's own second factor."""

from django.urls import path

from accessgov.mfa import views

app_name = "mfa"

urlpatterns = [
    path("accounts/login/", views.sign_in, name="sign_in"),
    path("accounts/login/verify/", views.verify_sign_in, name="verify_sign_in"),
    path("accounts/mfa/", views.manage_mfa, name="manage_mfa"),
    path("accounts/mfa/totp/", views.add_totp, name="add_totp"),
    path("accounts/mfa/totp/confirm/", views.confirm_totp, name="confirm_totp"),
    path("accounts/mfa/remove/", views.remove_mfa, name="remove_mfa"),
]
