from django.apps import AppConfig


class AccessgovConfig(AppConfig):
    name = "accessgov"
    verbose_name = "API access"

    def ready(self) -> None:
        from accessgov import credentials

        credentials.connect_signals()
