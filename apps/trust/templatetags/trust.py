"""Trust blocks that other apps' pages include with one line each:

- `{% trust_resident_panel resident %}` on a profile: the ladder and its reasons, neighbours you both
  know, vouch and "I recognise" buttons, the resident's public reviews as a seller.
- `{% trust_seller_card stall %}` on a stall page: the seller's standing (a shop's reputation, or
  the ladder with a neighbour).
- `{% trust_shop_reputation shop %}` on a shop page: the score, why, and the public reviews.
- `{% trust_conversation_deal conversation %}` on a conversation: mark a sale, or confirm one.
"""

from django import template

from apps.trust import rules, selectors
from apps.trust.forms import DealMarkForm, ReplyForm
from apps.trust.models import Deal

register = template.Library()


def _viewer(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


@register.inclusion_tag("trust/_resident_panel.html", takes_context=True)
def trust_resident_panel(context, resident):
    viewer = _viewer(context)
    data = {"request": context.get("request"), "resident": resident, "viewer": viewer, "is_me": False}
    data["reviews"] = list(selectors.reviews_public_of_resident(resident=resident)[:10])
    data["vouches"] = selectors.vouches_counting(resident=resident).count()
    if viewer is None:
        return data
    if viewer.pk == resident.pk:
        data["is_me"] = True
        data["private_reviews"] = list(selectors.reviews_private_about(resident=resident)[:10])
        return data
    data["ladder"] = selectors.acquaintance(viewer=viewer, other=resident)
    data["mutual"] = selectors.mutual_neighbours(viewer=viewer, other=resident)
    data["can_vouch_here"] = (
        viewer.is_verified_resident and resident.is_active and selectors.lives_next_to(viewer, resident)
    )
    data["vouches_left"] = max(0, rules.VOUCHES_PER_WEEK - selectors.vouches_given_this_week(voucher=viewer))
    return data


@register.inclusion_tag("trust/_seller_card.html", takes_context=True)
def trust_seller_card(context, stall):
    viewer = _viewer(context)
    data = {"stall": stall, "viewer": viewer}
    if stall.shop_id:
        data["reputation"] = selectors.reputation_stored(shop=stall.shop)
    else:
        data["seller"] = stall.seller
        if viewer is not None and viewer.pk != stall.seller_id:
            data["ladder"] = selectors.acquaintance(viewer=viewer, other=stall.seller)
    return data


@register.inclusion_tag("trust/_shop_reputation.html", takes_context=True)
def trust_shop_reputation(context, shop):
    viewer = _viewer(context)
    reviews = list(selectors.reviews_public_of_shop(shop=shop)[:20])
    # The owner replies here (staff, from the deal's page): no extra query for the staff list.
    can_reply = viewer is not None and viewer.pk == shop.owner_id
    return {
        "request": context.get("request"),
        "viewer": viewer,
        "shop": shop,
        "reputation": selectors.reputation_stored(shop=shop),
        "reviews": reviews,
        "can_reply": can_reply,
        "reply_form": ReplyForm() if can_reply else None,
    }


@register.inclusion_tag("trust/_conversation_deal.html", takes_context=True)
def trust_conversation_deal(context, conversation):
    viewer = _viewer(context)
    data = {"request": context.get("request"), "conversation": conversation, "viewer": viewer}
    if viewer is None or conversation.is_room:
        return data
    stalls = selectors.stalls_sellable_in(conversation=conversation, resident=viewer)
    if stalls:
        data["mark_form"] = DealMarkForm(stalls=stalls, initial={"stall": stalls[0].pk, "quantity": 1})
    data["deals"] = list(
        Deal.objects.filter(conversation=conversation).select_related("buyer", "seller").order_by("-created_at")[:5]
    )
    return data


@register.filter
def stars(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return ""
    return "★" * n + "☆" * (5 - n)
