from django.apps import AppConfig


class AccessgovConfig(AppConfig):
    name = "accessgov"
    verbose_name = "API access"

    def ready(self) -> None:
        # The app config is one of the two places (with the URLconf) that may import the REST edge.
        from accessgov.api import cache, checks

        cache.connect_signals()
        checks.register()
