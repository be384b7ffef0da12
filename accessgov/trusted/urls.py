from django.urls import path

from accessgov.trusted import views

app_name = "trusted"

urlpatterns = [
    path("", views.list_applications, name="list_applications"),
    path("authorize/", views.authorize_application, name="authorize_application"),
    path("<int:pk>/", views.show_authorization, name="show_authorization"),
    path("<int:pk>/revoke/", views.revoke_authorization, name="revoke_authorization"),
]
