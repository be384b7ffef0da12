"""System checks of the Webhook API's settings."""

from django.core import checks

from webhooks.delivery import loopback_allowed


@checks.register(checks.Tags.security, deploy=True)
def check_loopback_switch_is_off(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warn on `check --deploy` when webhooks may reach loopback addresses (a test-only switch)."""
    if not loopback_allowed():
        return []
    return [
        checks.Warning(
            "ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY is on: webhook destinations may reach "
            "this machine's loopback services on any port.",
            hint="Unset it in production; it exists for the test receiver and local demos only.",
            id="webhooks.W001",
        )
    ]
