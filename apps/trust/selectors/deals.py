"""Reads of deals, reviews and pledge claims, with the permission checks of who may see what."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Resident
from apps.chat.models import Conversation
from apps.market.models import Stall
from apps.moderation import areas
from apps.shops.models import Shop
from apps.shops.selectors import pledge_in_force

from .. import rules
from ..models import Deal, PledgeClaim, Review

# Stalls that offer something can be sold; "wanted" and events cannot.
DEAL_KINDS = ("sale", "free", "service")


def shop_side_ids(shop: Shop) -> set[int]:
    """Who acts for a shop: its owner and its staff."""
    return {shop.owner_id, *shop.staff.values_list("pk", flat=True)}


def shares_an_owner(*, resident: Resident, seller: Resident, shop: Shop | None) -> bool:
    """Whether a resident and a seller side are, in fact, the same hands.

    A resident controls their own account; a shop is controlled by its owner and its staff. Two
    sides share an owner when these sets meet: the resident is the seller, or the resident owns or
    works at the shop the deal is with (a shopkeeper buying from, or reviewing, their own shop).
    """
    if resident.pk == seller.pk:
        return True
    return shop is not None and resident.pk in shop_side_ids(shop)


def acts_for_seller(*, resident: Resident, deal: Deal) -> bool:
    """The seller who marked the deal, or, for a shop's deal, anyone acting for the shop now."""
    if resident.pk == deal.seller_id:
        return True
    return deal.shop is not None and resident.pk in shop_side_ids(deal.shop)


def _deals() -> QuerySet:
    return Deal.objects.select_related("seller", "buyer", "shop", "stall")


def deals_for(*, resident: Resident) -> QuerySet:
    """Deals the resident is in: as buyer, as the seller who marked them, or for a shop they act for."""
    staffed = Shop.staff.through.objects.filter(resident_id=resident.pk).values("shop_id")
    return (
        _deals()
        .filter(Q(buyer=resident) | Q(seller=resident) | Q(shop__owner=resident) | Q(shop_id__in=staffed))
        .prefetch_related("reviews", "claims")
    )


def deals_to_confirm(*, resident: Resident) -> QuerySet:
    return _deals().filter(buyer=resident, status=Deal.Status.PROPOSED)


def _moderates(resident: Resident, *located) -> bool:
    """A moderator of the area where one of the located things is (a shop, the seller's home), as
    the trust admin scopes deals and claims; superusers everywhere. Other staff are not enough."""
    return areas.is_moderator(resident) and any(
        obj is not None and areas.located_in_scope(resident, obj) for obj in located
    )


def deal_get_for_party(*, deal_id: int, resident: Resident) -> Deal:
    """One deal for one of its parties (and the moderators of its area); others get PermissionDenied,
    unknown ids a 404."""
    deal = _deals().prefetch_related("reviews", "claims__pledge").filter(pk=deal_id).first()
    if deal is None:
        raise Http404
    if not (
        deal.buyer_id == resident.pk
        or acts_for_seller(resident=resident, deal=deal)
        or _moderates(resident, deal.shop, deal.seller)
    ):
        raise PermissionDenied
    return deal


def deals_between(*, a: Resident, b: Resident) -> QuerySet:
    """Confirmed deals between two people: one bought from the other, or from a shop the other owns."""
    return Deal.objects.filter(status=Deal.Status.CONFIRMED).filter(
        Q(buyer=a) & (Q(seller=b) | Q(shop__owner=b)) | Q(buyer=b) & (Q(seller=a) | Q(shop__owner=a))
    )


# --- Reviews ------------------------------------------------------------------------------------


def _reviews() -> QuerySet:
    """Reviews as shown: those hidden by moderation are left out."""
    return Review.objects.filter(hidden_at__isnull=True).select_related(
        "author", "subject", "shop", "deal", "replied_by"
    )


def reviews_public_of_shop(*, shop: Shop) -> QuerySet:
    return _reviews().filter(shop=shop, direction=Review.Direction.OF_SELLER)


def reviews_public_of_resident(*, resident: Resident) -> QuerySet:
    """Buyers' reviews of the resident as a seller of their own (not a shop's) stalls."""
    return _reviews().filter(subject=resident, shop__isnull=True, direction=Review.Direction.OF_SELLER)


def reviews_on_deal(*, deal: Deal) -> list[Review]:
    """Both reviews of a deal: only for its parties and moderators (`deal_get_for_party`), since
    the seller's review of the buyer is private."""
    return list(_reviews().filter(deal=deal))


def reviews_private_about(*, resident: Resident) -> QuerySet:
    """Sellers' private reviews of the resident as a buyer: for the resident's own eyes."""
    return _reviews().filter(subject=resident, direction=Review.Direction.OF_BUYER)


def review_can_reply(*, review: Review, resident: Resident) -> bool:
    return (
        review.shop_id is not None
        and review.direction == Review.Direction.OF_SELLER
        and not review.replied_at
        and resident.is_authenticated
        and resident.pk in shop_side_ids(review.shop)
    )


# --- Pledge claims ----------------------------------------------------------------------------------


def _claims() -> QuerySet:
    return PledgeClaim.objects.select_related("deal", "pledge", "shop", "buyer", "answered_by", "resolved_by")


def claims_for(*, resident: Resident) -> QuerySet:
    """Claims the resident made, and claims on shops they act for."""
    staffed = Shop.staff.through.objects.filter(resident_id=resident.pk).values("shop_id")
    return _claims().filter(Q(buyer=resident) | Q(shop__owner=resident) | Q(shop_id__in=staffed))


def claim_get_for_party(*, claim_id: int, resident: Resident) -> PledgeClaim:
    claim = _claims().filter(pk=claim_id).first()
    if claim is None:
        raise Http404
    if not (
        claim.buyer_id == resident.pk or resident.pk in shop_side_ids(claim.shop) or _moderates(resident, claim.shop)
    ):
        raise PermissionDenied
    return claim


def claims_escalated() -> QuerySet:
    """The moderators' queue: escalated claims, oldest escalation first."""
    return _claims().filter(status=PledgeClaim.Status.ESCALATED).order_by("escalated_at", "pk")


def claims_overdue(*, now: datetime | None = None) -> QuerySet:
    """Open claims the shop has not answered within CLAIM_ANSWER_WITHIN."""
    cutoff = (now or timezone.now()) - rules.CLAIM_ANSWER_WITHIN
    return PledgeClaim.objects.filter(status=PledgeClaim.Status.OPEN, created_at__lte=cutoff)


def claim_deadline(claim: PledgeClaim) -> datetime:
    """When an open claim goes to the moderators if the shop stays silent."""
    return claim.created_at + rules.CLAIM_ANSWER_WITHIN


def claim_dispute_until(claim: PledgeClaim) -> datetime | None:
    if claim.status != PledgeClaim.Status.REJECTED or claim.answered_at is None:
        return None
    return claim.answered_at + rules.CLAIM_DISPUTE_WITHIN


def claim_window(*, kind: str, terms: dict) -> timedelta:
    """How long after the deal a pledge of this kind can be invoked: its own terms when they carry a
    time (returns within N days, freshness within N hours), otherwise the default in rules."""
    if kind == "returns":
        return timedelta(days=int(terms.get("days", 7)))
    if kind == "freshness":
        return timedelta(hours=int(terms.get("hours", 24)))
    return rules.CLAIM_WINDOW_DEFAULT.get(kind, timedelta(days=7))


def pledge_claimable(*, deal: Deal, kind: str, now: datetime | None = None) -> bool:
    """Whether the buyer could invoke this pledge on the deal now (the service gives the reasons)."""
    if not deal.is_confirmed or deal.shop_id is None:
        return False
    pledge = pledge_in_force(shop=deal.shop, kind=kind, at=deal.created_at)
    if pledge is None or PledgeClaim.objects.filter(deal=deal, pledge=pledge).exists():
        return False
    return (now or timezone.now()) <= deal.created_at + claim_window(kind=kind, terms=pledge.terms)


def claims_counts(*, shop: Shop) -> tuple[int, int]:
    """(honoured, broken): claims the shop accepted; claims moderators upheld against it."""
    rows = dict(
        PledgeClaim.objects.filter(shop=shop, status__in=[PledgeClaim.Status.ACCEPTED, PledgeClaim.Status.UPHELD])
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return rows.get(PledgeClaim.Status.ACCEPTED, 0), rows.get(PledgeClaim.Status.UPHELD, 0)


def stalls_sellable_in(*, conversation, resident: Resident) -> list:
    """The stalls the resident could mark as sold in this conversation: their own (a direct
    conversation) or their shop's (a shop conversation, from the shop's side); the stall the
    conversation is about comes first."""
    if conversation.kind == Conversation.Kind.SHOP:
        if resident.pk == conversation.resident_id or resident.pk not in shop_side_ids(conversation.shop):
            return []
        qs = Stall.objects.filter(shop=conversation.shop)
    elif conversation.kind == Conversation.Kind.DIRECT:
        qs = Stall.objects.filter(seller=resident, shop__isnull=True)
    else:
        return []
    qs = qs.exclude(status=Stall.Status.HIDDEN).filter(kind__in=DEAL_KINDS)
    stalls = list(qs.order_by("-created_at")[:30])
    pinned = next((s for s in stalls if s.pk == conversation.stall_id), None)
    if pinned is not None:
        stalls.remove(pinned)
        stalls.insert(0, pinned)
    return stalls
