"""Conversations, the neighbourhood rooms and their messages.

One table holds every place where messages are written: a direct conversation between two
residents, a conversation between a resident and a shop (the shop side is its owner and staff,
whoever they are at the time), and the room of a coarse area. Messages, sequence numbers, read
markers and resync then work the same way for all three.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", _("Direct")
        SHOP = "shop", _("With a shop")
        ROOM = "room", _("Neighbourhood room")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Direct: the two residents, lower id first, so a pair has exactly one conversation.
    resident_a = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    resident_b = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Shop: the resident on one side, the shop (owner and staff) on the other.
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="shop_conversations"
    )
    shop = models.ForeignKey(
        "shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="conversations"
    )
    # The stall the conversation is about now (pinned at the top); the latest one asked about.
    stall = models.ForeignKey("market.Stall", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Room: the H3 cell (settings.JIEFANG_CHAT_ROOM_RESOLUTION) the room covers.
    room_cell = models.BigIntegerField(null=True, blank=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["resident_a", "resident_b"], condition=Q(kind="direct"), name="chat_one_direct_per_pair"
            ),
            models.UniqueConstraint(
                fields=["resident", "shop"], condition=Q(kind="shop"), name="chat_one_shop_conversation"
            ),
            models.UniqueConstraint(fields=["room_cell"], condition=Q(kind="room"), name="chat_one_room_per_cell"),
            models.CheckConstraint(
                condition=(
                    Q(kind="direct", resident_a__isnull=False, resident_b__isnull=False, shop__isnull=True)
                    | Q(kind="shop", resident__isnull=False, shop__isnull=False, resident_a__isnull=True)
                    | Q(kind="room", room_cell__isnull=False, shop__isnull=True, resident_a__isnull=True)
                ),
                name="chat_conversation_kind_fields",
            ),
        ]
        indexes = [models.Index(fields=["-last_message_at"], name="chat_conversation_activity")]

    def __str__(self):
        if self.kind == self.Kind.ROOM:
            return f"room {self.room_cell:x}"
        return f"{self.kind} #{self.pk}"

    @property
    def is_room(self) -> bool:
        return self.kind == self.Kind.ROOM


class Member(models.Model):
    """A resident's place in a conversation: their read marker, and for rooms that they joined.

    Direct conversations get both rows when opened; on the shop side a row appears the first time
    a staff member reads, so staff added later need nothing done for them.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships")
    last_read_seq = models.PositiveBigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "resident"], name="chat_member_once")]
        indexes = [models.Index(fields=["resident", "conversation"], name="chat_member_by_resident")]


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages")
    # Set when the sender writes for a shop (its side of a conversation, or the shop in a room).
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client_msg_id = models.CharField(max_length=64)
    body = models.TextField(blank=True)
    photo = models.ImageField(upload_to="chat/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by moderation (reports upheld, or enough of them): the message shows as hidden to everyone.
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_seq_once"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_msg_id"], name="chat_message_client_id_once"
            ),
        ]

    def __str__(self):
        return f"#{self.seq} in {self.conversation_id}"


class Block(models.Model):
    """`blocker` no longer hears from `blocked`: direct and shop conversations between them are closed."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_blocks")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_blocked_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="chat_block_once"),
            models.CheckConstraint(condition=~Q(blocker=models.F("blocked")), name="chat_block_not_self"),
        ]
