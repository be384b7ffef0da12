from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.show_webhooks, name="show_webhooks"),
    path("domains/add/", views.add_domain, name="add_domain"),
    path("domains/<int:domain_id>/remove/", views.remove_domain, name="remove_domain"),
    path("destinations/add/", views.add_destination, name="add_destination"),
    path("destinations/<int:destination_id>/", views.show_destination, name="show_destination"),
    path("destinations/<int:destination_id>/edit/", views.edit_destination, name="edit_destination"),
    path("destinations/<int:destination_id>/delete/", views.delete_destination, name="delete_destination"),
    path("destinations/<int:destination_id>/secret/", views.reveal_secret, name="reveal_secret"),
    path("destinations/<int:destination_id>/secret/rotate/", views.rotate_secret, name="rotate_secret"),
    path(
        "destinations/<int:destination_id>/secret/retire-old/",
        views.retire_old_secret,
        name="retire_old_secret",
    ),
    path("destinations/<int:destination_id>/test/", views.send_test, name="send_test"),
    path("destinations/<int:destination_id>/enable/", views.enable_destination, name="enable_destination"),
    path("destinations/<int:destination_id>/replay/", views.replay_deliveries, name="replay_deliveries"),
    path(
        "destinations/<int:destination_id>/deliveries/<int:delivery_id>/",
        views.show_delivery,
        name="show_delivery",
    ),
    path(
        "destinations/<int:destination_id>/deliveries/<int:delivery_id>/redeliver/",
        views.redeliver_delivery,
        name="redeliver_delivery",
    ),
]
