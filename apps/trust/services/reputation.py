"""Keeps each shop's reputation score stored on the shop (docs/trust.md, "The reputation formula").

Recomputed in the same transaction as the deal, review, claim or sanction that changes it: a few
aggregate queries over one shop's history, and the stored score can never disagree with what has
committed. A daily task recomputes every shop too, for the windows that move with time (90 days of
repeat customers, moderation's counting window for penalty points).
"""

from __future__ import annotations

from django.db import transaction

from apps.market import card_cache
from apps.market.services import stalls_shop_trust_set
from apps.shops.models import Shop

from .. import selectors


@transaction.atomic
def reputation_recompute(*, shop: Shop) -> float:
    """Recomputes and stores the shop's score. Moderation calls it whenever a shop's penalty points
    change (points given, or revoked on appeal)."""
    facts = selectors.reputation_facts(shop=shop)
    score = selectors.reputation_from(facts).score
    Shop.objects.filter(pk=shop.pk).update(reputation=score, reputation_facts=facts)
    stalls_shop_trust_set(shop=shop, reputation=score)
    # The score moves the shop's stalls in the feed, and what changed it (penalty points) can take
    # its badges off their cards even where the score is already at 0: their shared cards are rebuilt.
    card_cache.shop_touch(shop.pk)
    shop.reputation, shop.reputation_facts = score, facts
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
