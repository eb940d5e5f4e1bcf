"""Template helpers for shops, usable from any app's templates: `{% load shops %}`."""

from django import template

from apps.core.formatting import distance_text
from apps.shops import selectors

register = template.Library()


@register.simple_tag
def shop_pledge_badges(shop) -> list:
    """`{% shop_pledge_badges shop as badges %}`: the shop's active pledges in words (see PledgeBadge)."""
    if shop is None:
        return []
    return selectors.pledge_badges(shop=shop)


@register.simple_tag
def shop_open_state(shop):
    """`{% shop_open_state shop as state %}`: open now or not, on the shop's own clock."""
    return selectors.shop_open_state(shop)


@register.filter
def shop_distance(meters) -> str:
    """A shop is a public place: its distance is shown as it is, to the nearest 10 m."""
    if meters is None or meters == "":
        return ""
    meters = float(meters)
    return distance_text(meters if meters >= 1000 else round(meters / 10.0) * 10)
