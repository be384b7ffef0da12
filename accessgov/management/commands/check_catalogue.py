"""Check an endpoint catalogue file before deploying it: every problem, each with its line."""

from django.core.management.base import BaseCommand, CommandError

from accessgov.core import catalogue
from accessgov.core.catalogue.loading import load_catalogue


class Command(BaseCommand):
    help = "Check an endpoint catalogue (TOML) and list its endpoints, or every problem with its line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The catalogue file, as ACCESSGOV_CATALOGUE would name it.")

    def handle(self, *args, file: str, **options) -> None:
        own = frozenset(p.name for p in catalogue.OWN_PERMISSIONS)
        try:
            platform = load_catalogue(file, own_permissions=own)
        except catalogue.CatalogueError as error:
            raise CommandError(str(error)) from error
        for endpoint in platform.endpoints:
            windows = (
                ", ".join(f"{w.limit}/{w.seconds}s" for w in endpoint.windows or ()) or "the default limits"
            )
            where = f", organization from {endpoint.organization}" if endpoint.organization else ""
            self.stdout.write(f"{endpoint.key:<50} {endpoint.permission:<24} {windows}{where}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{file}: {platform.service}, {len(platform.endpoints)} endpoints, "
                f"{len(platform.permissions)} permissions. OK."
            )
        )
