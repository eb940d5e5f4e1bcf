"""A shop's reputation: one formula (docs/trust.md), and the lines that explain it.

The score is 50 for a shop with no history, and moves with five things: the smoothed rating, the
confirmed deals, the repeat-customer rate, the pledge claims honoured or broken, and moderation's
penalty points. `reputation_explain` computes it; `services.reputation_recompute` stores it on the
shop so that the feed reads it without touching the history.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.shops.models import Shop

from .. import rules
from ..models import Deal, Review
from .deals import claims_counts


@dataclass(frozen=True)
class ReputationLine:
    key: str
    label: str
    points: float


@dataclass(frozen=True)
class Reputation:
    score: float
    rating: float  # smoothed, in stars
    reviewers: int
    raw_rating: float | None  # plain average over reviewers, for display
    deals_counted: int
    customers_90d: int
    repeaters_90d: int
    honoured: int
    broken: int
    penalty_points: int
    lines: list[ReputationLine]

    @property
    def repeat_rate(self) -> float | None:
        """Plain share of the last 90 days' customers who came back (display only)."""
        return self.repeaters_90d / self.customers_90d if self.customers_90d else None

    @property
    def tier(self) -> str:
        if self.score >= 70:
            return "high"
        if self.score >= 45:
            return "neutral"
        return "low"


def _rating(shop: Shop) -> tuple[float, int, float | None]:
    """Each reviewer speaks once: their reviews of the shop are averaged first, so twenty reviews from
    one friend weigh as one. Reviews by deactivated (banned) accounts, or hidden by moderation, no longer count."""
    per_author = (
        Review.objects.filter(
            shop=shop, direction=Review.Direction.OF_SELLER, author__is_active=True, hidden_at__isnull=True
        )
        .values("author_id")
        .annotate(total=Sum("stars"), n=Count("pk"))
    )
    means = [row["total"] / row["n"] for row in per_author]
    n = len(means)
    smoothed = (rules.RATING_PRIOR_WEIGHT * rules.RATING_PRIOR + sum(means)) / (rules.RATING_PRIOR_WEIGHT + n)
    return smoothed, n, (sum(means) / n if n else None)


def _deal_days(shop: Shop, since: datetime | None = None) -> dict[int, list[int]]:
    """Per buyer, the confirmed deals of each calendar day they bought (in the site's time zone).
    Deals with deactivated (banned) buyers no longer count."""
    qs = Deal.objects.filter(shop=shop, status=Deal.Status.CONFIRMED, buyer__is_active=True)
    if since is not None:
        qs = qs.filter(answered_at__gte=since)
    per_day = (
        qs.annotate(day=TruncDate("answered_at", tzinfo=timezone.get_default_timezone()))
        .values("buyer_id", "day")
        .annotate(n=Count("pk"))
    )
    days: dict[int, list[int]] = defaultdict(list)
    for row in per_day:
        days[row["buyer_id"]].append(row["n"])
    return days


def reputation_facts(*, shop: Shop, now: datetime | None = None) -> dict:
    """The numbers the score is made of, read from the shop's history (a few aggregate queries)."""
    now = now or timezone.now()
    rating, reviewers, raw = _rating(shop)
    # Many deals between the same two accounts in a day count as DEALS_COUNTED_PER_PAIR_PER_DAY.
    deals_counted = sum(
        min(n, rules.DEALS_COUNTED_PER_PAIR_PER_DAY) for per_day in _deal_days(shop).values() for n in per_day
    )
    # A repeat customer came back on another day within 90 days: two deals in one visit are not loyalty.
    recent = _deal_days(shop, since=now - rules.REPEAT_WINDOW)
    honoured, broken = claims_counts(shop=shop)
    from apps.moderation.selectors import shop_penalty_points

    return {
        "rating": rating,
        "reviewers": reviewers,
        "raw_rating": raw,
        "deals_counted": deals_counted,
        "customers_90d": len(recent),
        "repeaters_90d": sum(1 for per_day in recent.values() if len(per_day) >= 2),
        "honoured": honoured,
        "broken": broken,
        # Moderation's points in force (its counting window, appeals granted taken off).
        "penalty_points": shop_penalty_points(shop=shop),
    }


NO_HISTORY = {
    "rating": rules.RATING_PRIOR,
    "reviewers": 0,
    "raw_rating": None,
    "deals_counted": 0,
    "customers_90d": 0,
    "repeaters_90d": 0,
    "honoured": 0,
    "broken": 0,
    "penalty_points": 0,
}


def reputation_from(facts: dict) -> Reputation:
    """The formula (docs/trust.md): the score and the lines that explain it, from the facts."""
    rating, reviewers = facts["rating"], facts["reviewers"]
    deals_counted = facts["deals_counted"]
    customers, repeaters = facts["customers_90d"], facts["repeaters_90d"]
    honoured, broken = facts["honoured"], facts["broken"]
    penalty = facts["penalty_points"]

    rating_points = rules.RATING_POINTS_PER_STAR * (rating - rules.RATING_PRIOR)
    deals_points = rules.DEALS_POINTS_MAX * min(
        1.0, math.log1p(deals_counted) / math.log1p(rules.DEALS_FOR_FULL_POINTS)
    )
    repeat_points = rules.REPEAT_POINTS_MAX * repeaters / (customers + rules.REPEAT_PRIOR_CUSTOMERS)
    pledge_points = min(rules.HONOURED_POINTS_MAX, rules.HONOURED_POINTS_EACH * honoured) - (
        rules.BROKEN_POINTS_EACH * broken
    )
    sanction_points = -rules.PENALTY_POINTS_EACH * penalty

    lines = [
        ReputationLine(
            "rating",
            ngettext(
                "Rating %(rating).1f★, smoothed from %(n)d reviewer (a new shop starts at %(prior).1f★)",
                "Rating %(rating).1f★, smoothed from %(n)d reviewers (a new shop starts at %(prior).1f★)",
                reviewers,
            )
            % {"rating": rating, "n": reviewers, "prior": rules.RATING_PRIOR},
            rating_points,
        ),
        ReputationLine(
            "deals",
            ngettext(
                "%(n)d confirmed deal (one per customer per day counts)",
                "%(n)d confirmed deals (one per customer per day counts)",
                deals_counted,
            )
            % {"n": deals_counted},
            deals_points,
        ),
        ReputationLine(
            "repeat",
            ngettext(
                "%(r)d of %(n)d customer in the last 90 days came back on another day",
                "%(r)d of %(n)d customers in the last 90 days came back on another day",
                customers,
            )
            % {"r": repeaters, "n": customers},
            repeat_points,
        ),
        ReputationLine(
            "pledges",
            _("Pledge claims: %(h)d honoured, %(b)d broken") % {"h": honoured, "b": broken},
            pledge_points,
        ),
    ]
    if penalty:
        lines.append(
            ReputationLine(
                "sanctions",
                ngettext("%(n)d penalty point from moderators", "%(n)d penalty points from moderators", penalty)
                % {"n": penalty},
                sanction_points,
            )
        )
    total = rules.REPUTATION_NEUTRAL + rating_points + deals_points + repeat_points + pledge_points + sanction_points
    score = round(min(100.0, max(0.0, total)), 1)
    return Reputation(
        score=score,
        rating=round(rating, 2),
        reviewers=reviewers,
        raw_rating=round(facts["raw_rating"], 2) if facts["raw_rating"] is not None else None,
        deals_counted=deals_counted,
        customers_90d=customers,
        repeaters_90d=repeaters,
        honoured=honoured,
        broken=broken,
        penalty_points=penalty,
        lines=[ReputationLine(li.key, li.label, round(li.points, 1)) for li in lines],
    )


def reputation_explain(*, shop: Shop, now: datetime | None = None) -> Reputation:
    """The reputation computed afresh from the history."""
    return reputation_from(reputation_facts(shop=shop, now=now))


def reputation_stored(*, shop: Shop) -> Reputation:
    """The reputation as last stored on the shop (no query): what pages show. Equal to
    `reputation_explain` after every recompute, which each change to the history triggers."""
    return reputation_from({**NO_HISTORY, **(shop.reputation_facts or {})})
