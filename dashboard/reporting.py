"""Error reporting to Sentry (or anything that speaks its protocol, e.g. GlitchTip), switched on
by ``SENTRY_DSN``. Unhandled errors in views, consumers and Celery tasks, and ERROR log lines, are
sent with the request id or run id of the line (see dashboard/logs.py) as tags."""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from dashboard import logs


def _tag_with_context(event: Any, hint: Any) -> Any:
    tags = event.setdefault("tags", {})
    for key in ("request_id", "run_id", "task_id"):
        value = logs.current().get(key)
        if value is not None:
            tags.setdefault(key, str(value))
    return event


def start(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        traces_sample_rate=traces_sample_rate,
        before_send=_tag_with_context,
    )
