"""Encrypt every channel's target at rest (a Slack webhook URL is a bearer secret), and drop the
response bodies that earlier failed deliveries stored in ``last_error``.

The column becomes text first (a token is longer than the URL it holds), the rows are encrypted
through the plain-text historical model, then the field becomes the encrypted field, which
changes nothing in the database."""

from typing import Any

from django.db import migrations, models

import apps.deployments.crypto
from apps.deployments.crypto import decrypt, encrypt


def encrypt_targets(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("workflow", "Channel")
    for channel in Channel.objects.all():
        Channel.objects.filter(pk=channel.pk).update(target=encrypt(channel.target))
    Notification = apps.get_model("workflow", "Notification")
    # "HTTP 404 from <url>: <body>" (what the sender stored until now): keep the status only.
    for notification in Notification.objects.filter(last_error__startswith="HTTP "):
        status = notification.last_error.split(" ", 2)[1]
        Notification.objects.filter(pk=notification.pk).update(last_error=f"HTTP {status}")


def decrypt_targets(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("workflow", "Channel")
    for channel in Channel.objects.all():
        Channel.objects.filter(pk=channel.pk).update(target=decrypt(channel.target))


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="target",
            field=models.TextField(),
        ),
        migrations.RunPython(encrypt_targets, decrypt_targets),
        migrations.AlterField(
            model_name="channel",
            name="target",
            field=apps.deployments.crypto.EncryptedTextField(),
        ),
    ]
