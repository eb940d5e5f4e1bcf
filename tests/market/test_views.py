import pytest
from django.urls import reverse

from apps.market.models import Stall
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, photo, publish
from tests.market.test_selectors import NORTH_600M

pytestmark = pytest.mark.django_db


def test_home_is_the_feed_for_a_resident(client):
    me = ResidentFactory(home=JINGAN)
    publish(shop=make_shop(at=NORTH_600M, name="老王水果"), title="Lychees")
    client.force_login(me)
    html = client.get(reverse("home")).content.decode()
    assert "Lychees" in html and "老王水果" in html


def test_pledge_badges_on_the_stall_with_terms_one_tap_away(client):
    stall = publish(shop=make_shop(at=NORTH_600M, pledges=["returns", "freshness"]), title="Peaches")
    html = client.get(reverse("market:stall_detail", args=[stall.pk])).content.decode()
    assert "7-day returns" in html and "<details" in html and "within 7 days of purchase" in html


def test_home_asks_for_a_home_area_first(client):
    client.force_login(ResidentFactory())
    assert 'data-testid="choose-home"' in client.get(reverse("home")).content.decode()


def test_visitor_sees_shops_only_and_is_sent_to_login_for_neighbours(client, settings):
    settings.JIEFANG_DEFAULT_CENTER = (JINGAN.lat, JINGAN.lng)
    shop_stall = publish(shop=make_shop(at=NORTH_600M), title="Tea eggs")
    neighbour_stall = publish(ResidentFactory(home=JINGAN), title="Sofa")
    html = client.get(reverse("home")).content.decode()
    assert "Tea eggs" in html and "Sofa" not in html
    assert client.get(reverse("market:stall_detail", args=[shop_stall.pk])).status_code == 200
    resp = client.get(reverse("market:stall_detail", args=[neighbour_stall.pk]))
    assert resp.status_code == 302 and "login" in resp.url


def test_feed_page_query_count_is_bounded(client, django_assert_max_num_queries):
    me = ResidentFactory(home=JINGAN)
    for _ in range(3):
        shop = make_shop(at=NORTH_600M, pledges=["returns"])
        for _ in range(8):
            publish(shop=shop, photos=[photo()])
    client.force_login(me)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("home")).status_code == 200


def test_htmx_more_returns_the_next_page(client):
    me = ResidentFactory(home=JINGAN)
    shop = make_shop(at=NORTH_600M)
    for i in range(25):
        publish(shop=shop, title=f"item-{i}")
    client.force_login(me)
    first = client.get(reverse("home")).content.decode()
    assert first.count('data-testid="stall-card"') == 20
    cursor = first.split("cursor=", 1)[1].split('"', 1)[0]
    more = client.get(reverse("home") + f"?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert more.count('data-testid="stall-card"') == 5 and "<html" not in more


def test_bad_filters_show_form_errors(client):
    client.force_login(ResidentFactory(home=JINGAN))
    resp = client.get(reverse("home"), {"price_min": "10", "price_max": "1", "radius_m": "99999"})
    assert resp.status_code == 200
    assert {"price_max", "radius_m"} <= set(resp.context["form"].errors)


def test_create_stall_with_photo_and_errors(client):
    me = ResidentFactory(home=JINGAN)
    client.force_login(me)
    bad = client.post(
        reverse("market:stall_create"), {"kind": "sale", "title": "Bike", "quantity": 1, "category": "other"}
    )
    assert bad.status_code == 200 and "price" in bad.context["form"].errors
    ok = client.post(
        reverse("market:stall_create"),
        {"kind": "sale", "title": "Bike", "price": "150", "quantity": 1, "category": "other", "photos": [photo()]},
    )
    assert ok.status_code == 302
    stall = Stall.objects.get()
    assert stall.photos.count() == 1


def test_shopkeeper_posts_as_the_shop(client):
    shop = make_shop(at=NORTH_600M)
    client.force_login(shop.owner)
    client.post(
        reverse("market:stall_create"),
        {"kind": "sale", "title": "Bread", "price": "8", "quantity": 3, "category": "bakery", "shop": shop.pk},
    )
    assert Stall.objects.get().shop == shop


def test_edit_and_status_buttons_only_for_the_seller(client):
    stall = publish(title="Chair")
    client.force_login(ResidentFactory(home=JINGAN))
    assert client.get(reverse("market:stall_edit", args=[stall.pk])).status_code == 403
    assert client.post(reverse("market:stall_status", args=[stall.pk, "close"])).status_code == 403
    assert client.post(reverse("market:stall_status", args=[stall.pk, "explode"])).status_code == 404
    client.force_login(stall.seller)
    client.post(reverse("market:stall_status", args=[stall.pk, "reserve"]))
    stall.refresh_from_db()
    assert stall.status == "reserved"


def test_map_shows_areas_for_neighbours_and_points_for_shops(client):
    me = ResidentFactory(home=JINGAN)
    publish(shop=make_shop(at=NORTH_600M), title="Shop thing")
    publish(ResidentFactory(home=NORTH_600M), title="Neighbour thing")
    client.force_login(me)
    resp = client.get(reverse("market:map"))
    markers = {m["title"]: m for m in resp.context["markers"]}
    assert "point" in markers["Shop thing"] and "area" in markers["Neighbour thing"]
    assert "point" not in markers["Neighbour thing"]


def test_neighbours_of_one_cell_share_the_cached_cards(client, django_assert_max_num_queries):
    shop = make_shop(at=NORTH_600M)
    for i in range(5):
        publish(shop=shop, title=f"bun {i}")
    first, second = ResidentFactory(home=JINGAN), ResidentFactory(home=JINGAN)
    client.force_login(first)
    assert client.get(reverse("home")).content.decode().count('data-testid="stall-card"') == 5
    client.force_login(second)
    # session, user, unread bell, visit, "new since" count: no feed query, the cards come from the cache
    with django_assert_max_num_queries(6):
        html = client.get(reverse("home")).content.decode()
    assert html.count('data-testid="stall-card"') == 5


def test_a_new_stall_shows_once_the_shared_cards_expire(client, settings):
    settings.JIEFANG_FEED_CACHE_SECONDS = 0
    me = ResidentFactory(home=JINGAN)
    client.force_login(me)
    client.get(reverse("home"))
    publish(shop=make_shop(at=NORTH_600M), title="Just baked")
    assert "Just baked" in client.get(reverse("home")).content.decode()


def test_shared_cards_are_never_kept_past_the_first_expiry_on_them(client, settings):
    """An expired stall leaves the feed at once: the cached cards live no longer than their first
    stall, whatever JIEFANG_FEED_CACHE_SECONDS allows."""
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    # a local cache, whose expiry times can be read, in both CI passes
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "expiry"},
    }
    settings.JIEFANG_FEED_CACHE_SECONDS = 600
    shop = make_shop(at=NORTH_600M)
    publish(shop=shop, title="Rice")
    soon = publish(shop=shop, title="Last buns")
    Stall.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(seconds=7))
    cache.clear()
    client.force_login(ResidentFactory(home=JINGAN))
    before = timezone.now()
    assert "Last buns" in client.get(reverse("home")).content.decode()
    kept = [when for key, when in cache._expire_info.items() if "feed-cards:" in key]
    assert len(kept) == 1
    assert before.timestamp() + 5 <= kept[0] <= before.timestamp() + 7.5

    # the same without the stall about to expire: the setting decides
    Stall.objects.filter(pk=soon.pk).update(status="closed")
    cache.clear()
    client.get(reverse("home"))
    kept = [when for key, when in cache._expire_info.items() if "feed-cards:" in key]
    assert kept and kept[0] >= before.timestamp() + 590
    assert "Rice" in client.get(reverse("home")).content.decode()


def test_cards_already_expired_or_expiring_now_are_not_kept(settings):
    from datetime import timedelta
    from types import SimpleNamespace

    from django.utils import timezone

    from apps.market.views import _cards_cache_seconds

    now = timezone.now()
    assert _cards_cache_seconds([SimpleNamespace(expires_at=now + timedelta(seconds=0.5))], now) == 0
    assert _cards_cache_seconds([SimpleNamespace(expires_at=now - timedelta(seconds=3))], now) == 0
    assert _cards_cache_seconds([SimpleNamespace(expires_at=now + timedelta(seconds=12.9))], now) == 12
    assert _cards_cache_seconds([], now) == settings.JIEFANG_FEED_CACHE_SECONDS


def test_new_since_last_visit_is_counted_and_marked_in_the_page(client):
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import Resident

    me = ResidentFactory(home=JINGAN)
    earlier = timezone.now() - timedelta(hours=5)
    Resident.objects.filter(pk=me.pk).update(feed_visit_at=earlier, feed_seen_at=earlier)
    publish(shop=make_shop(at=NORTH_600M), title="Fresh")
    client.force_login(me)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="new-since"' in html
    assert f'data-seen="{int(earlier.timestamp())}"' in html


def test_message_the_seller_opens_a_conversation_about_the_stall(client):
    stall = publish(shop=make_shop(at=NORTH_600M), title="Rice")
    buyer = ResidentFactory(home=JINGAN)
    client.force_login(buyer)
    html = client.get(reverse("market:stall_detail", args=[stall.pk])).content.decode()
    assert 'data-testid="message-seller"' in html
    resp = client.post(reverse("chat:open_stall", args=[stall.pk]))
    assert resp.status_code == 302 and "/chat/" in resp.url
    again = client.post(reverse("chat:open_stall", args=[stall.pk]))
    assert again.url == resp.url  # the same conversation is reused


def test_the_unfiltered_filter_form_is_shared_per_language_and_filtered_ones_keep_their_values(client):
    """The filter form of an unfiltered feed is rendered once per language and reused; a filtered
    feed renders its own form, with the reader's values and errors."""
    english = ResidentFactory(home=JINGAN, language="en")
    chinese = ResidentFactory(home=JINGAN, language="zh-hans")
    for _ in range(2):
        client.force_login(english)
        html = client.get(reverse("home")).content.decode()
        assert '<label for="id_kind">Kind</label>' in html
        client.force_login(chinese)
        html = client.get(reverse("home")).content.decode()
        assert '<label for="id_kind">类型</label>' in html
    html = client.get(reverse("home"), {"q": "lychee", "price_min": "12"}).content.decode()
    assert 'value="lychee"' in html and 'value="12"' in html and '<details class="filters" open>' in html
    html = client.get(reverse("home")).content.decode()
    assert 'value="lychee"' not in html and '<details class="filters">' in html
