from django import template

from .. import rules, selectors

register = template.Library()


@register.inclusion_tag("moderation/_shop_sanctions.html")
def shop_sanctions(shop):
    """The shop page's record of sanctions in the last 90 days (and what they cost the shop now)."""
    standing = selectors.shop_standing(shop=shop)
    tiers = {tier: label for tier, (_points, label) in rules.PENALTY_TIERS.items()}
    for decision in standing.sanctions:
        decision.tier_label = tiers.get(decision.tier, "")
        decision.under_appeal = selectors.hasattr_appeal(decision) and decision.appeal.status == "pending"
    return {"shop": shop, "standing": standing}
