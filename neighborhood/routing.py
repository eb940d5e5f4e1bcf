"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from django.urls import path

from apps.chat import consumers as chat_consumers

websocket_urlpatterns: list = [
    path("ws/chat/<int:conversation_id>/", chat_consumers.ChatConsumer.as_asgi()),
    path("ws/me/", chat_consumers.UserConsumer.as_asgi()),
]
