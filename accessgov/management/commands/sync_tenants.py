"""Upsert tenants, their organizations and members from a JSON file (docs/operator.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accessgov.operator.sync import SyncFileError, apply_sync, read_sync_file


class Command(BaseCommand):
    help = "Create or update tenants, organizations and members from FILE.json, in one transaction."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The JSON file (format: docs/operator.md).")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")

    def handle(self, *args, file: str, dry_run: bool, **options) -> None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        verbosity = options.get("verbosity", 1)
        terminal = self.stdout.isatty()
        # Quiet under cron unless something changed; on a terminal a line per 100 tenants; a dry
        # run is asked for to be read, so it prints what would change.
        show_changes = verbosity >= 2 or (verbosity >= 1 and (dry_run or terminal))
        try:
            records = read_sync_file(text)
            summary = apply_sync(
                records,
                actor_label=f"manage.py sync_tenants ({path.name})",
                dry_run=dry_run,
                report=self.stdout.write if show_changes else lambda line: None,
                progress=(lambda done, total: self.stdout.write(f"{done}/{total} tenants"))
                if terminal and verbosity >= 1
                else (lambda done, total: None),
            )
        except SyncFileError as error:
            raise CommandError(f"{file}: {error} Nothing was changed.") from error
        if verbosity >= 1 and (summary.changed or dry_run or terminal):
            self.stdout.write(summary.describe())
        # The key=value line for the operations log is written by apply_sync ("accessgov.ops").
