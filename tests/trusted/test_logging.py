"""Debug logging never carries an authorization code, an access token or a refresh token."""

import copy
import io
import logging.config

from django.conf import settings
from django.test import Client

from tests.trusted.conftest import authorize, exchange, make_pkce, refresh


def test_with_the_log_level_at_debug_no_code_or_token_reaches_the_log(
    admin_client, enabled_tenant, app, contoso
):
    """What LOG_LEVEL=DEBUG configures: the project's LOGGING with the root logger at DEBUG."""
    log = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["root"]["level"] = "DEBUG"
    config["handlers"]["console"]["stream"] = log
    logging.config.dictConfig(config)
    try:
        pkce = make_pkce()
        code = authorize(admin_client, app, pkce, [contoso])
        first = exchange(Client(), app, code, pkce.verifier).json()
        second = refresh(Client(), app, first["refresh_token"]).json()
        me = Client().get(
            "/api/v1/Me", headers={"Authorization": f"Bearer {second['access_token']}"}, secure=True
        )
        assert me.status_code == 200
        logging.getLogger("accessgov").debug("debug log is on")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    written = log.getvalue()
    assert "DEBUG accessgov debug log is on" in written
    secrets = [
        code,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    ]
    for secret in secrets:
        assert secret not in written
    assert "agat_" not in written and "agrt_" not in written
