from __future__ import annotations

import os

from celery import Celery

from dashboard import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logs.connect_celery()
