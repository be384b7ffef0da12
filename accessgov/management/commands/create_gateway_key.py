"""Create a key for one of the operator's gateways and print it once."""

from django.core.management.base import BaseCommand, CommandError

from accessgov.core.errors import ActionRefused
from accessgov.gateway.actions import issue_gateway_key


class Command(BaseCommand):
    help = "Create a gateway key (for the decision endpoint) and print it once; only its digest is kept."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Which gateway uses it, e.g. “nginx eu-1”.")

    def handle(self, *args, name: str, **options) -> None:
        try:
            key, raw = issue_gateway_key(name=name, by=None)
        except ActionRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        # Printed once, for the operator to put in the gateway's configuration; never stored.
        self.stdout.write(raw)
        self.stderr.write(f"Gateway key “{key.name}” ({key.prefix}…) created. It is not shown again.")
