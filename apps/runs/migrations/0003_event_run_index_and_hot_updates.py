from collections.abc import Callable

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# Room on each page of the runs table for a row's next versions: a relay updates its run's row
# with every batch it stores, and PostgreSQL can only update a row in place (HOT, no index
# entries) when the new version fits on the same page.
RUN_FILLFACTOR = 70


def _set_fillfactor(fillfactor: int) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(apps.get_model("runs", "Run")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0002_run_origin"),
    ]

    operations = [
        migrations.AlterField(
            model_name="runevent",
            name="run",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="runs.run",
            ),
        ),
        migrations.RunPython(_set_fillfactor(RUN_FILLFACTOR), _set_fillfactor(100)),
    ]
