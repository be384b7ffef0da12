"""The test provider's WSGI application (gunicorn tests.sso.provider.wsgi)."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
