from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.deployments.services import do_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every deployment's API key and headers, and every other encrypted secret "
        "(webhook URLs), with the first FIELD_ENCRYPTION_KEY. "
        "Rotate by putting a new key first in FIELD_ENCRYPTION_KEY, running this, then dropping "
        "the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = do_rotate_keys()
        self.stdout.write(f"switchboard: re-encrypted the secrets of {count} row(s).")
