"""Registration only: Django's admin autodiscovery imports this module, which registers each floor's
admin classes. Nobody else imports it."""

import accessgov.audit.admin  # noqa: F401
import accessgov.gateway.admin  # noqa: F401
import accessgov.operator.admin  # noqa: F401
import accessgov.policy.admin  # noqa: F401
import accessgov.trusted.admin  # noqa: F401
