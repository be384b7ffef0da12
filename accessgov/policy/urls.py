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
]
