"""The one way live events leave the server: channel-layer groups, sent after the transaction commits.

Groups:
- ``user.<id>``: every authenticated socket of that user joins it, whatever page it serves, so
  any feature can reach a user live through `publish_to_user_on_commit` (the notification bell,
  closing sockets on logout, block or suspension).
- ``conversation.<id>``: the sockets open on one conversation or room.

The channel layer is lossy: events only tell clients what the database already holds, and a client
that missed one resyncs from its last sequence number.
"""

from __future__ import annotations

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def _send_now(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # a lost event is recovered by resync; the write already committed
        log.exception("could not publish %s to %s", event.get("type"), group)


def publish_on_commit(group: str, event: dict) -> None:
    transaction.on_commit(lambda: _send_now(group, event))


def publish_to_user_on_commit(user_id: int, event: dict) -> None:
    """Pushes `event` (a JSON-able dict with a "type" such as "notification.new") to every open
    socket of the user, after the current transaction commits. Sockets forward it as is."""
    publish_on_commit(user_group(user_id), {"type": "user.push", "event": event})


def message_new_on_commit(*, conversation_id: int, seq: int, payload: dict, member_ids: list[int]) -> None:
    """A message was stored: to the sockets on its conversation, and a short "conversation.activity"
    to the members' own groups (their conversation lists update). Rooms pass no member ids."""
    # Serialised once here rather than once per socket: a room delivers it to hundreds.
    text = json.dumps({"type": "message.new", "conversation_id": conversation_id, "message": payload})
    publish_on_commit(conversation_group(conversation_id), {"type": "chat.message", "seq": seq, "text": text})
    for user_id in member_ids:
        publish_to_user_on_commit(user_id, {"type": "conversation.activity", "conversation_id": conversation_id})


def read_on_commit(*, conversation_id: int, user_id: int, seq: int) -> None:
    publish_on_commit(conversation_group(conversation_id), {"type": "chat.read", "user_id": user_id, "seq": seq})


def sockets_close_on_commit(*, user_id: int, reason: str, session_key: str | None = None) -> None:
    """Closes the user's open sockets (only those of one session when `session_key` is given)."""
    publish_on_commit(user_group(user_id), {"type": "sockets.close", "reason": reason, "session_key": session_key})


def conversations_revoke_on_commit(*, user_id: int, conversation_ids: list[int], reason: str) -> None:
    """The user may no longer use these conversations live (a block): their sockets there close."""
    publish_on_commit(
        user_group(user_id),
        {"type": "conversation.revoke", "conversation_ids": list(conversation_ids), "reason": reason},
    )


async def typing_publish(*, conversation_id: int, user_id: int, name: str) -> None:
    """Typing is ephemeral and stored nowhere, so there is no transaction to wait for."""
    layer = get_channel_layer()
    await layer.group_send(
        conversation_group(conversation_id), {"type": "chat.typing", "user_id": user_id, "name": name}
    )
