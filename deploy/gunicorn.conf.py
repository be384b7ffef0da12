"""gunicorn settings for accessgov: `gunicorn -c deploy/gunicorn.conf.py accessgov.wsgi -w 4 -b ...`.

gunicorn on its own believes X-Forwarded-Proto, X-Forwarded-Ssl and X-Forwarded-Protocol (and sets
wsgi.url_scheme to https for them) from any peer in forwarded_allow_ips, 127.0.0.1 and ::1 by
default: a process on the same machine could then claim HTTPS for the console. Here gunicorn
believes forwarded headers only from ACCESSGOV_TRUSTED_PROXIES, and only X-Forwarded-Proto, the
header SECURE_PROXY_SSL_HEADER names; with ACCESSGOV_TRUSTED_PROXIES unset it believes none. The
API does not rely on this (accessgov.api.middleware.came_over_tls reads the socket), the console's
request.is_secure() does.
"""

import os

_trusted = os.environ.get("ACCESSGOV_TRUSTED_PROXIES", "").strip()

forwarded_allow_ips = _trusted
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"} if _trusted else {}
