"""Audit retention: ``manage.py purge_audit_entries --older-than-days N``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.audit.services import purge_entries_before


class Command(BaseCommand):
    help = "Delete audit entries older than the given number of days (the purge itself is audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        if days < 1:
            raise CommandError("--older-than-days must be 1 or more.")
        deleted = purge_entries_before(timezone.now() - timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} audit entries older than {days} days.")
