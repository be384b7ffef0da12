"""Create (or bring back) the demo tenants and users; safe to run again."""

import secrets
from urllib.parse import parse_qs, urlsplit

from django.core.management.base import BaseCommand

from accessgov.demo import DEMO_CLIENT_NAME, DEMO_REDIRECT_URI, DEMO_SUPPORT, seed_demo

USERS = f"demo-admin, demo-tech, other-admin and {DEMO_SUPPORT}"


class Command(BaseCommand):
    help = "Create the demo tenants, organizations, users and trusted application (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-password",
            help=f"Set (or reset) the password of {USERS}. "
            "Without it, new users get a random password, printed once.",
        )
        parser.add_argument(
            "--new-client-secret",
            action="store_true",
            help=f"Give the {DEMO_CLIENT_NAME} trusted application a new client secret and print it "
            "(the old one stops working).",
        )

    def handle(self, *args, admin_password: str | None = None, new_client_secret: bool = False, **options):
        password = admin_password or secrets.token_urlsafe(12)
        created = seed_demo(
            password=password, reset_passwords=admin_password is not None, new_client_secret=new_client_secret
        )
        for username in created.new_users:
            self.stdout.write(f"Created user {username}")
        if admin_password is None and created.new_users:
            self.stdout.write(f"Password for the new demo users: {password}")
        elif admin_password is not None:
            self.stdout.write(f"Passwords of {USERS} are set.")
        for username, uri in created.new_authenticators.items():
            key = parse_qs(urlsplit(uri).query)["secret"][0]
            self.stdout.write(
                f"Authenticator of {username} (shown once; add it to an authenticator app):\n"
                f"  key {key}\n  {uri}"
            )
        self.stdout.write(f"Support staff: {DEMO_SUPPORT} signs in at /admin/.")
        self.stdout.write(f"Trusted application {DEMO_CLIENT_NAME} (redirect URI {DEMO_REDIRECT_URI}):")
        self.stdout.write(f"  client ID {created.client_id}")
        if created.client_secret is not None:
            self.stdout.write(f"  client secret {created.client_secret} (shown once; stored only hashed)")
        else:
            # Stored hashed: the secret printed when it was made cannot be shown again.
            self.stdout.write(
                "  client secret: printed when it was made, stored only hashed; "
                "`manage.py seed_demo --new-client-secret` makes a new one"
            )
        self.stdout.write(self.style.SUCCESS("Demo tenants: demo (Demo Partner), other (Other Partner)."))
