from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts.services import ensure_demo_admin


class Command(BaseCommand):
    help = "Create the embedded default's admin user and Demo team once, and print the login."

    def handle(self, *args: Any, **options: Any) -> None:
        username, password, created = ensure_demo_admin()
        verb = "created" if created else "exists"
        self.stdout.write(
            f"switchboard: demo admin {verb}: log in as {username!r} with password {password!r}"
        )
