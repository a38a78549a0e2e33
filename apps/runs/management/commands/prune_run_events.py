"""``manage.py prune_run_events [--days N]``: delete the event logs of runs that ended more than N
days ago (default: ``RUNS_EVENT_RETENTION_DAYS``), keeping every run's summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.runs.retention import prune_event_logs


class Command(BaseCommand):
    help = "Delete the event logs of runs that ended more than N days ago; the runs stay."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Age in days (default: RUNS_EVENT_RETENTION_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = (
            options["days"] if options["days"] is not None else settings.RUNS_EVENT_RETENTION_DAYS
        )
        if days is None or days < 1:
            raise CommandError(
                "Give --days N (N >= 1): RUNS_EVENT_RETENTION_DAYS is 0, logs are kept forever."
            )
        deleted = prune_event_logs(timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} run events of runs that ended over {days} days ago.")
