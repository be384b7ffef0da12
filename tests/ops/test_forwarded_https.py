"""A loopback client on plain HTTP cannot claim HTTPS through headers gunicorn believes.

gunicorn sets wsgi.url_scheme to https for X-Forwarded-Proto, X-Forwarded-Ssl or
X-Forwarded-Protocol from 127.0.0.1 by default; the API decides from the socket instead, under
gunicorn's defaults and under deploy/gunicorn.conf.py alike. Attack catalogue case 4.
"""

import uuid

import httpx
import pytest
from django.core.cache.backends.redis import RedisCache

from tests.conftest import TEST_REDIS_URL, delete_redis_keys, trusting
from tests.ops.conftest import ROOT, AppServer, app_environment

pytestmark = [pytest.mark.ops]

CLAIMS = [
    {"X-Forwarded-Proto": "https"},
    {"X-Forwarded-Ssl": "on"},
    {"X-Forwarded-Protocol": "ssl"},
]


@pytest.mark.parametrize("config", ["gunicorn defaults", "deploy/gunicorn.conf.py"])
@pytest.mark.parametrize(
    "proxy_settings",
    [
        {"SECURE_PROXY_SSL_HEADER": "false"},  # gunicorn serves TLS itself, nothing in front
        {"SECURE_PROXY_SSL_HEADER": "true", "ACCESSGOV_TRUSTED_PROXIES": "10.0.0.2"},
    ],
    ids=["no proxy", "a proxy elsewhere"],
)
def test_a_loopback_client_on_plain_http_cannot_claim_https_with_forwarded_headers(
    config, proxy_settings, tmp_path
):
    prefix = f"ops-https-{uuid.uuid4().hex}"
    env = app_environment(
        database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # refused before any query
        redis_url=TEST_REDIS_URL,
        key_prefix=prefix,
    )
    env.pop("ACCESSGOV_TRUSTED_PROXIES")
    env.pop("FORWARDED_ALLOW_IPS", None)  # gunicorn's own default: 127.0.0.1,::1
    env.update(proxy_settings)
    options = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")] if config != "gunicorn defaults" else []
    server = AppServer(env=env, log_path=tmp_path / "app.log", options=options).start()
    try:
        with httpx.Client(base_url=server.base, timeout=15) as client:
            answers = [client.get("/api/v1/Me", headers=claim) for claim in CLAIMS]
    finally:
        server.stop()
        delete_redis_keys(RedisCache(TEST_REDIS_URL, {}), prefix)
    assert [answer.status_code for answer in answers] == [403] * len(CLAIMS), server.log()
    assert {answer.json()["Error"]["Code"] for answer in answers} == {"https_required"}


def test_gunicorn_serving_tls_itself_passes_the_https_rule(certificate_authority, ca_file, tmp_path):
    cert = certificate_authority.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    prefix = f"ops-https-{uuid.uuid4().hex}"
    env = app_environment(
        database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        redis_url=TEST_REDIS_URL,
        key_prefix=prefix,
        SECURE_PROXY_SSL_HEADER="false",
    )
    env.pop("ACCESSGOV_TRUSTED_PROXIES")
    options = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    options += ["--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "key.pem")]
    server = AppServer(env=env, log_path=tmp_path / "app.log", options=options).start()
    try:
        with httpx.Client(verify=trusting(ca_file), timeout=15) as client:
            answer = client.get(f"https://127.0.0.1:{server.port}/api/v1/Me")
    finally:
        server.stop()
        delete_redis_keys(RedisCache(TEST_REDIS_URL, {}), prefix)
    # Past the HTTPS rule: refused for the missing credential, not for the transport.
    assert answer.status_code == 401, server.log()
    assert answer.json()["Error"]["Code"] != "https_required"
