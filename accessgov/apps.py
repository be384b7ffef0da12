from django.apps import AppConfig


class AccessgovConfig(AppConfig):
    name = "accessgov"
    verbose_name = "API access"
