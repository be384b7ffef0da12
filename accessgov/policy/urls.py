from django.urls import path

from accessgov.policy import views

app_name = "policy"

urlpatterns = [
    path("", views.show_manage_api, name="show_manage_api"),
    path("policy/", views.agree_policy, name="agree_policy"),
    path("access/off/", views.turn_off_api_access, name="turn_off_api_access"),
    path("contact/", views.set_security_contact, name="set_security_contact"),
    path("leaks/", views.set_leak_response, name="set_leak_response"),
    path("keys/", views.create_api_key, name="create_api_key"),
    path("keys/<int:key_id>/delete/", views.delete_api_key, name="delete_api_key"),
    path("keys/<int:key_id>/regenerate/", views.regenerate_api_key, name="regenerate_api_key"),
    path("keys/<int:key_id>/retire-old-secret/", views.retire_old_key_secret, name="retire_old_key_secret"),
    path("keys/<int:key_id>/suspend/", views.suspend_api_key, name="suspend_api_key"),
    path("keys/<int:key_id>/resume/", views.resume_api_key, name="resume_api_key"),
    path("lifetime/", views.set_lifetime_policy, name="set_lifetime_policy"),
]
