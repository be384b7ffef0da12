"""Create (or bring back) the demo tenants and users; safe to run again."""

import secrets
from urllib.parse import parse_qs, urlsplit

from django.core.management.base import BaseCommand

from accessgov.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo tenants, organizations and users (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-password",
            help="Set (or reset) the password of demo-admin, demo-tech and other-admin. "
            "Without it, new users get a random password, printed once.",
        )

    def handle(self, *args, admin_password: str | None = None, **options) -> None:
        password = admin_password or secrets.token_urlsafe(12)
        created = seed_demo(password=password, reset_passwords=admin_password is not None)
        for username in created.new_users:
            self.stdout.write(f"Created user {username}")
        if admin_password is None and created.new_users:
            self.stdout.write(f"Password for the new demo users: {password}")
        elif admin_password is not None:
            self.stdout.write("Passwords of demo-admin, demo-tech and other-admin are set.")
        for username, uri in created.new_authenticators.items():
            key = parse_qs(urlsplit(uri).query)["secret"][0]
            self.stdout.write(
                f"Authenticator of {username} (shown once; add it to an authenticator app):\n"
                f"  key {key}\n  {uri}"
            )
        self.stdout.write(self.style.SUCCESS("Demo tenants: demo (Demo Partner), other (Other Partner)."))
