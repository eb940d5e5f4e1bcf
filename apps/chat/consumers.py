"""WebSocket consumers: authenticate, join only permitted groups, forward events, hand writes to services.

Frames from the browser are JSON objects with a "type":
  {"type": "message.send", "client_id": "...", "body": "..."}   → "message.ack" (or "error")
  {"type": "read", "seq": 12}                                      → read marker moved
  {"type": "typing"}                                               → others see "typing" (direct and shop only)
  {"type": "sync", "after": 12}                                    → "message.new" frames after 12, then "sync.done"
  {"type": "ping"}                                                 → "pong"
Frames to the browser: "message.new", "message.ack", "read", "typing", "sync.done", "error",
"closing", "pong", and whatever `events.publish_to_user_on_commit` pushes.

`message.new` frames reach each socket once and in sequence order: the consumer remembers the last
sequence number it sent and fills any gap from the database, since the channel layer may lose
or reorder events.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from apps.core.errors import DomainError

from . import events, presence, selectors, services
from .payloads import message_as_dict

CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_FLOOD = 4429
CLOSE_TOO_BIG = 1009
TYPING_EVERY_S = 2.0
RESYNC_MAX_PAGES = 10


class TokenBucket:
    def __init__(self, burst: int, per_s: float):
        self.capacity, self.per_s = burst, per_s
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _signed_in_user(user_id: int, session: SessionBase | None):
    """The user as the database has them now, if their session still exists and they are active."""
    if session is None or not session.session_key or not session.exists(session.session_key):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


class UserConsumer(AsyncWebsocketConsumer):
    """A socket that only listens to the user's own group: conversation lists, the notification bell."""

    async def dispatch(self, message):
        """Channels' dispatch, without its connection clean-up before every handler: these
        consumers reach the database only through database_sync_to_async, which cleans up itself.
        The clean-up runs through the process's one sync thread; for each event of a room's
        fan-out, it would queue every delivery behind every database write of the process."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.groups_joined = [events.user_group(self.user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > settings.JIEFANG_CHAT_MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        await self.send_json({"type": "pong"})

    async def send_json(self, content: dict):
        await self.send(text_data=json.dumps(content))

    async def send_error(self, code: str, detail: str, **extra):
        await self.send_json({"type": "error", "code": code, "detail": str(detail), **extra})

    # --- events from the user's group ---

    async def user_push(self, event):
        await self.send_json(event["event"])

    async def sockets_close(self, event):
        if event.get("session_key") in (None, self.session_key):
            await self.send_json({"type": "closing", "reason": event["reason"]})
            await self.close(code=CLOSE_SIGNED_OUT)

    async def conversation_revoke(self, event):
        """Only sockets on a conversation care; the user socket has none."""


class ChatConsumer(UserConsumer):
    """One socket per open conversation or room (ws/chat/<conversation_id>/?after=<seq>)."""

    async def connect(self):
        self.user = self.scope.get("user")
        self.entered = False
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        try:
            self.is_room = await database_sync_to_async(self._check_member)()
        except PermissionDenied:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        after = self._after_from_query()
        self.groups_joined = [events.user_group(self.user.pk), events.conversation_group(self.conversation_id)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.bucket = TokenBucket(settings.JIEFANG_CHAT_SOCKET_BURST, settings.JIEFANG_CHAT_SOCKET_REFILL_PER_S)
        self.refused_in_a_row = 0
        self.last_typing = 0.0
        await database_sync_to_async(presence.present_enter)(self.conversation_id, self.user.pk)
        self.entered = True
        # Read after joining the group, so nothing falls between what was read and what is pushed.
        current = await database_sync_to_async(self._last_seq)()
        if after is None or after > current:
            self.last_sent = current
            await self.send_json({"type": "sync.done", "last_seq": current})
        else:
            self.last_sent = after
            await self._resync()

    def _check_member(self) -> bool:
        conversation = selectors.conversation_get_for_live(resident=self.user, conversation_id=self.conversation_id)
        return conversation.is_room

    def _last_seq(self) -> int:
        from .models import Conversation

        return Conversation.objects.values_list("last_seq", flat=True).get(pk=self.conversation_id)

    def _after_from_query(self) -> int | None:
        values = parse_qs(self.scope.get("query_string", b"").decode()).get("after")
        if not values:
            return None
        try:
            return max(int(values[0]), 0)
        except ValueError:
            return None

    async def disconnect(self, code):
        await super().disconnect(code)
        if getattr(self, "entered", False):
            await database_sync_to_async(presence.present_leave)(self.conversation_id, self.user.pk)

    # --- resync ---

    def _page_after(self, after: int) -> list[dict]:
        conversation = selectors.conversation_get_for_member(resident=self.user, conversation_id=self.conversation_id)
        page = selectors.messages_after(conversation=conversation, after_seq=after, limit=selectors.RESYNC_PAGE)
        return [message_as_dict(m) for m in page]

    async def _resync(self):
        """Sends every message after `last_sent`, in order; then "sync.done"."""
        for _page in range(RESYNC_MAX_PAGES):
            try:
                page = await database_sync_to_async(self._page_after)(self.last_sent)
            except PermissionDenied:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            for message in page:
                await self._send_message(
                    message["seq"],
                    json.dumps({"type": "message.new", "message": message, "conversation_id": self.conversation_id}),
                )
            if len(page) < selectors.RESYNC_PAGE:
                break
        else:
            await self.send_json({"type": "sync.more", "last_seq": self.last_sent})
            return
        await self.send_json({"type": "sync.done", "last_seq": self.last_sent})

    async def _send_message(self, seq: int, text: str):
        if seq > self.last_sent:
            await self.send(text_data=text)
            self.last_sent = seq

    # --- frames from the browser ---

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > settings.JIEFANG_CHAT_MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        if text_data is None:
            await self.send_error("bad_frame", _("Send JSON text frames."))
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_json", _("That frame is not valid JSON."))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", _("A frame is a JSON object with a type."))
            return
        kind = frame["type"]
        if kind == "typing":
            await self._typing()
            return
        if not self.bucket.take():
            self.refused_in_a_row += 1
            if self.refused_in_a_row > 2 * settings.JIEFANG_CHAT_SOCKET_BURST:
                await self.close(code=CLOSE_FLOOD)
                return
            await self.send_error(
                "rate_limited", _("You are sending too fast. Wait a moment."), client_id=frame.get("client_id")
            )
            return
        self.refused_in_a_row = 0
        handler = {
            "message.send": self._message_send,
            "read": self._read,
            "sync": self._sync_frame,
            "ping": self._ping,
        }.get(kind)
        if handler is None:
            await self.send_error("unknown_type", _("Unknown frame type: %(type)s") % {"type": kind[:40]})
            return
        await handler(frame)

    def _fresh_user(self):
        user = _signed_in_user(self.user.pk, self.scope.get("session"))
        if user is not None:
            self.user = user
        return user

    def _do_send(self, frame: dict) -> dict:
        if self._fresh_user() is None:
            return {"closed": CLOSE_SIGNED_OUT}
        try:
            message = services.message_send(
                sender=self.user,
                conversation_id=self.conversation_id,
                body=frame.get("body", ""),
                client_msg_id=frame.get("client_id"),
            )
        except (services.NotInConversation, services.ConversationBlocked) as exc:
            return {"error": exc, "closed": CLOSE_FORBIDDEN}
        except DomainError as exc:
            return {"error": exc}
        return {"message": message_as_dict(message), "duplicate": message.was_duplicate}

    async def _message_send(self, frame):
        client_id = frame.get("client_id")
        result = await database_sync_to_async(self._do_send)(frame)
        if "error" in result:
            exc = result["error"]
            extra = {"client_id": client_id} if isinstance(client_id, str) else {}
            if exc.field:
                extra["field"] = exc.field
            if getattr(exc, "retry_after", None):
                extra["retry_after"] = exc.retry_after
            await self.send_error(exc.code, exc.message, **extra)
        if "closed" in result:
            if "error" not in result:
                await self.send_json({"type": "closing", "reason": "signed_out"})
            await self.close(code=result["closed"])
            return
        if "message" in result:
            await self.send_json(
                {
                    "type": "message.ack",
                    "client_id": client_id,
                    "duplicate": result["duplicate"],
                    "message": result["message"],
                }
            )

    def _do_read(self, seq) -> str | None:
        if self._fresh_user() is None:
            return "signed_out"
        try:
            services.message_mark_read(resident=self.user, conversation_id=self.conversation_id, seq=seq)
        except DomainError as exc:
            return exc.message
        return None

    async def _read(self, frame):
        error = await database_sync_to_async(self._do_read)(frame.get("seq"))
        if error == "signed_out":
            await self.close(code=CLOSE_SIGNED_OUT)
        elif error:
            await self.send_error("invalid", error, field="seq")

    async def _sync_frame(self, frame):
        after = frame.get("after")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            await self.send_error("invalid", _("`after` must be a sequence number."), field="after")
            return
        # The client may ask again for what it already got (after a reload of its view): send it again.
        self.last_sent = min(self.last_sent, after)
        await self._resync()

    async def _ping(self, frame):
        await database_sync_to_async(presence.present_touch)(self.conversation_id, self.user.pk)
        await self.send_json({"type": "pong"})

    async def _typing(self):
        now = time.monotonic()
        if self.is_room or now - self.last_typing < TYPING_EVERY_S:
            return  # rooms have no typing indicator; extra typing frames are dropped, not refused
        self.last_typing = now
        await events.typing_publish(conversation_id=self.conversation_id, user_id=self.user.pk, name=str(self.user))

    # --- events from the groups ---

    async def chat_message(self, event):
        seq = event["seq"]
        if seq <= self.last_sent:
            return
        if seq == self.last_sent + 1:
            await self._send_message(seq, event["text"])
        else:
            await self._resync()  # an event was lost or overtaken: fill the gap from the database

    async def chat_read(self, event):
        if event["user_id"] != self.user.pk:
            await self.send_json({"type": "read", "user_id": event["user_id"], "seq": event["seq"]})

    async def chat_typing(self, event):
        if event["user_id"] != self.user.pk:
            await self.send_json({"type": "typing", "user_id": event["user_id"], "name": event["name"]})

    async def user_push(self, event):
        pushed = event["event"]
        if pushed.get("type") == "conversation.activity" and pushed.get("conversation_id") == self.conversation_id:
            return  # this socket gets the message itself
        await self.send_json(pushed)

    async def conversation_revoke(self, event):
        if self.conversation_id in event["conversation_ids"]:
            await self.send_json({"type": "closing", "reason": event["reason"]})
            await self.close(code=CLOSE_FORBIDDEN)
