"""PostgreSQL-only indexes for the thread list's filters on a large index:

- a trigram GIN index on ``search_text``, for free-text search (``LIKE '%...%'``);
- a ``jsonb_path_ops`` GIN index on ``metadata``, for ``key=value`` filters (JSON containment).

pg_trgm ships with PostgreSQL and is a trusted extension (PostgreSQL 13+): a database owner may
create it. Where it cannot be created, search still works, by reading every row, and this
migration says so instead of failing. SQLite needs nothing.
"""

from __future__ import annotations

import logging

from django.db import migrations, transaction

log = logging.getLogger(__name__)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS threads_metadata_gin "
        "ON threads_threadindex USING gin (metadata jsonb_path_ops)"
    )
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                "CREATE INDEX IF NOT EXISTS threads_search_text_trgm "
                "ON threads_threadindex USING gin (search_text gin_trgm_ops)"
            )
    except Exception as error:  # any refusal leaves search working, only slower
        log.warning("No trigram index for thread search (%s): free-text search scans rows.", error)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS threads_search_text_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS threads_metadata_gin")


class Migration(migrations.Migration):
    dependencies = [("threads", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
