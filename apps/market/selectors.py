"""Reads of the market: the nearby feed, one stall, a seller's stalls."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import F, FloatField, Func, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils import timezone

from apps.moderation import areas
from apps.nearby import geo
from apps.nearby.selectors import decode_keyset, encode_cursor, located_within
from apps.shops.selectors import active_pledges_prefetch
from apps.trust.rules import REPUTATION_NEUTRAL

from .models import Stall, StallPhoto

# The feed's ranking, lower first: kilometres away plus days since published (or renewed), so a
# stall 1 km away posted now ranks with one next door posted yesterday. Documented in docs/feed.md.
DAYS_WEIGHT = 1.0
KM_WEIGHT = 1.0
# Trust (docs/trust.md): a shop's stored reputation (0–100, 50 when new) shifts its stalls by up to
# half a km-or-day either way, so among comparably near and fresh stalls, trusted and honouring shops
# come first and sanctioned ones later. Residents' stalls count as neutral.
TRUST_WEIGHT = 0.5 / (100.0 - REPUTATION_NEUTRAL)


class FeedRank(Func):
    """The feed's rank of a stall, lower first (see DAYS_WEIGHT above and docs/feed.md), as one SQL
    expression: km away, less days of freshness, plus the days of its shop's sanctions, less its
    shop's trust (`Stall.shop_trust`, kept on the stall). One node for the ORM to resolve, hash and
    compile in the SELECT, the ORDER BY and a cursor's WHERE instead of a tree of seventeen
    (docs/benchmarks.md, the feed's ninth round); the same SQL on both databases."""

    output_field = FloatField()
    arity = 4

    def __init__(self):
        super().__init__(F("distance_m"), F("fresh_days"), F("rank_penalty_days"), F("shop_trust"))

    def as_sql(self, compiler, connection, **extra_context):
        (distance, d_p), (fresh, f_p), (penalty, p_p), (trust, t_p) = (
            compiler.compile(e) for e in self.source_expressions
        )
        sql = f"((((%s * {distance}) / %s) - (%s * ({fresh} - {penalty}))) - (%s * {trust}))"
        params = (KM_WEIGHT, *d_p, 1000.0, DAYS_WEIGHT, *f_p, *p_p, TRUST_WEIGHT, *t_p)
        return sql, params


@dataclass
class FeedFilters:
    kind: str | None = None
    category: str | None = None
    free_only: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    q: str = ""
    seller: str | None = None  # "shops" | "neighbours" | None

    def apply(self, qs: QuerySet) -> QuerySet:
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.category:
            qs = qs.filter(category=self.category)
        if self.free_only:
            qs = qs.filter(kind=Stall.Kind.FREE)
        if self.price_min is not None:
            qs = qs.filter(price__gte=self.price_min)
        if self.price_max is not None:
            qs = qs.filter(price__lte=self.price_max)
        if self.q:
            qs = qs.filter(Q(title__icontains=self.q) | Q(description__icontains=self.q))
        if self.seller == "shops":
            qs = qs.filter(shop__isnull=False)
        elif self.seller == "neighbours":
            qs = qs.filter(shop__isnull=True)
        return qs


@dataclass
class FeedPage:
    items: list[Stall]
    next_cursor: str | None
    origin: geo.Point
    radius_m: int
    new_count: int = 0
    extra: dict = field(default_factory=dict)
    # The rank of the first stall after the page (None on the last page): what a change must beat
    # to alter the page (`stalls_feed_reach_m`).
    bound_rank: float | None = None


def stalls_open(*, now: datetime | None = None) -> QuerySet:
    """Open stalls not yet past their expiry: expired ones leave the feed at once, before the task runs."""
    return Stall.objects.filter(status=Stall.Status.OPEN, expires_at__gt=now or timezone.now())


def shown_photos_prefetch() -> Prefetch:
    """The stalls' photos in their order, as `Stall.photos_in_order()` reads them."""
    return Prefetch("photos", queryset=StallPhoto.objects.all(), to_attr="shown_photos")


def _with_cards(qs: QuerySet) -> QuerySet:
    photos, pledges = shown_photos_prefetch(), active_pledges_prefetch("shop__")
    return qs.select_related("seller", "shop").prefetch_related(photos, pledges)


# What a card shows of a stall's seller and shop (the feed page, its API, the digest, the kept
# cards): their other columns, a resident's password hash, e-mail and home point among them, are
# not read. Whole rows took 1.4 times as long to load (docs/benchmarks.md, the feed's ninth round).
_CARD_FIELDS = (
    *(f.name for f in Stall._meta.concrete_fields),
    "seller__display_name",
    "shop__name",
    "shop__is_verified",
)


def stalls_feed_ranked(
    *,
    origin: geo.Point,
    radius_m: int,
    viewer=None,
    filters: FeedFilters | None = None,
    cursor: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> tuple[list[tuple[int, float, float]], str | None]:
    """The feed's ranking alone: (id, rank, distance in metres) of a page of open stalls within the
    radius, best first by the documented blend of distance and freshness, and the next page's cursor.

    Visitors who are not logged in see shops' stalls only; residents' stalls are for neighbours.
    """
    ranked = _feed_ranking(
        origin=origin, radius_m=radius_m, viewer=viewer, filters=filters, cursor=cursor, limit=limit, now=now
    )
    next_cursor = encode_cursor(ranked[limit - 1][1], ranked[limit - 1][0]) if len(ranked) > limit else None
    return [(pk, rank, distance) for pk, rank, distance, _cell in ranked[:limit]], next_cursor


def _feed_ranking(
    *, origin: geo.Point, radius_m: int, viewer, filters: FeedFilters | None, cursor: str | None, limit: int, now
) -> list[tuple[int, float, float, int]]:
    """The page of `stalls_feed_ranked` and the first stall after it, when there is one, as (id, rank,
    distance, the stall's cell at the resolution the query read: 8 or finer)."""
    now = now or timezone.now()
    qs = stalls_open(now=now)
    if viewer is None or not viewer.is_authenticated:
        qs = qs.filter(shop__isnull=False)
    if filters:
        qs = filters.apply(qs)
    keyset = decode_keyset(cursor) if cursor else None

    def ranked_within(reach_m: int) -> list[tuple[int, float, float, int]]:
        page = located_within(qs, origin=origin, radius_m=reach_m)
        # km + days of age == km - fresh_days + (a constant for this query): rank by the first two.
        # A sanctioned shop's stalls rank as if `rank_penalty_days` older (docs/moderation.md).
        page = page.annotate(rank=FeedRank()).order_by("rank", "pk")
        if keyset:
            score, pk = keyset
            page = page.filter(Q(rank__gt=score) | Q(rank=score, pk__gt=pk))
        # Rank every stall in the circle reading only the columns the rank needs, and the cell the
        # query found it by (its kept card's area); the cards of the page are loaded apart: joining
        # sellers for thousands of rows before the sort cost more.
        cell = geo.cell_field(geo.cover_resolution(reach_m))
        return list(page.values_list("pk", "rank", "distance_m", cell)[: limit + 1])

    # A wide circle is ranked in a smaller one first. Once it holds limit + 1 stalls, no stall
    # farther than `_reach_m` of the last of them can rank before it, so the page is the ranking of
    # that reach, which in a busy neighbourhood is far smaller than the whole circle (docs/feed.md).
    # Only for the unfiltered feed of a neighbour: filters thin the stalls out, the smaller circle
    # then rarely holds a page, and its query was measured to cost more than it saved.
    unfiltered = (filters is None or filters == FeedFilters()) and viewer is not None and viewer.is_authenticated
    first_m = min(radius_m, FEED_FIRST_REACH_M) if unfiltered else radius_m
    ranked = ranked_within(first_m)
    if first_m < radius_m:
        reach_m = _reach_m(ranked[limit][1], now) if len(ranked) > limit else radius_m
        if reach_m > first_m:
            ranked = ranked_within(min(radius_m, reach_m))
    return ranked


# Where a wide feed circle is ranked first (see `stalls_feed_ranked`).
FEED_FIRST_REACH_M = 2000
# Reaches are rounded up to this step, so that the covers of the circles come back from their cache.
FEED_REACH_STEP_M = 250
# Margin for the clocks of several servers: a stall published on one whose clock is ahead.
FRESH_SLACK_DAYS = 1 / 24


def _reach_m(rank_value: float, now: datetime) -> int:
    """The distance beyond which no open stall can rank at `rank_value` or better. A stall d km away
    ranks at least KM_WEIGHT * d - DAYS_WEIGHT * (its fresh_days, at most today) + DAYS_WEIGHT * (its
    penalty, never negative) - the largest trust bonus (reputation is kept within 0-100)."""
    newest = now.timestamp() / 86400.0 + FRESH_SLACK_DAYS
    best_trust = TRUST_WEIGHT * (100.0 - REPUTATION_NEUTRAL)
    km = (rank_value + DAYS_WEIGHT * newest + best_trust) / KM_WEIGHT
    return math.ceil(km * 1000.0 / FEED_REACH_STEP_M + 1e-9) * FEED_REACH_STEP_M


def stalls_feed_reach_m(page: FeedPage, *, until: datetime) -> int:
    """How far from the page's origin a change, until `until`, can alter the page: a stall farther
    away ranks after the first stall past the page whatever it shows (published by then, renewed,
    its shop's trust at the best), and a stall on the page is never farther. The whole radius on
    the last page, where any stall of the circle would join it."""
    if page.bound_rank is None:
        return page.radius_m
    return min(page.radius_m, _reach_m(page.bound_rank, until))


def stall_cards(stall_ids) -> dict[int, Stall]:
    """The stalls with what a card shows (seller, shop, photos, the shop's pledges), by id."""
    stalls = (
        Stall.objects.filter(pk__in=list(stall_ids))
        .select_related("seller", "shop")
        .only(*_CARD_FIELDS)
        .prefetch_related(shown_photos_prefetch())
        .in_bulk()
    )
    # The pledges' query, with its rule for shops that lost their badges, is built only for pages
    # with shops on them.
    shops = [stall.shop for stall in stalls.values() if stall.shop_id is not None]
    if shops:
        prefetch_related_objects(shops, active_pledges_prefetch())
    return stalls


def stalls_feed(
    *,
    origin: geo.Point,
    radius_m: int,
    viewer=None,
    filters: FeedFilters | None = None,
    cursor: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
    cards_of: Callable[[list[tuple[int, int]]], dict] | None = None,
) -> FeedPage:
    """Open stalls within the radius, best first by the documented blend of distance and freshness.

    Visitors who are not logged in see shops' stalls only; residents' stalls are for neighbours.
    The items are the stalls with their cards loaded (`stall_cards`), or what `cards_of` gives for
    the page's (id, cell) pairs, by id (cells of resolution 8 or finer): the feed page's kept cards.
    """
    now = now or timezone.now()
    ranked = _feed_ranking(
        origin=origin, radius_m=radius_m, viewer=viewer, filters=filters, cursor=cursor, limit=limit, now=now
    )
    bound_rank, next_cursor = None, None
    if len(ranked) > limit:
        bound_rank = ranked[limit][1]
        next_cursor = encode_cursor(ranked[limit - 1][1], ranked[limit - 1][0])
        ranked = ranked[:limit]
    if cards_of is None:
        cards = stall_cards(pk for pk, *_ in ranked)
    else:
        cards = cards_of([(pk, cell) for pk, _rank, _distance, cell in ranked])
    rows = []
    for pk, rank_value, distance, _cell in ranked:
        stall = cards.get(pk)  # gone between the two reads: the page is one shorter, the cursor holds
        if stall is not None:
            stall.rank, stall.distance_m = rank_value, distance
            rows.append(stall)
    seen = getattr(viewer, "feed_seen_at", None) if viewer is not None and viewer.is_authenticated else None
    for stall in rows:
        stall.is_new = seen is not None and stall.created_at > seen
        stall.age_days = max(0.0, now.timestamp() / 86400.0 - stall.fresh_days)
    return FeedPage(items=rows, next_cursor=next_cursor, origin=origin, radius_m=radius_m, bound_rank=bound_rank)


def stall_shown_distance_m(stall: Stall) -> int | None:
    """What a viewer is told: metres to a shop's stall, a coarse step to a resident's."""
    d = getattr(stall, "distance_m", None)
    if d is None:
        return None
    if stall.location_is_exact:
        return int(round(d / 10.0) * 10)
    return geo.coarse_distance_m(d)


def stall_get_for_viewer(*, stall_id: int, viewer) -> Stall:
    """One stall as a viewer may see it: hidden ones only for the seller and the moderators of its
    area; residents' stalls only for logged-in neighbours (PermissionDenied sends a visitor to log in)."""
    stall = _with_cards(Stall.objects.filter(pk=stall_id)).first()
    if stall is None:
        raise Http404
    is_authenticated = viewer is not None and viewer.is_authenticated
    if stall.status == Stall.Status.HIDDEN and not (
        is_authenticated
        and (stall.seller_id == viewer.pk or (areas.is_moderator(viewer) and areas.located_in_scope(viewer, stall)))
    ):
        raise Http404
    if stall.shop_id is None and not is_authenticated:
        raise PermissionDenied
    if is_authenticated and viewer.point is not None and stall.lat is not None:
        stall.distance_m = geo.distance_m(viewer.point, stall.point)
    return stall


def stalls_of_seller(*, seller) -> QuerySet:
    return _with_cards(Stall.objects.filter(Q(seller=seller) | Q(shop__owner=seller))).order_by("-created_at")


def stalls_new_since(*, origin: geo.Point, radius_m: int, since: datetime | None, viewer) -> int:
    if since is None:
        return 0
    qs = stalls_open().filter(created_at__gt=since).exclude(seller=viewer)
    return located_within(qs, origin=origin, radius_m=radius_m).count()
