from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.deployments.services import register_demo_deployment


class Command(BaseCommand):
    help = "Register the embedded graph server as the 'Local demo' deployment (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")

    def handle(self, *args: Any, **options: Any) -> None:
        deployment, created = register_demo_deployment(options["url"])
        self.stdout.write(
            f"switchboard: demo deployment {'registered' if created else 'up to date'}: {deployment.url}"
        )
