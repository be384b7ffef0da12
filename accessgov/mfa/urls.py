"""Sign-in (both steps) and the signed-in user's own second factor."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from accessgov.mfa import views

app_name = "mfa"

urlpatterns = [
    path("accounts/login/", views.sign_in, name="sign_in"),
    path("accounts/login/verify/", views.verify_sign_in, name="verify_sign_in"),
    path("accounts/mfa/", views.manage_mfa, name="manage_mfa"),
    path("accounts/mfa/totp/", views.add_totp, name="add_totp"),
    path("accounts/mfa/totp/confirm/", views.confirm_totp, name="confirm_totp"),
    path("accounts/mfa/recovery-codes/", views.make_recovery_codes, name="make_recovery_codes"),
    path("accounts/mfa/remove/", views.remove_mfa, name="remove_mfa"),
    path("accounts/mfa/passkeys/remove/", views.remove_passkey, name="remove_passkey"),
    path("accounts/mfa/passkeys/begin/", views.begin_passkey_registration, name="begin_passkey_registration"),
    path(
        "accounts/mfa/passkeys/complete/",
        views.complete_passkey_registration,
        name="complete_passkey_registration",
    ),
    path("accounts/login/passkey/begin/", views.begin_passkey_sign_in, name="begin_passkey_sign_in"),
    path("accounts/login/passkey/complete/", views.complete_passkey_sign_in, name="complete_passkey_sign_in"),
    # The messages django-otp-webauthn's browser script shows (it calls gettext()).
    path(
        "accounts/passkeys/messages.js",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="passkey_messages",
    ),
]
