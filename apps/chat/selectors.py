"""Reads of the chat: who may see what, conversation lists, and message pages for history and resync."""

from __future__ import annotations

import h3
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from apps.moderation import areas
from apps.shops.models import Shop

from .models import Block, Conversation, Member, Message

HISTORY_PAGE = 50
RESYNC_PAGE = 200


# --- Who may do what ------------------------------------------------------------------------------


def resident_is_verified(resident) -> bool:
    """The one rule for "verified resident" in chat: residency checked by the trust app
    (`Resident.is_verified_resident`), or staff (moderators)."""
    return bool(resident.is_verified_resident or resident.is_staff)


def room_cell_of(cell: int) -> int:
    """The room that covers a cell: its parent at the room resolution (about 5 km² at 7)."""
    return h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), settings.JIEFANG_CHAT_ROOM_RESOLUTION))


def shops_of(resident) -> QuerySet[Shop]:
    return Shop.objects.filter(Q(owner=resident) | Q(staff=resident)).distinct()


def home_room_cell(resident) -> int | None:
    return room_cell_of(resident.home_cell) if resident.home_cell else None


def room_cells_for(resident) -> dict[int, Shop | None]:
    """The rooms a resident belongs to: their home's, and those of the shops they run. Each maps to
    the shop they speak for there (None for their own home room, which wins when both apply)."""
    cells: dict[int, Shop | None] = {}
    for shop in shops_of(resident).exclude(cell_r9=None).order_by("id"):
        cells.setdefault(room_cell_of(shop.cell_r9), shop)
    home = home_room_cell(resident)
    if home is not None:
        cells[home] = None
    return cells


def can_read_room(resident, room: Conversation) -> bool:
    if room.room_cell == home_room_cell(resident):
        return True
    # Moderators read the rooms of the areas they moderate (superusers every room); other staff
    # accounts are residents like any other here.
    if areas.is_moderator(resident) and areas.covers(resident, areas.area_of_cell(room.room_cell)):
        return True
    return room.room_cell in room_cells_for(resident)


def room_voice(resident, room: Conversation) -> tuple[bool, Shop | None]:
    """Whether the resident may post in the room, and the shop they speak for there (None: as
    themselves). Verified residents post in their home's room; verified shops in their location's.
    Everyone else who may read the room only reads it."""
    if not resident.is_active:
        return False, None
    if resident_is_verified(resident) and room.room_cell == home_room_cell(resident):
        return True, None
    shop = room_cells_for(resident).get(room.room_cell)
    return (shop is not None and shop.is_verified), shop


def can_post_in_room(resident, room: Conversation) -> bool:
    return room_voice(resident, room)[0]


def shop_side_ids(shop: Shop) -> set[int]:
    return {shop.owner_id, *shop.staff.values_list("id", flat=True)}


def member_ids(conversation: Conversation) -> list[int]:
    """Everyone on either side of a direct or shop conversation (rooms: not listed, too many)."""
    if conversation.kind == Conversation.Kind.DIRECT:
        return [conversation.resident_a_id, conversation.resident_b_id]
    if conversation.kind == Conversation.Kind.SHOP:
        return sorted({conversation.resident_id, *shop_side_ids(conversation.shop)})
    return []


def counterpart_ids(conversation: Conversation, resident) -> set[int]:
    """The people on the other side from `resident`."""
    ids = set(member_ids(conversation))
    if conversation.kind == Conversation.Kind.SHOP and resident.pk != conversation.resident_id:
        return {conversation.resident_id}
    return ids - {resident.pk}


def is_member(resident, conversation: Conversation) -> bool:
    if not resident.is_authenticated or not resident.is_active:
        return False
    if conversation.kind == Conversation.Kind.ROOM:
        return can_read_room(resident, conversation)
    return resident.pk in member_ids(conversation)


def blocked_between(resident_id: int, other_ids) -> bool:
    other_ids = list(other_ids)
    return Block.objects.filter(
        Q(blocker_id=resident_id, blocked_id__in=other_ids) | Q(blocked_id=resident_id, blocker_id__in=other_ids)
    ).exists()


def is_blocked_in(resident, conversation: Conversation) -> bool:
    """A block between the resident and anyone on the other side closes a direct or shop conversation."""
    if conversation.kind == Conversation.Kind.ROOM:
        return False
    return blocked_between(resident.pk, counterpart_ids(conversation, resident))


def _conversations() -> QuerySet[Conversation]:
    return Conversation.objects.select_related("resident_a", "resident_b", "resident", "shop", "stall")


def conversation_get_for_member(*, resident, conversation_id: int) -> Conversation:
    """The conversation, if the resident is in it (or, for a room, may read it)."""
    conversation = _conversations().filter(pk=conversation_id).first()
    if conversation is None or not is_member(resident, conversation):
        raise PermissionDenied(_("You are not in this conversation."))
    return conversation


def conversation_get_for_live(*, resident, conversation_id: int) -> Conversation:
    """As `conversation_get_for_member`, and not closed by a block: what a socket needs to open."""
    conversation = conversation_get_for_member(resident=resident, conversation_id=conversation_id)
    if is_blocked_in(resident, conversation):
        raise PermissionDenied(_("This conversation is closed by a block."))
    return conversation


# --- Lists and pages ------------------------------------------------------------------------------


def conversations_for(*, resident, limit: int = 100) -> list[Conversation]:
    """The resident's conversations and joined rooms, most recent activity first, each with `unread`
    (messages after their read marker) and `title` for them. Two queries whatever the count."""
    shop_ids = list(shops_of(resident).values_list("id", flat=True))
    read = Member.objects.filter(conversation=OuterRef("pk"), resident=resident).values("last_read_seq")[:1]
    qs = (
        _conversations()
        .filter(
            Q(kind=Conversation.Kind.DIRECT, resident_a=resident)
            | Q(kind=Conversation.Kind.DIRECT, resident_b=resident)
            | Q(kind=Conversation.Kind.SHOP, resident=resident)
            | Q(kind=Conversation.Kind.SHOP, shop_id__in=shop_ids)
            | Q(kind=Conversation.Kind.ROOM, pk__in=Member.objects.filter(resident=resident).values("conversation_id"))
        )
        .annotate(read_seq=Coalesce(Subquery(read, output_field=IntegerField()), Value(0)))
        .annotate(unread=F("last_seq") - F("read_seq"))
        .order_by(F("last_message_at").desc(nulls_last=True), "-id")[:limit]
    )
    conversations = list(qs)
    for conversation in conversations:
        conversation.unread = max(conversation.unread, 0)
        conversation.title = conversation_title(conversation, resident)
    return conversations


def unread_total(*, resident) -> int:
    return sum(c.unread for c in conversations_for(resident=resident) if not c.is_room)


def conversation_title(conversation: Conversation, resident) -> str:
    if conversation.kind == Conversation.Kind.ROOM:
        return _("Neighbourhood room")
    if conversation.kind == Conversation.Kind.SHOP:
        if resident.pk == conversation.resident_id:
            return conversation.shop.name
        return f"{conversation.resident} · {conversation.shop.name}"
    other = conversation.resident_b if conversation.resident_a_id == resident.pk else conversation.resident_a
    return str(other)


def _messages(conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(conversation=conversation).select_related("sender", "shop")


def messages_after(*, conversation: Conversation, after_seq: int, limit: int = RESYNC_PAGE) -> list[Message]:
    """What a reconnecting client missed: messages after its last seen sequence number, oldest first."""
    return list(_messages(conversation).filter(seq__gt=after_seq).order_by("seq")[:limit])


def messages_before(
    *, conversation: Conversation, before_seq: int | None = None, limit: int = HISTORY_PAGE
) -> list[Message]:
    """A page of history going backwards from `before_seq` (the newest page without it), oldest first."""
    qs = _messages(conversation)
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    return list(reversed(qs.order_by("-seq")[:limit]))


def read_seq_of(*, conversation: Conversation, resident) -> int:
    return (
        Member.objects.filter(conversation=conversation, resident=resident)
        .values_list("last_read_seq", flat=True)
        .first()
        or 0
    )


def others_read_seq(*, conversation: Conversation, resident) -> int:
    """How far the other side has read (the furthest of them, for a shop's staff): what makes the
    resident's own messages show as seen. Rooms have no such marker."""
    if conversation.is_room:
        return 0
    others = counterpart_ids(conversation, resident)
    seqs = Member.objects.filter(conversation=conversation, resident_id__in=others).values_list(
        "last_read_seq", flat=True
    )
    return max(seqs, default=0)


def blocks_by(*, resident) -> QuerySet[Block]:
    return Block.objects.filter(blocker=resident).select_related("blocked").order_by("-created_at")
