"""Prepare the test provider's database: `python -m tests.sso.provider.setup USERS_JSON CLIENT_JSON`.

USERS_JSON: [{"username", "password"}]; CLIENT_JSON: {"client_id", "client_secret", "redirect_uris"}.
"""

import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

users, client = json.loads(sys.argv[1]), json.loads(sys.argv[2])
call_command("migrate", verbosity=0)
for user in users:
    get_user_model().objects.create_user(username=user["username"], password=user["password"])
Application.objects.create(
    name="accessgov",
    client_id=client["client_id"],
    client_secret=client["client_secret"],
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris=" ".join(client["redirect_uris"]),
    algorithm=Application.RS256_ALGORITHM,
    skip_authorization=False,
)
