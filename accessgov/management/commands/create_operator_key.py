"""Create an operator key for the platform's provisioning (/api/operator/v1/) and print it once."""

from django.core.management.base import BaseCommand, CommandError

from accessgov.core.errors import ActionRefused
from accessgov.operator.actions import issue_operator_key, operator_permission_names


class Command(BaseCommand):
    help = "Create an operator key and print it once; only its digest is kept (docs/operator.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Who uses it, e.g. “platform nightly sync”.")
        parser.add_argument(
            "--permissions",
            required=True,
            help=f"Comma-separated, from: {', '.join(operator_permission_names())}.",
        )

    def handle(self, *args, name: str, permissions: str, **options) -> None:
        wanted = [part.strip() for part in permissions.split(",") if part.strip()]
        try:
            key, raw = issue_operator_key(name=name, permissions=wanted, by=None)
        except ActionRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        # Printed once, for the operator to put in the platform's secret store; never stored.
        self.stdout.write(raw)
        self.stderr.write(
            f"Operator key “{key.name}” ({key.prefix}…) created with {', '.join(key.permissions)}. "
            "It is not shown again."
        )
