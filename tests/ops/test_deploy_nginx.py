"""deploy/nginx/accessgov.conf, as shipped, in front of accessgov under gunicorn with deploy/gunicorn.conf.py.

Debian's nginx (bin/bootstrap test installs it) checks the site with `nginx -t`, then serves it on
loopback with a test certificate: the console and its static files, the API, plain HTTP redirected
or refused, /admin/ and /gateway/v1/ only from their networks. Only what a server's copy would
change is rewritten (ports, certificate paths, the app servers, the static directory, and the two
placeholder networks, set to loopback addresses the client connects from); each rewrite must find
its line, so a reshaped site file fails here instead of going untested. The app server runs with
the environment deploy/accessgov.env asks for behind this site (SECURE_PROXY_SSL_HEADER=true,
ACCESSGOV_TRUSTED_PROXIES=nginx's address) on the suite's PostgreSQL and Redis.
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from tests.conftest import basic_auth, trusting
from tests.factories import ThirdPartyTokenFactory
from tests.gateway.conftest import require_binary
from tests.ops.conftest import (
    ROOT,
    AppServer,
    app_environment,
    free_port,
    manage,
    stop_process,
    suite_database_url,
    wait_for_port,
)

pytestmark = [pytest.mark.ops]

SITE = ROOT / "deploy" / "nginx" / "accessgov.conf"
# Loopback addresses the test connects from, standing in for the site's placeholder networks.
STAFF_ADDRESS = "127.0.0.2"
GATEWAY_ADDRESS = "127.0.0.3"


def rewrite(text: str, old: str, new: str) -> str:
    """Return TEXT with every OLD replaced by NEW; fail if the site no longer contains OLD."""
    assert old in text, f"deploy/nginx/accessgov.conf no longer contains {old!r}: update this test"
    return text.replace(old, new)


def render_site(
    *, https_port: int, http_port: int, app_port: int, cert: Path, key: Path, static: Path
) -> str:
    """Return the shipped site with what a server's copy changes set for this machine."""
    site = SITE.read_text()
    site = rewrite(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = rewrite(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = "\n".join(line for line in site.splitlines() if "listen [::]:" not in line)
    site = rewrite(site, "server_name accessgov.example.com;", "server_name 127.0.0.1;")
    site = rewrite(site, "/etc/accessgov/tls/fullchain.pem", str(cert))
    site = rewrite(site, "/etc/accessgov/tls/privkey.pem", str(key))
    site = rewrite(site, "server 10.0.0.11:8001", f"server 127.0.0.1:{app_port}")
    site = rewrite(site, "server 10.0.0.12:8001", f"server 127.0.0.1:{app_port}")
    site = rewrite(site, "alias /srv/accessgov/var/static/;", f"alias {static}/;")
    site = rewrite(site, "allow 192.0.2.0/24;", f"allow {STAFF_ADDRESS}/32;")
    return rewrite(site, "allow 198.51.100.0/24;", f"allow {GATEWAY_ADDRESS}/32;")


def main_config(directory: Path, site: Path) -> str:
    """Return a standalone nginx.conf that includes SITE the way Debian's includes sites-enabled/."""
    return f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {site};
}}
"""


@dataclass
class Site:
    https_port: int
    http_port: int
    ca_file: str
    directory: Path

    def client(self, *, source: str = "127.0.0.1", **kwargs) -> httpx.Client:
        transport = httpx.HTTPTransport(verify=trusting(self.ca_file), local_address=source)
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.https_port}", transport=transport, timeout=15, **kwargs
        )

    def log(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.directory.glob("*.log"))
        )


@pytest.fixture(scope="module")
def site(django_db_setup) -> Iterator[Site]:
    """Serve the shipped site with nginx in front of one gunicorn app server, for this module.

    The app server reaches the suite's test database; a test that needs rows asks for
    `transactional_db`, so what it makes is committed and the server sees it.
    """
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI runs this on the machine's PostgreSQL)")
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("needs Redis: set REDIS_URL (CI runs this on the machine's Redis)")
    nginx = require_binary("nginx")
    directory = Path(tempfile.mkdtemp(prefix="accessgov-deploy-nginx-"))
    # nginx's workers run as nobody when the master is root: they read the static files and certificates.
    directory.chmod(0o755)
    static = directory / "static"
    certificate_authority = trustme.CA()
    certificate_authority.cert_pem.write_to_path(str(directory / "ca.pem"))
    cert = certificate_authority.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    env = app_environment(
        database_url=suite_database_url(),
        redis_url=settings.CACHES["default"]["LOCATION"],
        key_prefix=settings.CACHES["default"]["KEY_PREFIX"],
        STATIC_ROOT=str(static),
        # The site sets X-Forwarded-Proto and X-Forwarded-For; nginx connects from 127.0.0.1.
        SECURE_PROXY_SSL_HEADER="true",
        ACCESSGOV_TRUSTED_PROXIES="127.0.0.1",
    )
    manage(env, "collectstatic", "--no-input", "-v", "0")
    app = AppServer(
        env=env, log_path=directory / "app.log", options=["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    )
    https_port, http_port = free_port(), free_port()
    site_file = directory / "accessgov.conf"
    site_file.write_text(
        render_site(
            https_port=https_port,
            http_port=http_port,
            app_port=app.port,
            cert=directory / "cert.pem",
            key=directory / "key.pem",
            static=static,
        )
    )
    config = directory / "nginx.conf"
    config.write_text(main_config(directory, site_file))
    command = [nginx, "-e", "stderr", "-p", str(directory), "-c", str(config)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    process = None
    served = Site(
        https_port=https_port, http_port=http_port, ca_file=str(directory / "ca.pem"), directory=directory
    )
    try:
        app.start()
        with open(directory / "nginx.log", "ab") as log:
            process = subprocess.Popen(
                command, cwd=directory, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for_port(https_port, process=process)
        wait_for_port(http_port, process=process)
        yield served
    finally:
        if process is not None:
            stop_process(process)
        app.stop()
        if os.environ.get("ACCESSGOV_KEEP_DEPLOY_LOGS") == "1":
            print(f"\nnginx deploy test logs kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def test_the_console_and_its_static_files_are_served_over_tls(site):
    with site.client() as client:
        sign_in = client.get("/", follow_redirects=True)
        assert sign_in.status_code == 200, site.log()
        assert sign_in.url.path == "/accounts/login/"
        # accessgov believed the proxy's X-Forwarded-Proto: HSTS is sent on HTTPS only.
        assert "max-age=31536000" in sign_in.headers["Strict-Transport-Security"]
        assert sign_in.headers["Server"].startswith("nginx")
        css = client.get("/static/css/console.css")
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.content == (ROOT / "static" / "css" / "console.css").read_bytes()


def test_the_api_answers_a_credential_through_the_site(site, transactional_db, enabled_tenant):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    with site.client() as client:
        answer = client.get(
            "/api/v1/Me",
            headers={
                "Authorization": basic_auth(token.token_id, token.secret),
                # A client's own forwarded headers are overwritten by the site, never believed.
                "X-Forwarded-For": "203.0.113.77",
            },
        )
        refused = client.get("/api/v1/Me")
    assert answer.status_code == 200, site.log()
    assert answer.json()
    assert refused.status_code == 401
    assert refused.json()["Error"]["Code"]


def test_plain_http_redirects_the_console_and_refuses_the_api_without_a_redirect(site):
    with httpx.Client(base_url=f"http://127.0.0.1:{site.http_port}", timeout=15) as client:
        console = client.get("/tokens/")
        api = client.get("/api/v1/Me", headers={"X-Forwarded-Proto": "https"})
    assert console.status_code == 301
    assert console.headers["Location"] == "https://127.0.0.1/tokens/"
    assert api.status_code == 403, site.log()
    assert api.json()["Error"]["Code"] == "https_required"


def test_admin_is_reachable_only_from_the_staff_network(site):
    with site.client() as outsider:
        refused = outsider.get("/admin/")
    with site.client(source=STAFF_ADDRESS) as staff:
        reached = staff.get("/admin/")
    # nginx's own refusal: the request never reached accessgov.
    assert refused.status_code == 403
    assert "nginx" in refused.text
    assert reached.status_code == 302, site.log()
    assert reached.headers["Location"].startswith("/admin/login/"), reached.headers


def test_the_decision_endpoint_is_reachable_only_from_the_gateway_network(site):
    # What a gateway sends: the client hop's scheme and address, and (here) no gateway key.
    gateway_headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    with site.client() as outsider:
        refused = outsider.get("/gateway/v1/decide", headers=gateway_headers)
    with site.client(source=GATEWAY_ADDRESS) as gateway:
        reached = gateway.get("/gateway/v1/decide", headers=gateway_headers)
    assert refused.status_code == 403
    assert "nginx" in refused.text
    # accessgov's own answer to a caller without a gateway key: its JSON envelope, not nginx's page.
    assert reached.status_code == 404, site.log()
    assert reached.json()["Error"]["Message"] == "No such endpoint."
