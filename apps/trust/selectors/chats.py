"""What the ladder reads from chat: on which days two people talked with each other.

A "chat" is a calendar day (in the site's time zone) on which both people wrote in a conversation
between them: their direct conversation, or a shop conversation where one is the resident and the
other wrote for the shop. One-sided messages are not a chat; neighbourhood rooms are not either.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import Resident
from apps.chat.models import Conversation, Message

PRIVATE_KINDS = (Conversation.Kind.DIRECT, Conversation.Kind.SHOP)


def _day():
    return TruncDate("created_at", tzinfo=timezone.get_default_timezone())


def conversations_between(a: Resident, b: Resident) -> list[int]:
    low, high = sorted([a.pk, b.pk])
    return list(
        Conversation.objects.filter(
            Q(kind=Conversation.Kind.DIRECT, resident_a_id=low, resident_b_id=high)
            | Q(kind=Conversation.Kind.SHOP, resident=a, messages__sender=b)
            | Q(kind=Conversation.Kind.SHOP, resident=b, messages__sender=a)
        )
        .values_list("pk", flat=True)
        .distinct()
    )


def chat_days_between(a: Resident, b: Resident) -> list[date]:
    """The days on which a and b both wrote in one of their conversations, oldest first."""
    ids = conversations_between(a, b)
    if not ids:
        return []
    rows = (
        Message.objects.filter(conversation_id__in=ids, sender_id__in=[a.pk, b.pk])
        .annotate(day=_day())
        .values_list("conversation_id", "day", "sender_id")
        .distinct()
    )
    senders: dict[tuple[int, date], set[int]] = {}
    for conversation_id, day, sender_id in rows:
        senders.setdefault((conversation_id, day), set()).add(sender_id)
    return sorted({day for (_c, day), who in senders.items() if len(who) == 2})


def chat_partner_ids(resident: Resident) -> set[int]:
    """Everyone the resident has had at least one chat with (both wrote on the same day)."""
    mine = set(
        Message.objects.filter(sender=resident, conversation__kind__in=PRIVATE_KINDS)
        .annotate(day=_day())
        .values_list("conversation_id", "day")
        .distinct()
    )
    if not mine:
        return set()
    others = (
        Message.objects.filter(conversation_id__in={c for c, _d in mine})
        .exclude(sender=resident)
        .annotate(day=_day())
        .values_list("conversation_id", "day", "sender_id", "conversation__resident_id")
        .distinct()
    )
    partners = set()
    for conversation_id, day, sender, shop_customer in others:
        # In a shop conversation, the other side of a staff member is the customer, not a colleague.
        if shop_customer is not None and resident.pk != shop_customer and sender != shop_customer:
            continue
        if (conversation_id, day) in mine:
            partners.add(sender)
    return partners


def has_written_in(*, resident: Resident, conversation_id: int) -> bool:
    return Message.objects.filter(conversation_id=conversation_id, sender=resident).exists()
