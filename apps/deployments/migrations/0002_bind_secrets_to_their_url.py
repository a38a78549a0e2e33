"""Bind each deployment's stored secrets to the URL they were given for: the URL it has now."""

from typing import Any

from django.db import migrations, models
from django.db.models import F


def bind_to_current_url(apps: Any, schema_editor: Any) -> None:
    apps.get_model("deployments", "Deployment").objects.update(secrets_url=F("url"))


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="deployment",
            name="secrets_url",
            field=models.CharField(blank=True, default="", editable=False, max_length=500),
        ),
        migrations.RunPython(bind_to_current_url, migrations.RunPython.noop),
    ]
