"""Reviews on confirmed deals, one per side, and a shop's one public reply."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Resident
from apps.core.errors import NotAllowed
from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send

from .. import selectors
from ..errors import AlreadyReviewed, NotVerified, ReviewRefused, SelfDeal
from ..models import Deal, Review
from .reputation import reputation_recompute

TEXT_MAX = 2000


def _clean_stars(stars) -> int:
    """A whole number of stars from 1 to 5 (as a number or its digits)."""
    text = str(stars).strip() if isinstance(stars, (int, str)) and not isinstance(stars, bool) else ""
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise ReviewRefused(_("Give from 1 to 5 stars."), field="stars")
    return int(text)


@transaction.atomic
def review_write(*, author: Resident, deal: Deal, stars, text: str = "") -> Review:
    """The buyer reviews the seller (public; about the shop for a shop's deal), or the seller side
    reviews the buyer (private). Only on a confirmed deal, once per side, by a verified resident."""
    deal = Deal.objects.select_for_update(of=("self",)).select_related("shop", "seller", "buyer").get(pk=deal.pk)
    if author.pk == deal.buyer_id:
        direction, subject = Review.Direction.OF_SELLER, deal.seller
    elif selectors.acts_for_seller(resident=author, deal=deal):
        direction, subject = Review.Direction.OF_BUYER, deal.buyer
    else:
        raise NotAllowed(_("Only the buyer and the seller of a deal can review it."))
    if not deal.is_confirmed:
        raise ReviewRefused(_("Reviews come after the buyer has confirmed the deal."))
    if not author.is_verified_resident:
        raise NotVerified(_("Only verified residents can write reviews. Verify your residency first."))
    # Deals already refuse these; checked again because staff change and this is the rating's door.
    if selectors.shares_an_owner(resident=deal.buyer, seller=deal.seller, shop=deal.shop):
        raise SelfDeal(_("You cannot review yourself or your own shop."))
    stars = _clean_stars(stars)
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise ReviewRefused(_("A review has at most 2000 characters."), field="text")
    if Review.objects.filter(deal=deal, direction=direction).exists():
        raise AlreadyReviewed(_("This deal already has your review."))
    try:
        with transaction.atomic():
            review = Review.objects.create(
                deal=deal,
                direction=direction,
                author=author,
                subject=subject,
                shop=deal.shop if direction == Review.Direction.OF_SELLER else None,
                stars=stars,
                text=text,
            )
    except IntegrityError:  # a second request that raced past the check above
        raise AlreadyReviewed(_("This deal already has your review.")) from None
    recipient = deal.shop.owner_id if review.shop_id else subject.pk
    notification_send(
        recipient_id=recipient,
        kind=Kind.REVIEW,
        params={"author": author.display_name, "stars": stars},
        url=reverse("trust:deal", args=[deal.pk]),
    )
    if review.shop_id:
        reputation_recompute(shop=deal.shop)
    return review


@transaction.atomic
def review_reply(*, actor: Resident, review: Review, text: str) -> Review:
    """A shop answers a public review of it, once, in public."""
    review = Review.objects.select_for_update(of=("self",)).select_related("shop").get(pk=review.pk)
    if review.shop_id is None or review.direction != Review.Direction.OF_SELLER:
        raise ReviewRefused(_("Only reviews of a shop can get a reply."))
    if actor.pk not in selectors.shop_side_ids(review.shop):
        raise NotAllowed(_("Only the shop's owner and staff can reply."))
    if review.replied_at:
        raise AlreadyReviewed(_("The shop has already replied to this review."))
    text = (text or "").strip()
    if not text:
        raise ReviewRefused(_("Write a reply."), field="text")
    if len(text) > TEXT_MAX:
        raise ReviewRefused(_("A reply has at most 2000 characters."), field="text")
    review.reply = text
    review.replied_at = timezone.now()
    review.replied_by = actor
    review.save(update_fields=["reply", "replied_at", "replied_by"])
    return review


# --- Moderation: called only by the moderation app's services, which check who may and record why ---


@transaction.atomic
def review_hide(*, review: Review) -> Review:
    """The review is no longer shown, nor counted in the shop's reputation."""
    if review.hidden_at is None:
        review.hidden_at = timezone.now()
        review.save(update_fields=["hidden_at"])
        if review.shop_id:
            reputation_recompute(shop=review.shop)
    return review


@transaction.atomic
def review_unhide(*, review: Review) -> Review:
    if review.hidden_at is not None:
        review.hidden_at = None
        review.save(update_fields=["hidden_at"])
        if review.shop_id:
            reputation_recompute(shop=review.shop)
    return review
