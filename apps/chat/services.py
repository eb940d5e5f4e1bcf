"""Every chat write: opening conversations, sending, reading, blocking, reporting, joining rooms.

Persist first, then broadcast: each service stores its change and hands the live event to
`events`, which sends it only after the transaction commits.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import DomainError, NotAllowed
from apps.core.images import image_clean
from apps.core.ratelimit import rate_check
from apps.market.models import Stall
from apps.notifications import services as notifications
from apps.notifications.kinds import Kind
from apps.shops.models import Shop

from . import events, presence, selectors
from .models import Block, Conversation, Member, Message
from .payloads import message_as_dict

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PREVIEW_CHARS = 80


class NotInConversation(NotAllowed):
    code = "not_member"


class ConversationBlocked(NotAllowed):
    code = "blocked"


class RoomReadOnly(NotAllowed):
    code = "read_only"


class InvalidTarget(DomainError):
    code = "invalid_target"


class EmptyMessage(DomainError):
    code = "empty"


class MessageTooLong(DomainError):
    code = "too_long"


class InvalidClientId(DomainError):
    code = "invalid_client_id"


class ClientIdReused(DomainError):
    status_code = 409
    code = "client_id_reused"


class NoRoom(DomainError):
    code = "no_room"


# --- Conversations --------------------------------------------------------------------------------


def _refuse_if_blocked(resident, other_ids) -> None:
    if selectors.blocked_between(resident.pk, other_ids):
        raise ConversationBlocked(_("You cannot message each other: one of you blocked the other."))


@transaction.atomic
def conversation_open(*, resident, other=None, shop: Shop | None = None, stall: Stall | None = None) -> Conversation:
    """Opens, or finds again, the conversation with another resident or a shop, optionally about a
    stall (pinned at the top; a newer stall replaces it). Give exactly one of other, shop, stall."""
    if sum(x is not None for x in (other, shop, stall)) != 1:
        raise InvalidTarget(_("Choose one resident, shop or stall to write to."))
    if stall is not None:
        if stall.status == Stall.Status.HIDDEN:
            raise InvalidTarget(_("This stall is no longer available."), field="stall")
        if stall.shop_id:
            shop = stall.shop
        else:
            other = stall.seller
    if shop is not None:
        if resident.pk in selectors.shop_side_ids(shop):
            raise InvalidTarget(_("You cannot message a shop you run."), field="shop")
        _refuse_if_blocked(resident, selectors.shop_side_ids(shop))
        conversation, _created = Conversation.objects.get_or_create(
            kind=Conversation.Kind.SHOP, resident=resident, shop=shop
        )
        Member.objects.get_or_create(conversation=conversation, resident=resident)
    else:
        if other.pk == resident.pk:
            raise InvalidTarget(_("You cannot message yourself."), field="resident")
        if not other.is_active:
            raise InvalidTarget(_("This resident cannot receive messages."), field="resident")
        _refuse_if_blocked(resident, [other.pk])
        low, high = sorted([resident, other], key=lambda r: r.pk)
        conversation, _created = Conversation.objects.get_or_create(
            kind=Conversation.Kind.DIRECT, resident_a=low, resident_b=high
        )
        for person in (low, high):
            Member.objects.get_or_create(conversation=conversation, resident=person)
    if stall is not None and conversation.stall_id != stall.pk:
        conversation.stall = stall
        conversation.save(update_fields=["stall"])
    return conversation


def conversation_open_for_stall(*, resident, stall: Stall) -> Conversation:
    """ "Message the seller": the conversation with the stall's shop or resident seller, about it."""
    return conversation_open(resident=resident, stall=stall)


@transaction.atomic
def room_join(*, resident, cell: int | None = None) -> Conversation:
    """Joins the room of the resident's home (or of `cell`, one of their shops' rooms). Joining
    lets anyone who belongs to the area read it; posting is for verified residents and shops."""
    cells = selectors.room_cells_for(resident)
    if cell is None:
        home = selectors.home_room_cell(resident)
        cell = home if home is not None else next(iter(cells), None)
        if cell is None:
            raise NoRoom(_("Set your home area first: the room is the one of your neighbourhood."))
    elif cell not in cells:
        raise NoRoom(_("That room is not in your neighbourhood."), field="cell")
    room, _created = Conversation.objects.get_or_create(kind=Conversation.Kind.ROOM, room_cell=cell)
    # Joining starts the unread count now rather than at the room's first message.
    Member.objects.get_or_create(conversation=room, resident=resident, defaults={"last_read_seq": room.last_seq})
    return room


# --- Messages -------------------------------------------------------------------------------------


def _validate(*, body: str, client_msg_id: str, has_photo: bool) -> str:
    if not isinstance(client_msg_id, str) or not CLIENT_ID_RE.match(client_msg_id):
        raise InvalidClientId(_("The client message id must be 1 to 64 letters, digits or - _ . :"), field="client_id")
    if not isinstance(body, str):
        raise EmptyMessage(_("The message must be text."), field="body")
    body = body.strip()
    if not body and not has_photo:
        raise EmptyMessage(_("Write something or add a photo."), field="body")
    if len(body) > settings.JIEFANG_CHAT_MAX_BODY:
        raise MessageTooLong(
            _("A message may be at most %(n)d characters.") % {"n": settings.JIEFANG_CHAT_MAX_BODY}, field="body"
        )
    return body


def _writer_shop(sender, conversation: Conversation) -> Shop | None:
    """Checks the sender may write here now and returns the shop they write for, if any."""
    if not sender.is_active or sender.is_suspended:
        raise NotInConversation(_("Your account cannot send messages."))
    if conversation.kind == Conversation.Kind.ROOM:
        may_post, shop = selectors.room_voice(sender, conversation)
        if not may_post:
            raise RoomReadOnly(_("Only verified residents of this area and its shops can post in the room."))
        return shop
    if selectors.is_blocked_in(sender, conversation):
        raise ConversationBlocked(_("You cannot message each other: one of you blocked the other."))
    if conversation.kind == Conversation.Kind.SHOP and sender.pk != conversation.resident_id:
        return conversation.shop
    return None


def _existing(conversation_id: int, sender, client_msg_id: str, body: str) -> Message | None:
    """The message a retry repeats (marked `was_duplicate`); the same id for another text is refused."""
    existing = (
        Message.objects.filter(conversation_id=conversation_id, sender=sender, client_msg_id=client_msg_id)
        .select_related("sender", "shop")
        .first()
    )
    if existing is not None:
        if existing.body != body:
            raise ClientIdReused(_("This client message id was already used for another message."), field="client_id")
        existing.was_duplicate = True
    return existing


def _next_seq(conversation_id: int, now) -> int:
    """Takes the conversation's next sequence number; the row stays locked until the commit."""
    table = Conversation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1, last_message_at = %s WHERE id = %s RETURNING last_seq",  # noqa: S608 - the table name is ours
            [now, conversation_id],
        )
        return cursor.fetchone()[0]


def message_send(*, sender, conversation_id: int, body: str, client_msg_id: str, photo=None) -> Message:
    """Stores a message with the conversation's next sequence number, then broadcasts it.

    Idempotent on (conversation, sender, client_msg_id): a retry of the same message returns the
    stored one with `was_duplicate` set, and broadcasts nothing; the same id with a different
    text is refused. Recipients with no socket on the conversation get one notification for the
    first message they have not read.

    Checks and the photo come first, outside any lock. The write is one short transaction: a room
    has one row whose lock every sender of the room waits for, so it holds that lock for three
    statements only (the counter, the message, the sender's read marker). A retry that races its
    original meets the unique constraint and is answered with the original.
    """
    body = _validate(body=body, client_msg_id=client_msg_id, has_photo=photo is not None)
    try:
        conversation = selectors.conversation_get_for_member(resident=sender, conversation_id=conversation_id)
    except PermissionDenied:
        raise NotInConversation(_("You are not in this conversation.")) from None
    shop = _writer_shop(sender, conversation)
    existing = _existing(conversation.pk, sender, client_msg_id, body)
    if existing is not None:
        return existing
    clean_photo = image_clean(photo, field="photo") if photo is not None else None
    # After the retry check: a client retrying a message it already sent uses up nothing.
    rate_check("message_send", user=sender)
    try:
        return _message_store(
            conversation=conversation, sender=sender, shop=shop, client_msg_id=client_msg_id, body=body,
            photo=clean_photo,
        )  # fmt: skip
    except IntegrityError:
        existing = _existing(conversation.pk, sender, client_msg_id, body)
        if existing is None:
            raise
        return existing


@transaction.atomic
def _message_store(*, conversation: Conversation, sender, shop, client_msg_id: str, body: str, photo) -> Message:
    now = timezone.now()
    seq = _next_seq(conversation.pk, now)
    message = Message(
        conversation=conversation, seq=seq, sender=sender, shop=shop, client_msg_id=client_msg_id, body=body
    )
    if photo is not None:
        message.photo.save(photo.name, photo, save=False)
    message.save()
    message.was_duplicate = False
    if not Member.objects.filter(conversation=conversation, resident=sender).update(last_read_seq=seq):
        Member.objects.create(conversation=conversation, resident=sender, last_read_seq=seq)
    conversation.last_seq, conversation.last_message_at = seq, now

    members = selectors.member_ids(conversation)
    if members:
        _notify_absent(message, conversation, recipients=selectors.counterpart_ids(conversation, sender))
    events.message_new_on_commit(
        conversation_id=conversation.pk, seq=seq, payload=message_as_dict(message), member_ids=members
    )
    return message


def _notify_absent(message: Message, conversation: Conversation, *, recipients: set[int]) -> None:
    """One in-app notification per run of unread messages, for recipients with no socket open on it."""
    absent = recipients - presence.present_among(conversation.pk, recipients)
    if not absent:
        return
    read = dict(
        Member.objects.filter(conversation=conversation, resident_id__in=absent).values_list(
            "resident_id", "last_read_seq"
        )
    )
    sender_name = message.shop.name if message.shop_id else str(message.sender)
    preview = message.body[:PREVIEW_CHARS] if message.body else _("[photo]")
    url = reverse("chat:conversation", args=[conversation.pk])
    for recipient_id in sorted(absent):
        if read.get(recipient_id, 0) >= message.seq - 1:
            notifications.notification_send(
                recipient_id=recipient_id,
                kind=Kind.MESSAGE,
                params={"sender": sender_name, "preview": preview},
                url=url,
            )


@transaction.atomic
def message_mark_read(*, resident, conversation_id: int, seq: int) -> Member:
    """Moves the resident's read marker forward to `seq` (never back, never past the last message)."""
    try:
        conversation = selectors.conversation_get_for_member(resident=resident, conversation_id=conversation_id)
    except PermissionDenied:
        raise NotInConversation(_("You are not in this conversation.")) from None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise DomainError(_("The sequence number must be a whole number."), field="seq")
    seq = min(seq, conversation.last_seq)
    member, _created = Member.objects.get_or_create(conversation=conversation, resident=resident)
    if seq > member.last_read_seq:
        member.last_read_seq = seq
        member.save(update_fields=["last_read_seq"])
        if not conversation.is_room:
            events.read_on_commit(conversation_id=conversation.pk, user_id=resident.pk, seq=seq)
    return member


# --- Blocks and reports ---------------------------------------------------------------------------


def _conversations_between(a, b) -> list[int]:
    low, high = sorted([a.pk, b.pk])
    a_shops = list(selectors.shops_of(a).values_list("id", flat=True))
    b_shops = list(selectors.shops_of(b).values_list("id", flat=True))
    return list(
        Conversation.objects.filter(
            Q(kind=Conversation.Kind.DIRECT, resident_a_id=low, resident_b_id=high)
            | Q(kind=Conversation.Kind.SHOP, resident=a, shop_id__in=b_shops)
            | Q(kind=Conversation.Kind.SHOP, resident=b, shop_id__in=a_shops)
        ).values_list("id", flat=True)
    )


@transaction.atomic
def block_create(*, blocker, blocked) -> Block:
    """The blocked resident can no longer message the blocker (nor the blocker them); their open
    sockets on the conversations between them close."""
    if blocker.pk == blocked.pk:
        raise InvalidTarget(_("You cannot block yourself."), field="resident")
    block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    if created:
        ids = _conversations_between(blocker, blocked)
        if ids:
            for person in (blocked, blocker):
                events.conversations_revoke_on_commit(user_id=person.pk, conversation_ids=ids, reason="blocked")
    return block


@transaction.atomic
def block_remove(*, blocker, blocked) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


def message_report(*, reporter, message_id: int, reason: str, note: str = ""):
    """Hands a message to the moderators' queue: `apps.moderation`'s report_file, which checks the
    reporter can see it (a member of the conversation), weighs the report, and hides the message
    when enough trusted neighbours report it. One report per reporter per message."""
    from apps.moderation.services import report_file

    return report_file(reporter=reporter, kind="message", object_id=message_id, reason=reason, note=note)


# --- Moderation: called only by the moderation app's services, which check who may and record why ---


@transaction.atomic
def message_hide(*, message: Message) -> Message:
    """The message keeps its place in the conversation; its body and photo are no longer shown."""
    if message.hidden_at is None:
        message.hidden_at = timezone.now()
        message.save(update_fields=["hidden_at"])
    return message


@transaction.atomic
def message_unhide(*, message: Message) -> Message:
    if message.hidden_at is not None:
        message.hidden_at = None
        message.save(update_fields=["hidden_at"])
    return message
