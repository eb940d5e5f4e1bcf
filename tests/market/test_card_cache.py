"""The shared feed cards are rebuilt as soon as something they show changes nearby, and kept while
nothing does (apps/market/card_cache.py)."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.accounts.services import resident_profile_update
from apps.market import card_cache, services
from apps.market.views import FEED_PAGE_SIZE
from apps.nearby import geo
from apps.shops.services import pledge_take, shop_update
from apps.trust.services.reputation import reputation_recompute
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, photo, publish
from tests.market.test_selectors import FAR, NORTH_600M

pytestmark = pytest.mark.django_db

ACROSS_TOWN = geo.Point(JINGAN.lat - 0.2, JINGAN.lng + 0.2)  # about 30 km away


@pytest.fixture(autouse=True)
def _long_backstop(settings):
    settings.JIEFANG_FEED_CACHE_SECONDS = 600  # here only changes may rebuild the cards


def look(client) -> str:
    return client.get(reverse("home")).content.decode()


def look_reads_stalls(client) -> bool:
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("home"))
    return any("market_stall" in q["sql"] for q in ctx.captured_queries)


@pytest.fixture
def shop_near_me(client):
    shop = make_shop(at=NORTH_600M, name="Old Wang's fruit")
    stall = publish(shop=shop, title="Lychees")
    client.force_login(ResidentFactory(home=JINGAN))
    assert "Lychees" in look(client)  # the cards are cached from here on
    assert not look_reads_stalls(client)
    return shop, stall


def test_a_new_stall_shows_at_the_next_look(client, shop_near_me, django_capture_on_commit_callbacks):
    shop, _ = shop_near_me
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=shop, title="Just baked")
    assert "Just baked" in look(client)


def test_a_change_is_seen_only_once_committed(client, shop_near_me, django_capture_on_commit_callbacks):
    """Until its transaction commits, a change leaves the marks alone: a page built meanwhile cannot
    carry the new mark without the change. A rolled-back change never marks anything."""
    shop, _ = shop_near_me
    keys = card_cache.mark_keys_of_circle(JINGAN, 1000)
    before = cache.get_many(keys)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        publish(shop=shop, title="Never sold")
        assert cache.get_many(keys) == before
        raise RuntimeError
    assert cache.get_many(keys) == before
    assert "Never sold" not in look(client)
    assert not look_reads_stalls(client)


@pytest.mark.parametrize(
    ("change", "shown", "gone"),
    [
        (
            lambda shop, stall: services.stall_update(stall=stall, actor=shop.owner, title="Ripe mangoes"),
            "Ripe mangoes",
            "Lychees",
        ),
        (lambda shop, stall: services.stall_reserve(stall=stall, actor=shop.owner), None, "Lychees"),
        (lambda shop, stall: services.stalls_hide_live(shop=shop), None, "Lychees"),
        (
            lambda shop, stall: services.stall_photos_add(stall=stall, actor=shop.owner, photos=[photo()]),
            'class="thumb"',
            None,
        ),
        (
            lambda shop, stall: shop_update(shop=shop, by=shop.owner, name="Wang's greengrocer"),
            "Wang&#x27;s greengrocer",
            None,
        ),
        (lambda shop, stall: pledge_take(shop=shop, by=shop.owner, kind="returns"), "7-day returns", None),
    ],
    ids=["stall edited", "stall reserved", "hidden by moderation", "photo added", "shop renamed", "pledge taken"],
)
def test_what_a_card_shows_changes_at_the_next_look(
    client, shop_near_me, django_capture_on_commit_callbacks, change, shown, gone
):
    shop, stall = shop_near_me
    with django_capture_on_commit_callbacks(execute=True):
        change(shop, stall)
    html = look(client)
    assert shown is None or shown in html
    assert gone is None or gone not in html


def test_a_neighbours_new_name_shows_on_their_cards(client, django_capture_on_commit_callbacks):
    seller = ResidentFactory(home=JINGAN, display_name="Xiao Li")
    publish(seller, title="Rice cooker")
    client.force_login(ResidentFactory(home=JINGAN))
    assert "Xiao Li" in look(client)
    with django_capture_on_commit_callbacks(execute=True):
        resident_profile_update(resident=seller, display_name="Auntie Li")
    assert "Auntie Li" in look(client)


def test_a_sanction_reorders_the_cards_at_once(client, django_capture_on_commit_callbacks):
    honest, sanctioned = make_shop(at=NORTH_600M), make_shop(at=NORTH_600M)
    publish(shop=honest, title="Honest buns")
    publish(shop=sanctioned, title="Sanctioned buns")  # newer: first
    client.force_login(ResidentFactory(home=JINGAN))
    html = look(client)
    assert html.index("Sanctioned buns") < html.index("Honest buns")
    with django_capture_on_commit_callbacks(execute=True):
        services.stalls_rank_penalty_set(shop=sanctioned, days=30)
    html = look(client)
    assert html.index("Honest buns") < html.index("Sanctioned buns")


def test_a_recomputed_reputation_marks_the_shops_areas(shop_near_me, django_capture_on_commit_callbacks):
    shop, _ = shop_near_me
    keys = card_cache.mark_keys_of_circle(JINGAN, 1000)
    before = cache.get_many(keys)
    with django_capture_on_commit_callbacks(execute=True):
        reputation_recompute(shop=shop)
    after = cache.get_many(keys)
    assert after and after != before


def test_changes_in_another_neighbourhood_keep_the_cards(client, shop_near_me, django_capture_on_commit_callbacks):
    far_shop = make_shop(at=ACROSS_TOWN)
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=far_shop, title="Across town")
        shop_update(shop=far_shop, by=far_shop.owner, name="Far away")
    assert not look_reads_stalls(client)
    assert "Lychees" in look(client)


@pytest.fixture
def busy_wide_feed(client):
    """A neighbour with a 5 km feed whose first page is full of fresh stalls 600 m away."""
    shop = make_shop(at=NORTH_600M)
    for n in range(FEED_PAGE_SIZE + 1):
        publish(shop=shop, title=f"Fresh {n}")
    client.force_login(ResidentFactory(home=JINGAN, radius_m=5000))
    assert "Fresh" in look(client)
    assert not look_reads_stalls(client)
    return shop


def test_a_change_beyond_the_pages_reach_keeps_the_cards(client, busy_wide_feed, django_capture_on_commit_callbacks):
    """A stall 3.3 km away, even brand new from the most trusted shop, ranks after 21 stalls posted
    now 600 m away: the first page cannot change, so it is not rebuilt."""
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=make_shop(at=FAR), title="Across the district")
    assert not look_reads_stalls(client)
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=busy_wide_feed, title="Even fresher")
    assert "Even fresher" in look(client)


def test_the_last_page_watches_its_whole_circle(client, shop_near_me, django_capture_on_commit_callbacks):
    """A page with nothing after it would take any stall of the circle, however far."""
    resident = ResidentFactory(home=JINGAN, radius_m=5000)
    client.force_login(resident)
    look(client)
    assert not look_reads_stalls(client)
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=make_shop(at=FAR), title="Across the district")
    assert "Across the district" in look(client)


def test_a_lost_mark_rebuilds_the_cards(client, shop_near_me, django_capture_on_commit_callbacks):
    shop, _ = shop_near_me
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=shop, title="Buns")
    look(client)
    assert not look_reads_stalls(client)
    cache.delete_many(card_cache.mark_keys_of_circle(JINGAN, 1000))  # evicted, or Redis restarted
    assert look_reads_stalls(client)


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat=st.floats(-80, 80),
    lng=st.floats(-180, 180),
    radius_m=st.sampled_from([200, 499, 500, 999, 1000, 2000, 2001, 2999, 3000, 5000]),
    bearing=st.floats(0, 360),
    fraction=st.floats(0, 1),
    reach_fraction=st.floats(0, 1.2),
)
def test_a_stall_in_the_circle_marks_an_area_the_circle_reads(lat, lng, radius_m, bearing, fraction, reach_fraction):
    """H3's cells are not nested exactly: the parent of a stall's fine cell can differ from the cell
    of the stall's point at the area's resolution. Whatever resolution the cover uses, the marks a
    stall writes meet the marks a page of any circle holding it reads, and the marks a page reaching
    no farther than the stall watches, which are among those it reads."""
    import math

    origin = geo.Point(lat, lng)
    d = radius_m * fraction / geo.EARTH_RADIUS_M
    phi1, lmb1, theta = math.radians(lat), math.radians(lng), math.radians(bearing)
    phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(theta))
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(d) * math.cos(phi1), math.cos(d) - math.sin(phi1) * math.sin(phi2)
    )
    point = geo.Point(math.degrees(phi2), (math.degrees(lmb2) + 540) % 360 - 180)
    if geo.distance_m(origin, point) > radius_m:
        return  # rounding at the rim
    written = card_cache.mark_keys_of_cells(geo.cells_of(point.lat, point.lng).values())
    read = set(card_cache.mark_keys_of_circle(origin, radius_m))
    assert written & read
    reach_m = max(1, round(radius_m * reach_fraction))
    watched = set(card_cache.mark_keys_of_circle(origin, radius_m, reach_m))
    assert watched <= read
    if geo.distance_m(origin, point) <= reach_m:
        assert written & watched


SOUTH_600M = geo.Point(JINGAN.lat - 0.0054, JINGAN.lng)


def test_a_rebuilt_page_keeps_the_cards_of_stalls_whose_area_did_not_change(
    client, shop_near_me, django_capture_on_commit_callbacks
):
    """A change in another area of the circle rebuilds the page, but the cards of stalls it did not
    touch are kept: a title changed behind the services' back (no mark) still shows as it was, until
    the stall's own area is marked."""
    from apps.market.models import Stall

    _, stall = shop_near_me
    assert geo.cell_of(SOUTH_600M.lat, SOUTH_600M.lng, 8) != stall.cell_r8
    Stall.objects.filter(pk=stall.pk).update(title="Unseen edit")  # no signal: no mark
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=make_shop(at=SOUTH_600M), title="Fresh tofu")
    page = look(client)
    assert "Fresh tofu" in page  # the page was rebuilt
    assert "Lychees" in page and "Unseen edit" not in page  # with the kept card
    with django_capture_on_commit_callbacks(execute=True):
        card_cache.stalls_touch([stall])  # what every change through the services does
    page = look(client)
    assert "Unseen edit" in page and "Lychees" not in page and "Fresh tofu" in page


def shown_distances(page: str) -> list[str]:
    import re

    return re.findall(r'<span class="muted">([^<]*away)</span>', page)


def test_a_kept_card_shows_each_page_its_own_distance(client, shop_near_me):
    from django.test import Client

    shop, _ = shop_near_me
    here = ResidentFactory(home=geo.Point(JINGAN.lat - 0.0027, JINGAN.lng))  # 300 m south
    other = Client()
    other.force_login(here)
    assert geo.cell_of(here.point.lat, here.point.lng, 9) != geo.cell_of(JINGAN.lat, JINGAN.lng, 9)
    page = look(other)  # a page of its own, from the card kept for the first look
    expected = round(geo.distance_m(here.point, shop.point) / 10.0) * 10
    assert shown_distances(page) == [f"{expected} m away"]
    assert shown_distances(look(client)) != shown_distances(page)


def test_a_title_that_looks_like_the_distance_slot_stays_text(client, shop_near_me, django_capture_on_commit_callbacks):
    shop, _ = shop_near_me
    with django_capture_on_commit_callbacks(execute=True):
        publish(shop=shop, title="Tea <jiefang-distance> cups")
    page = look(client)
    assert "Tea &lt;jiefang-distance&gt; cups" in page
    assert len(shown_distances(page)) == 2 and all(d.endswith(" m away") for d in shown_distances(page))
