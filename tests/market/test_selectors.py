from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.market import selectors
from apps.market.models import Stall
from apps.nearby import geo
from apps.nearby.selectors import InvalidCursor
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, publish

pytestmark = pytest.mark.django_db

NORTH_600M = geo.Point(JINGAN.lat + 0.0054, JINGAN.lng)
FAR = geo.Point(JINGAN.lat + 0.03, JINGAN.lng)  # ~3.3 km


def feed(viewer, **kwargs):
    kwargs.setdefault("origin", viewer.point if getattr(viewer, "point", None) else JINGAN)
    kwargs.setdefault("radius_m", 1000)
    return selectors.stalls_feed(viewer=viewer, **kwargs)


def test_feed_has_open_stalls_within_the_radius_only():
    me = ResidentFactory(home=JINGAN)
    near = publish(shop=make_shop(at=NORTH_600M), title="near")
    publish(shop=make_shop(at=FAR), title="far")
    closed = publish(shop=make_shop(at=NORTH_600M), title="closed")
    Stall.objects.filter(pk=closed.pk).update(status="closed")
    stale = publish(shop=make_shop(at=NORTH_600M), title="stale")
    Stall.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))  # task not run yet
    assert [s.title for s in feed(me).items] == [near.title]


def test_ranking_blends_distance_and_freshness():
    me = ResidentFactory(home=JINGAN)
    close_old = publish(shop=make_shop(at=geo.Point(JINGAN.lat + 0.0009, JINGAN.lng)), title="close but 2 days old")
    Stall.objects.filter(pk=close_old.pk).update(fresh_days=close_old.fresh_days - 2)
    farther_new = publish(shop=make_shop(at=NORTH_600M), title="600 m, new")
    assert [s.title for s in feed(me).items] == [farther_new.title, close_old.title]


def test_filters():
    me = ResidentFactory(home=JINGAN)
    shop = make_shop(at=NORTH_600M)
    publish(shop=shop, title="Apples", price="12", category="fruit_veg")
    publish(shop=shop, title="Bread", price="25", category="bakery")
    neighbour = ResidentFactory(home=JINGAN)
    publish(neighbour, kind="free", title="Free books")
    f = selectors.FeedFilters
    assert {s.title for s in feed(me, filters=f(category="bakery")).items} == {"Bread"}
    assert {s.title for s in feed(me, filters=f(free_only=True)).items} == {"Free books"}
    assert {s.title for s in feed(me, filters=f(price_min=10, price_max=20)).items} == {"Apples"}
    assert {s.title for s in feed(me, filters=f(q="appl")).items} == {"Apples"}
    assert {s.title for s in feed(me, filters=f(seller="neighbours")).items} == {"Free books"}
    assert {s.title for s in feed(me, filters=f(seller="shops")).items} == {"Apples", "Bread"}
    assert {s.title for s in feed(me, filters=f(kind="free")).items} == {"Free books"}


def test_visitors_see_shops_stalls_only():
    shop_stall = publish(shop=make_shop(at=NORTH_600M))
    publish(ResidentFactory(home=JINGAN), title="neighbour's")
    items = feed(AnonymousUser(), origin=JINGAN).items
    assert [s.pk for s in items] == [shop_stall.pk]


def test_cursor_walks_the_feed_once():
    me = ResidentFactory(home=JINGAN)
    shop = make_shop(at=NORTH_600M)
    made = {publish(shop=shop).pk for _ in range(7)}
    seen, cursor = [], None
    while True:
        page = feed(me, cursor=cursor, limit=3)
        seen += [s.pk for s in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    with pytest.raises(InvalidCursor):
        feed(me, cursor="nonsense")


def test_resident_distances_are_coarse_and_shop_distances_exact():
    me = ResidentFactory(home=JINGAN)
    shop_stall = publish(shop=make_shop(at=NORTH_600M))
    neighbour_stall = publish(ResidentFactory(home=NORTH_600M))
    by_pk = {s.pk: s for s in feed(me).items}
    assert selectors.stall_shown_distance_m(by_pk[shop_stall.pk]) % 10 == 0
    assert selectors.stall_shown_distance_m(by_pk[neighbour_stall.pk]) in geo.COARSE_STEPS_M


def test_new_since_last_visit():
    me = ResidentFactory(home=JINGAN)
    publish(shop=make_shop(at=NORTH_600M))
    assert selectors.stalls_new_since(origin=me.point, radius_m=1000, since=None, viewer=me) == 0
    since = timezone.now() - timedelta(minutes=5)
    assert selectors.stalls_new_since(origin=me.point, radius_m=1000, since=since, viewer=me) == 1
    me.feed_seen_at = since
    assert all(s.is_new for s in feed(me).items)


def test_feed_query_count_is_bounded(django_assert_max_num_queries):
    me = ResidentFactory(home=JINGAN)
    for i in range(4):
        shop = make_shop(at=NORTH_600M, pledges=["returns"])
        for _ in range(5):
            publish(shop=shop, title=f"s{i}")
    for _ in range(5):
        publish(ResidentFactory(home=JINGAN))
    with django_assert_max_num_queries(5):
        page = feed(me, limit=25)
        for s in page.items:
            s.photos_in_order()
            s.shop and list(s.shop.active_pledges)
            s.seller.display_name
    assert len(page.items) == 25


def test_cards_read_of_the_seller_and_the_shop_only_what_a_card_shows(django_assert_max_num_queries):
    neighbour = ResidentFactory(home=JINGAN, display_name="Auntie Wang")
    own = publish(neighbour)
    shop = make_shop(at=NORTH_600M, name="Corner grocer", pledges=["returns"])
    shops = publish(shop=shop)
    cards = selectors.stall_cards([own.pk, shops.pk])
    # not the seller's password hash, e-mail or home point
    assert {"password", "email", "lat", "lng", "home_cell"} <= cards[own.pk].seller.get_deferred_fields()
    with django_assert_max_num_queries(0):
        assert cards[own.pk].seller.display_name == "Auntie Wang"
        assert cards[shops.pk].shop.name == "Corner grocer"
        assert [p.kind for p in cards[shops.pk].shop.active_pledges] == ["returns"]
        assert cards[own.pk].photos_in_order() == []


def test_cards_of_neighbours_stalls_only_ask_no_pledges(django_assert_num_queries):
    stalls = [publish(ResidentFactory(home=JINGAN)) for _ in range(3)]
    with django_assert_num_queries(2):  # the stalls with their sellers, their photos
        cards = selectors.stall_cards(s.pk for s in stalls)
    assert set(cards) == {s.pk for s in stalls}


def test_among_comparable_stalls_trusted_shops_rank_higher_and_sanctioned_lower():
    from apps.moderation import services as moderation
    from apps.shops.models import Shop
    from tests.moderation.factories import superuser

    me = ResidentFactory(home=JINGAN)
    trusted, neutral, sanctioned = (make_shop(at=NORTH_600M, name=n) for n in ("trusted", "neutral", "sanctioned"))
    Shop.objects.filter(pk=trusted.pk).update(reputation=90)
    moderation.shop_penalize(shop=sanctioned, moderator=superuser(), tier=1, reason="Misleading")  # reputation 35
    stalls = [publish(shop=shop, title=shop.name) for shop in (sanctioned, neutral, trusted)]
    Stall.objects.filter(pk__in=[s.pk for s in stalls]).update(fresh_days=stalls[0].fresh_days)
    assert [s.title for s in feed(me).items] == ["trusted", "neutral", "sanctioned"]
    # Trust only breaks near-ties: a sanctioned shop's stall a day fresher still comes first.
    Stall.objects.filter(pk=stalls[0].pk).update(fresh_days=stalls[0].fresh_days + 1)
    assert feed(me).items[0].title == "sanctioned"


@pytest.mark.parametrize(
    "radius, filters",
    [
        (1000, {}),
        (5000, {}),
        (5000, {"kind": "sale"}),
        (5000, {"category": "fruit_veg", "free_only": True}),
        (1000, {"price_min": 10, "price_max": 100, "seller": "shops"}),
    ],
)
def test_the_ranking_reads_the_stall_index_alone(radius, filters):
    """Ranking a whole circle must not read a table row per stall, nor join the shops, filtered or
    not (the text search apart): every stall column the ranking reads rides in the cell indexes,
    and SQLite's plan (PostgreSQL's planner picks by table size,
    which a test's handful of rows does not show) reads the index alone."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    me = ResidentFactory(home=JINGAN)
    publish(shop=make_shop(at=NORTH_600M))
    publish(ResidentFactory(home=JINGAN))
    with CaptureQueriesContext(connection) as ranked:
        selectors.stalls_feed_ranked(
            origin=me.point, radius_m=radius, viewer=me, filters=selectors.FeedFilters(**filters)
        )
    # Unfiltered at 5 km: ranked within 2 km first, then (too few stalls there to settle the page) the
    # whole circle. Filtered: the whole circle at once.
    assert len(ranked.captured_queries) == (1 if radius <= selectors.FEED_FIRST_REACH_M or filters else 2)
    cell_indexes = [i for i in Stall._meta.indexes if i.name.startswith("stall_r")]
    assert len(cell_indexes) == len(geo.COVER_RESOLUTIONS)
    cells = {geo.cell_field(res) for res in geo.COVER_RESOLUTIONS}  # the query picks one by radius
    for query in ranked.captured_queries:
        read = set(re.findall(r'"market_stall"\."(\w+)"', query["sql"]))
        assert {"lat", "lng", "fresh_days", "rank_penalty_days", "shop_trust"} <= read
        assert '"shops_shop"' not in query["sql"]  # the shop's trust is kept on the stall
        for index in cell_indexes:
            carried = {Stall._meta.get_field(name).column for name in index.fields}
            assert read - cells <= carried, (index.name, read - carried)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + query["sql"], query.get("params", ()))
                plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "market_stall USING COVERING INDEX stall_r" in plan, plan


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_wide_feed_ranked_in_a_smaller_circle_first_pages_as_the_whole_circle(seed, monkeypatch):
    """The 5 km feed is ranked within 2 km first and then only as far as a stall could still rank
    on the page: every page, walked by cursor, must be the whole circle's, whatever the stalls' ages,
    sanctions and shops' trust (at the ends of their ranges too)."""
    import math
    import random

    from apps.shops.models import Shop

    rng = random.Random(seed)
    now = timezone.now()
    today = now.timestamp() / 86400.0
    me = ResidentFactory(home=JINGAN)
    shops = [make_shop(at=NORTH_600M) for _ in range(4)]
    for shop, reputation in zip(shops, (0.0, 50.0, 100.0, 73.5), strict=True):
        Shop.objects.filter(pk=shop.pk).update(reputation=reputation)
    stalls = []
    for i in range(150):
        d, bearing = 5200 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        point = geo.Point(
            JINGAN.lat + d * math.cos(bearing) / 111_320,
            JINGAN.lng + d * math.sin(bearing) / (111_320 * math.cos(math.radians(JINGAN.lat))),
        )
        shop = rng.choice([*shops, None])
        stall = Stall(
            seller=shop.owner if shop else me,
            shop=shop,
            kind="sale",
            category="other",
            title=f"stall {i}",
            price=1,
            expires_at=now + timedelta(days=1),
            # most published in the last hours (a busy morning), some up to a month ago
            fresh_days=today - (rng.uniform(0, 0.2) if rng.random() < 0.7 else rng.uniform(0, 30)),
            rank_penalty_days=rng.choice([0.0, 0.0, 0.0, 2.0, 5.0]),
        )
        stall.place_at(point)
        stalls.append(stall)
    Stall.objects.bulk_create(stalls)

    reaches = []
    reach_m = selectors._reach_m
    monkeypatch.setattr(selectors, "_reach_m", lambda *a: reaches.append(reach_m(*a)) or reaches[-1])

    def pages(first_reach_m: int) -> list[list[tuple]]:
        monkeypatch.setattr(selectors, "FEED_FIRST_REACH_M", first_reach_m)
        walked, cursor = [], None
        while True:
            ranked, cursor = selectors.stalls_feed_ranked(
                origin=JINGAN, radius_m=5000, viewer=me, cursor=cursor, limit=6, now=now
            )
            walked.append(ranked)
            if not cursor:
                return walked

    whole = pages(first_reach_m=5000)
    assert sum(len(p) for p in whole) > 100
    assert pages(first_reach_m=2000) == whole
    assert any(r < 5000 for r in reaches)  # some pages were settled before the whole circle


def test_a_trusted_shop_just_beyond_the_first_circle_still_heads_the_wide_feed():
    """The reach counts the largest trust bonus: two neighbours' stalls 1.9 km away settle a page of
    one within 2 km unless a stall farther out can still rank before them, as a shop of the highest
    reputation 2.2 km away does (half a km of trust)."""
    from apps.shops.models import Shop

    me = ResidentFactory(home=JINGAN)
    north = lambda m: geo.Point(JINGAN.lat + m / 111_320, JINGAN.lng)  # noqa: E731
    for _ in range(2):
        publish(ResidentFactory(home=north(1900)), title="neighbour's")
    trusted = make_shop(at=north(2200))
    Shop.objects.filter(pk=trusted.pk).update(reputation=100.0)
    publish(shop=trusted, title="trusted")
    ranked, _ = selectors.stalls_feed_ranked(origin=JINGAN, radius_m=5000, viewer=me, limit=1)
    assert Stall.objects.get(pk=ranked[0][0]).title == "trusted"


def test_nothing_beyond_a_pages_reach_can_join_it():
    """The cached cards watch only the areas within the page's reach (apps/market/card_cache.py):
    a stall beyond it, published later from a shop of the best reputation, still ranks after it."""
    from apps.shops.models import Shop

    me = ResidentFactory(home=JINGAN, radius_m=5000)
    north = lambda m: geo.Point(JINGAN.lat + m / 111_320, JINGAN.lng)  # noqa: E731
    near = make_shop(at=NORTH_600M)
    for n in range(3):
        publish(shop=near, title=f"near {n}")
    page = feed(me, radius_m=5000, limit=2)
    reach_m = selectors.stalls_feed_reach_m(page, until=timezone.now() + timedelta(minutes=10))
    assert page.bound_rank is not None
    assert max(stall.distance_m for stall in page.items) <= reach_m < 5000
    trusted = make_shop(at=north(reach_m + 20))
    Shop.objects.filter(pk=trusted.pk).update(reputation=100.0)
    publish(shop=trusted, title="beyond the reach")
    assert [s.title for s in feed(me, radius_m=5000, limit=2).items] == [s.title for s in page.items]
    # the last page takes any stall of the circle
    last = feed(me, radius_m=5000, limit=10)
    assert last.bound_rank is None
    assert selectors.stalls_feed_reach_m(last, until=timezone.now()) == 5000
