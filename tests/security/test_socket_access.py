"""The WebSocket routes in the permission matrix: who may open which socket, through the real ASGI
application (origin check, session authentication, the consumers' own membership checks).

Sockets need committed data (the consumers read the database from another thread), so the world is
built once in one transactional test rather than per row.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.chat.consumers import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT
from neighborhood.asgi import application
from neighborhood.routing import websocket_urlpatterns
from tests.security.matrix import NO, OK, only
from tests.security.world import ROLES, build

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10

# (route, the world's conversation it opens or None, who gets in)
SOCKETS = [
    ("ws/me/", None, only(*ROLES[1:])),  # one's own bell and lists: anyone signed in
    ("ws/chat/<int:conversation_id>/", "conv_verified_shop_a", only("verified", "keeper_a")),
    ("ws/chat/<int:conversation_id>/", "conv_residents", only("unverified", "verified")),
    # Jing'an's room: its neighbours (keeper A lives there, moderator A too) and moderators; keeper B
    # and moderator B live and moderate in Pudong.
    (
        "ws/chat/<int:conversation_id>/",
        "room_a",
        only("unverified", "verified", "keeper_a", "moderator_a", "superuser"),
    ),
]


def _socket(path: str, session_key: str | None) -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def _try(path: str, session_key: str | None) -> tuple[bool, int | None]:
    comm = _socket(path, session_key)
    connected, code = await comm.connect(timeout=WAIT)
    await comm.disconnect(timeout=WAIT)
    return connected, code


def test_every_socket_route_is_in_the_table():
    assert {str(p.pattern) for p in websocket_urlpatterns} == {route for route, _key, _expect in SOCKETS}


def test_who_may_open_which_socket():
    world = build()
    sessions = {}
    for role, user in world.roles.items():
        if user is not None:
            client = Client()
            client.force_login(user)
            sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    problems = []
    for route, key, expect in SOCKETS:
        path = "/" + route.replace("<int:conversation_id>", str(world.objects[key].pk) if key else "")
        for role in ROLES:
            connected, code = async_to_sync(_try)(path, sessions.get(role))
            wanted_code = CLOSE_SIGNED_OUT if role == "anonymous" else CLOSE_FORBIDDEN
            if expect[role] == OK and not connected:
                problems.append(f"{path} {role}: refused ({code}), expected to connect")
            if expect[role] == NO and (connected or code != wanted_code):
                problems.append(f"{path} {role}: {'connected' if connected else code}, expected close {wanted_code}")
    assert not problems, "\n".join(problems)


def test_a_socket_on_a_conversation_that_does_not_exist_is_refused_like_a_foreign_one():
    world = build()
    client = Client()
    client.force_login(world.roles["verified"])
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert async_to_sync(_try)("/ws/chat/999999/", key) == (False, CLOSE_FORBIDDEN)
