"""Registration only: Django finds the app's models here. Nobody imports this module; import the
models from their floor (accessgov.policy.models, accessgov.audit.models, accessgov.trusted.models)."""

from accessgov.audit.models import AuditEvent  # noqa: F401
from accessgov.core.models import OutgoingMail  # noqa: F401
from accessgov.gateway.models import GatewayKey  # noqa: F401
from accessgov.operator.models import Invitation, OperatorKey  # noqa: F401
from accessgov.policy.models import (  # noqa: F401
    ApiKey,
    ApiUser,
    LifetimePolicy,
    PolicyAcceptance,
    PolicyVersion,
)
from accessgov.sso.models import ProviderAccount  # noqa: F401
from accessgov.trusted.models import (  # noqa: F401
    TrustedApplication,
    TrustedApplicationAuthorization,
    TrustedApplicationToken,
)
from accessgov.usage.models import CredentialAddress, CredentialUsage  # noqa: F401
