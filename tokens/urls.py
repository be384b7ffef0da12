from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("", views.list_tokens, name="list_tokens"),
    path("new/", views.create_token, name="create_token"),
    path("<int:pk>/", views.show_token, name="show_token"),
    path("<int:pk>/edit/", views.edit_token, name="edit_token"),
    path("<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
    path("<int:pk>/suspend/", views.suspend_token, name="suspend_token"),
    path("<int:pk>/resume/", views.resume_token, name="resume_token"),
    path("<int:pk>/regenerate/", views.regenerate_secret, name="regenerate_secret"),
    path("<int:pk>/retire-old-secret/", views.retire_old_secret, name="retire_old_secret"),
    path("<int:pk>/renew/", views.renew_token, name="renew_token"),
    path("<int:pk>/narrow/", views.narrow_token, name="narrow_token"),
]
