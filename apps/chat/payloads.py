"""The one JSON shape of a message, shared by the socket, the API and the events."""

from __future__ import annotations

from .models import Message


def message_as_dict(message: Message) -> dict:
    return {
        "id": message.pk,
        "seq": message.seq,
        "conversation_id": message.conversation_id,
        "sender": {"id": message.sender_id, "name": str(message.sender)},
        "shop": {"id": message.shop_id, "name": message.shop.name} if message.shop_id else None,
        "client_id": message.client_msg_id,
        # A message hidden by moderation keeps its place in the sequence, without its content.
        "body": "" if message.hidden_at else message.body,
        "photo": message.photo.url if message.photo and not message.hidden_at else None,
        "hidden": message.hidden_at is not None,
        "created_at": message.created_at.isoformat(),
    }
