"""Keeps each shop's reputation score stored on the shop (docs/trust.md, "The reputation formula").

Recomputed in the same transaction as the deal, review, claim or sanction that changes it: a few
aggregate queries over one shop's history, and the stored score can never disagree with what has
committed. A daily task recomputes every shop too, for the 90-day window that moves with time.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import DomainError
from apps.shops.models import Shop

from .. import selectors


@transaction.atomic
def reputation_recompute(*, shop: Shop) -> float:
    facts = selectors.reputation_facts(shop=shop)
    penalty = Shop.objects.filter(pk=shop.pk).values_list("penalty_points", flat=True).first() or 0
    score = selectors.reputation_from(facts, penalty_points=penalty).score
    Shop.objects.filter(pk=shop.pk).update(reputation=score, reputation_facts=facts)
    shop.reputation, shop.reputation_facts, shop.penalty_points = score, facts, penalty
    return score


def reputations_recompute_all(*, batch: int = 500) -> int:
    """Every shop, one transaction each (the periodic task)."""
    done = 0
    for pk in Shop.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=batch):
        shop = Shop.objects.filter(pk=pk).first()
        if shop is not None:
            reputation_recompute(shop=shop)
            done += 1
    return done


@transaction.atomic
def shop_penalty_points_set(*, shop: Shop, points: int) -> Shop:
    """The hook for moderation: it decides sanctions (tiers, expiry, audit) and stores here the
    penalty points in force, which the reputation subtracts (5 per point) at once."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise DomainError(_("Penalty points are a whole number, zero or more."), field="points")
    Shop.objects.filter(pk=shop.pk).update(penalty_points=points)
    shop.penalty_points = points
    reputation_recompute(shop=shop)
    return shop
