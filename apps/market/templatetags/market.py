from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from apps.core.formatting import distance_text
from apps.market.selectors import stall_shown_distance_m
from apps.shops import pledges

register = template.Library()


@register.simple_tag
def shown_distance(stall) -> str:
    """ "350 m away" for a shop's stall; "within about 500 m" for a neighbour's (coarse on purpose)."""
    d = stall_shown_distance_m(stall)
    if d is None:
        return ""
    text = distance_text(d)
    if stall.location_is_exact:
        return _("%(d)s away") % {"d": text}
    return _("within about %(d)s") % {"d": text}


@register.simple_tag
def pledge_label(pledge) -> str:
    kind = pledges.CATALOGUE.get(pledge.kind)
    return kind.short(pledge.terms) if kind else ""


@register.simple_tag
def pledge_terms(pledge) -> str:
    kind = pledges.CATALOGUE.get(pledge.kind)
    return kind.describe(pledge.terms) if kind else ""


@register.simple_tag(takes_context=True)
def stall_action(context, stall, action: str, label: str) -> str:
    request = context["request"]
    return format_html(
        '<form method="post" action="{}" class="inline"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit" class="button small secondary" data-testid="stall-{}">{}</button></form>',
        reverse("market:stall_status", args=[stall.pk, action]),
        get_token(request),
        action,
        label,
    )
