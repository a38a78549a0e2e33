"""ASGI entry point: HTTP through Django, websockets through Channels.

Websockets sit behind ``ExactOriginValidator`` (an Origin other than the console's own or one in
``CSRF_TRUSTED_ORIGINS``, by scheme, host and port, is refused at the handshake) and the session
auth middleware (consumers see ``scope["user"]``).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
# Django must be set up before the routing imports consumers, which import models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dashboard.origin import ExactOriginValidator  # noqa: E402
from dashboard.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": ExactOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
