"""Notification messages (pure builders) and the two transports that send them.

Transports say in data whether a failure is worth retrying: ``DeliveryError(permanent=...)``.
Transient: the network (connection refused, timeouts), HTTP 408/429/5xx, an SMTP server that
hung up. Permanent: an unsafe or malformed URL, any other 4xx, a refused recipient.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypedDict

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from apps.deployments.guard import refusal, sync_transport
from apps.deployments.urlcheck import UnsafeURLError, check_url

WEBHOOK_TIMEOUT = 10.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class TransientDeliveryError(DeliveryError):
    """Worth another try later: the only error the delivery task retries."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class PermanentDeliveryError(DeliveryError):
    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class ItemView:
    """What a notification says about an item (built from the inbox row)."""

    item_id: int
    team: str
    deployment: str
    deployment_id: int
    graph: str
    thread_id: str
    kind: str
    actions: tuple[str, ...]
    node: str
    asked_at: str


class WebhookBody(TypedDict):
    event: str
    delivery_id: int
    url: str
    text: str
    item: dict[str, Any]


def deep_link(item: ItemView) -> str:
    path = reverse(
        "inbox:thread", kwargs={"deployment_id": item.deployment_id, "thread_id": item.thread_id}
    )
    return f"{settings.SITE_URL.rstrip('/')}{path}#interrupt-{item.item_id}"


def headline(item: ItemView, reason: str) -> str:
    what = ", ".join(item.actions) or (f"a question at {item.node}" if item.node else "a question")
    graph = f" ({item.graph})" if item.graph else ""
    if reason == "escalated":
        return f"Escalated: {what} on {item.deployment}{graph} is still waiting for a decision."
    return f"Waiting for a decision: {what} on {item.deployment}{graph}."


def webhook_body(item: ItemView, reason: str, delivery_id: int) -> WebhookBody:
    return {
        "event": "inbox.item_escalated" if reason == "escalated" else "inbox.item_waiting",
        "delivery_id": delivery_id,
        "url": deep_link(item),
        "text": headline(item, reason),
        "item": {
            "id": item.item_id,
            "team": item.team,
            "deployment": item.deployment,
            "graph": item.graph,
            "thread_id": item.thread_id,
            "kind": item.kind,
            "actions": list(item.actions),
            "node": item.node,
            "asked_at": item.asked_at,
        },
    }


def _mrkdwn(text: str) -> str:
    # Slack's three control characters; everything else is shown as typed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(item: ItemView, reason: str) -> dict[str, Any]:
    """Slack's incoming-webhook shape: ``text`` (the fallback) and ``blocks``."""
    url = deep_link(item)
    text = headline(item, reason)
    return {
        "text": f"{text} {url}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(text)}*"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": _mrkdwn(
                            f"Thread {item.thread_id} · asked {item.asked_at} · team {item.team}"
                        ),
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Switchboard"},
                        "url": url,
                    }
                ],
            },
        ],
    }


def email_message(item: ItemView, reason: str) -> tuple[str, str]:
    text = headline(item, reason)
    body = (
        f"{text}\n\nOpen it: {deep_link(item)}\n\nTeam: {item.team}\nThread: {item.thread_id}\n"
        f"Asked at: {item.asked_at}\n"
    )
    return f"[Switchboard] {text}"[:200], body


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def post_json(url: str, body: Any, delivery_id: int) -> None:
    """POST ``body`` to ``url``. Redirects are not followed. The URL is checked again (SSRF),
    and the connection goes through the outbound guard, which checks the address it actually
    reaches: the addresses a host name resolves to can change after it was saved, even between
    this check and the connection.

    Errors name the status and its reason phrase, never the response body (a webhook URL can
    reach an internal page whose text is not for the team) nor the URL (a bearer secret)."""
    try:
        check_url(url)
    except UnsafeURLError as error:
        raise PermanentDeliveryError(str(error)) from None
    headers = {"User-Agent": "Switchboard", "X-Switchboard-Delivery": str(delivery_id)}
    try:
        with httpx.Client(
            transport=sync_transport(), timeout=WEBHOOK_TIMEOUT, follow_redirects=False
        ) as client:
            response = client.post(url, json=body, headers=headers)
    except httpx.TransportError as error:
        refused = refusal(error)
        if refused is not None:
            raise PermanentDeliveryError(str(refused)) from None
        raise TransientDeliveryError(f"{type(error).__name__}: {error}") from None
    if response.is_success:
        return
    # The standard phrase, not the one the server sent: that is its text too.
    message = f"HTTP {response.status_code} {_phrase(response.status_code)}".rstrip()
    if response.status_code in RETRY_STATUSES:
        raise TransientDeliveryError(message)
    raise PermanentDeliveryError(message)


def send_email(recipients: list[str], subject: str, body: str) -> None:
    if not recipients:
        raise PermanentDeliveryError("No recipient address.")
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except (
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        ConnectionError,
        TimeoutError,
    ) as error:
        raise TransientDeliveryError(f"{type(error).__name__}: {error}") from None
    except smtplib.SMTPException as error:
        raise PermanentDeliveryError(f"{type(error).__name__}: {error}") from None
