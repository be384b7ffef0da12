"""A new user tries Trusted Applications from README alone: `seed_demo` prints the demo client's ID
and secret and demo-admin's authenticator key; demo-admin signs in and agrees to the API Policy in
the browser; README's Python snippet, run as it is written, prints the authorization URL, gets the
address the browser lands on after Authorize, exchanges the code and calls GET Me.

As under `make run`: DEBUG on and plain HTTP from loopback, which the API allows only then."""

import base64
import os
import re
import select
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django_otp.oath import totp
from playwright.sync_api import expect

from accessgov.demo import DEMO_REDIRECT_URI

README = Path(__file__).resolve().parents[2] / "README.md"
PASSWORD = "readme-demo-password-1"
TIMEOUT = 30.0


def readme_oauth_snippet() -> str:
    """Return README's Python code block that runs the OAuth flow."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    [snippet] = [block for block in blocks if "/o/authorize/" in block]
    return snippet


def _seed() -> dict:
    out = StringIO()
    call_command("seed_demo", admin_password=PASSWORD, stdout=out)
    text = out.getvalue()
    return {
        "client_id": re.search(r"client ID (\S+)", text).group(1),
        "client_secret": re.search(r"client secret (\S+) \(shown once", text).group(1),
        "totp_key": re.search(r"Authenticator of demo-admin.*?\n  key (\S+)", text, re.S).group(1),
    }


def _read_line(process: subprocess.Popen) -> str:
    ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
    assert ready, "the README snippet printed nothing in time"
    return process.stdout.readline().strip()


def test_a_new_user_runs_the_readme_oauth_flow_against_the_demo(live_server, page, settings, policy):
    """POLICY: the API Policy the migrations publish (an earlier live-server test may have flushed it)."""
    settings.DEBUG = True  # as `make run` sets DJANGO_DEBUG=1
    server = live_server.url
    demo = _seed()
    page.goto(f"{server}/accounts/login/")
    page.get_by_label("Username").fill("demo-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(f"{totp(base64.b32decode(demo['totp_key'])):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)  # signed in, second factor verified
    page.goto(f"{server}/t/demo/settings/api/")
    page.get_by_label("Agree to the API Policy").check()
    page.get_by_role("button", name="Turn API access on").click()
    page.wait_for_load_state("networkidle")

    environment = {
        **os.environ,
        "BASE_URL": server,
        "CLIENT_ID": demo["client_id"],
        "CLIENT_SECRET": demo["client_secret"],
    }
    process = subprocess.Popen(
        [sys.executable, "-c", readme_oauth_snippet()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        authorization_url = _read_line(process)
        assert authorization_url.startswith(f"{server}/o/authorize/?")

        landed = []

        def the_application(route):
            # psa.example.com does not exist: the user copies the address from the address bar.
            landed.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<p>Not found</p>")

        page.route(f"{DEMO_REDIRECT_URI}**", the_application)
        page.goto(authorization_url)
        expect(page.get_by_role("heading", name="Authorize Demo PSA?")).to_be_visible()
        page.get_by_label("Contoso").check()
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{DEMO_REDIRECT_URI}**")
        assert landed and "code=" in landed[0]

        output, errors = process.communicate(landed[0] + "\n", timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    from tenants.models import Organization

    contoso = Organization.objects.get(tenant__slug="demo", name="Contoso")
    # The last line follows input()'s prompt: the credential type and the organizations granted.
    assert output.strip().endswith(f"TrustedApplication [{contoso.pk}]"), output
