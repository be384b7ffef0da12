from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core.exceptions import ImproperlyConfigured


class AccessgovConfig(AppConfig):
    name = "accessgov"
    verbose_name = "API access"
    # This module also holds the admin's config below: "accessgov" in INSTALLED_APPS means this one.
    default = True

    def ready(self) -> None:
        # The app config is one of the two places (with the URLconf) that may import the REST edge.
        from accessgov.api import cache, checks
        from accessgov.core import catalogue

        try:
            # At start-up: a server never runs on an invalid catalogue (docs/catalogue.md).
            catalogue.load()
        except catalogue.CatalogueError as error:
            raise ImproperlyConfigured(str(error)) from error
        cache.connect_signals()
        checks.register()
        # Deleting an organization takes it out of trusted applications' authorizations too.
        from accessgov.audit.actions import organization_deleted
        from accessgov.trusted.models import drop_deleted_organization

        organization_deleted.connect(drop_deleted_organization, dispatch_uid="trusted-organization-deleted")


class VerifiedAdminConfig(admin_apps.AdminConfig):
    """Django's admin whose default site requires a verified second factor (accessgov.mfa.admin)."""

    default = False
    default_site = "accessgov.mfa.admin.VerifiedAdminSite"
