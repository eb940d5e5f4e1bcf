import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neighborhood.settings")

# Django must be set up before anything imports models (the websocket routes do), as
# `get_asgi_application()` would; its handler is replaced by one that runs the pages' sync chain in
# one thread switch (apps/core/asgi.py).
django.setup(set_prefix=False)

from apps.core.asgi import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from apps.core.ratelimit import client_address_asgi  # noqa: E402
from neighborhood.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": client_address_asgi(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
