"""Deals: the seller marks a sale to the buyer they talked with; the buyer confirms it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Resident
from apps.chat import selectors as chat_selectors
from apps.chat.models import Conversation
from apps.core.errors import NotAllowed
from apps.market.models import Stall
from apps.market.services import stall_can_manage
from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send

from .. import selectors
from ..errors import DealRefused, DealState, SelfDeal
from ..models import Deal
from .reputation import reputation_recompute

MAX_QUANTITY = 1000


def _clean_price(price, stall: Stall) -> Decimal | None:
    if price in (None, ""):
        return stall.price
    try:
        value = Decimal(str(price))
    except (InvalidOperation, ValueError):
        raise DealRefused(_("The price must be a number."), field="price") from None
    if not value.is_finite() or value < 0:
        raise DealRefused(_("The price cannot be negative."), field="price")
    if value >= Stall.MAX_PRICE or value != value.quantize(Decimal("0.01")):
        raise DealRefused(_("Give the price in yuan with at most two decimals."), field="price")
    return value.quantize(Decimal("0.01"))


def _buyer_in(conversation: Conversation, seller: Resident, stall: Stall) -> Resident:
    """The person on the other side of the conversation from the seller, checked against the stall."""
    if stall.shop_id is not None:
        if conversation.kind != Conversation.Kind.SHOP or conversation.shop_id != stall.shop_id:
            raise DealRefused(_("Mark a sale of the shop's stall from a conversation with the shop."), field="stall")
        return conversation.resident
    if conversation.kind != Conversation.Kind.DIRECT or stall.seller_id not in (
        conversation.resident_a_id,
        conversation.resident_b_id,
    ):
        raise DealRefused(_("Mark the sale from your conversation with the buyer."), field="stall")
    return conversation.resident_b if conversation.resident_a_id == seller.pk else conversation.resident_a


@transaction.atomic
def deal_mark(
    *,
    seller: Resident,
    conversation_id: int,
    stall: Stall | None = None,
    price=None,
    quantity: int = 1,
) -> Deal:
    """The seller (or a shop's staff) marks a sale, from their conversation, to the person they
    talked with; the stall is the one given or the one the conversation is about. The buyer must
    have written in the conversation: a deal grows out of talking, not out of a button."""
    try:
        conversation = chat_selectors.conversation_get_for_member(resident=seller, conversation_id=conversation_id)
    except PermissionDenied:
        raise NotAllowed(_("You are not in this conversation."), field="conversation") from None
    if conversation.is_room:
        raise DealRefused(_("Deals are made in a conversation between two sides, not in a room."), field="conversation")
    stall = stall or conversation.stall
    if stall is None:
        raise DealRefused(_("Choose the stall you sold."), field="stall")
    if not stall_can_manage(stall=stall, actor=seller):
        raise NotAllowed(_("Only the stall's seller can mark a sale."), field="stall")
    if stall.kind not in selectors.DEAL_KINDS:
        raise DealRefused(
            _("Deals are marked on stalls that offer something: for sale, free, or a service."), field="stall"
        )
    if stall.status == Stall.Status.HIDDEN:
        raise DealRefused(_("This stall is hidden by moderation."), field="stall")
    buyer = _buyer_in(conversation, seller, stall)
    if selectors.shares_an_owner(resident=buyer, seller=seller, shop=stall.shop):
        raise SelfDeal(_("A sale to yourself or to your own shop's people is not a deal."), field="buyer")
    if not buyer.is_active:
        raise DealRefused(_("This account is closed."), field="buyer")
    if chat_selectors.blocked_between(seller.pk, [buyer.pk]):
        raise DealRefused(_("One of you blocked the other."), field="buyer")
    if not selectors.has_written_in(resident=buyer, conversation_id=conversation.pk):
        raise DealRefused(_("The buyer has not written to you in this conversation yet."), field="conversation")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise DealRefused(_("The quantity is a whole number from 1 to 1000."), field="quantity")
    price = None if stall.kind == Stall.Kind.FREE else _clean_price(price, stall)
    if Deal.objects.filter(stall=stall, buyer=buyer, status=Deal.Status.PROPOSED).exists():
        raise DealState(_("A deal on this stall is already waiting for this buyer to confirm."), field="stall")
    deal = Deal.objects.create(
        stall=stall,
        title=stall.title,
        seller=seller,
        shop=stall.shop,
        buyer=buyer,
        conversation=conversation,
        price=price,
        quantity=quantity,
    )
    notification_send(
        recipient_id=buyer.pk,
        kind=Kind.DEAL,
        params={"seller": stall.shop.name if stall.shop else seller.display_name, "title": deal.title},
        url=reverse("trust:deal", args=[deal.pk]),
    )
    return deal


def _deal_for_update(deal: Deal) -> Deal:
    return Deal.objects.select_for_update(of=("self",)).select_related("shop", "seller", "buyer").get(pk=deal.pk)


@transaction.atomic
def deal_confirm(*, buyer: Resident, deal: Deal) -> Deal:
    deal = _deal_for_update(deal)
    if deal.buyer_id != buyer.pk:
        raise NotAllowed(_("Only the buyer can confirm this deal."))
    if deal.status != Deal.Status.PROPOSED:
        raise DealState(_("This deal is already %(status)s.") % {"status": deal.get_status_display().lower()})
    deal.status = Deal.Status.CONFIRMED
    deal.answered_at = timezone.now()
    deal.save(update_fields=["status", "answered_at"])
    if deal.shop_id:
        reputation_recompute(shop=deal.shop)
    return deal


@transaction.atomic
def deal_decline(*, buyer: Resident, deal: Deal) -> Deal:
    deal = _deal_for_update(deal)
    if deal.buyer_id != buyer.pk:
        raise NotAllowed(_("Only the buyer can decline this deal."))
    if deal.status != Deal.Status.PROPOSED:
        raise DealState(_("This deal is already %(status)s.") % {"status": deal.get_status_display().lower()})
    deal.status = Deal.Status.DECLINED
    deal.answered_at = timezone.now()
    deal.save(update_fields=["status", "answered_at"])
    return deal


@transaction.atomic
def deal_cancel(*, seller: Resident, deal: Deal) -> Deal:
    """The seller side takes back a deal the buyer has not confirmed yet."""
    deal = _deal_for_update(deal)
    if not selectors.acts_for_seller(resident=seller, deal=deal):
        raise NotAllowed(_("Only the seller can cancel this deal."))
    if deal.status != Deal.Status.PROPOSED:
        raise DealState(_("Only a deal waiting for the buyer can be cancelled."))
    deal.status = Deal.Status.CANCELLED
    deal.answered_at = timezone.now()
    deal.save(update_fields=["status", "answered_at"])
    return deal
