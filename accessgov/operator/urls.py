"""The invitation link and the page it leads to."""

from django.urls import path

from accessgov.operator import views

app_name = "operator"

urlpatterns = [
    path("invitations/accept/", views.accept_invitation, name="accept_invitation"),
    # Opened from the mail: the token is moved into the session, and the page above has no token.
    path("invitations/<str:token>/", views.open_invitation, name="open_invitation"),
]
