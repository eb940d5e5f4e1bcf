import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import resident_home_set
from apps.market.models import Stall
from apps.shops import pledges, services
from apps.shops.models import OpeningException, Shop, ShopFollow, ShopPledge
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.shops.factories import ShopFactory, image_upload, make_moderator

pytestmark = pytest.mark.django_db


def _open_stall(shop, title="今日面包"):
    stall = Stall(
        seller=shop.owner,
        shop=shop,
        kind=Stall.Kind.SALE,
        title=title,
        expires_at=timezone.now() + dt.timedelta(hours=8),
    )
    stall.place_at(shop.point)
    stall.save()
    return stall


@pytest.fixture
def owner_client(client):
    shop = ShopFactory(name="静安面包房")
    client.force_login(shop.owner)
    client.shop = shop
    return client


def test_register_a_shop_with_its_exact_place_and_a_photo(client):
    me = ResidentFactory()
    client.force_login(me)
    assert client.get(reverse("shops:register")).status_code == 200
    resp = client.post(
        reverse("shops:register"),
        {
            "name": "愚园路水果店",
            "category": "fruit_veg",
            "description": "Fresh fruit daily",
            "time_zone": "Asia/Shanghai",
            "lat": "31.223456",
            "lng": "121.446789",
            "photo": image_upload(),
        },
    )
    shop = Shop.objects.get(owner=me)
    assert resp.status_code == 302 and resp.url == reverse("shops:manage", args=[shop.pk])
    assert (shop.lat, shop.lng) == (31.223456, 121.446789)
    assert shop.photos.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "weapons"}, "category"),
        ({"lat": "123"}, "lat"),
        ({"lat": ""}, "lat"),
        ({"name": "n" * 81}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"time_zone": "Nowhere/Land"}, "time_zone"),
        ({"photo": image_upload(fmt="PNG").__class__("x.png", b"not an image at all", "image/png")}, "photo"),
    ],
)
def test_register_errors_show_on_the_form_and_nothing_is_saved(client, changes, field):
    client.force_login(ResidentFactory())
    data = {"name": "Shop", "category": "groceries", "time_zone": "Asia/Shanghai", "lat": "31.2", "lng": "121.4"}
    resp = client.post(reverse("shops:register"), {**data, **changes})
    assert resp.status_code == 200
    assert field in resp.context["form"].errors
    assert not Shop.objects.exists()


def test_register_needs_a_login(client):
    resp = client.get(reverse("shops:register"))
    assert resp.status_code == 302 and reverse("accounts:login") in resp.url


def test_visitor_from_the_qr_sees_the_page_and_the_invitation(client):
    shop = ShopFactory(name="静安面包房")
    services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": 7})
    _open_stall(shop)
    resp = client.get(reverse("shops:detail", args=[shop.pk]) + "?qr=1")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "静安面包房" in html
    assert 'data-testid="follow-invite"' in html and "Welcome to 静安面包房" in html
    assert reverse("accounts:sign_up") in html
    assert 'data-testid="unverified"' in html
    assert 'data-pledge="returns"' in html and "within 7 days" in html
    assert "今日面包" in html
    assert html.count("7-day returns") == 2  # on the shop's badges and on its stall's card
    assert 'data-testid="follow"' not in html  # visitors are invited to join first


def test_the_page_shows_open_state_badge_and_hours(client):
    shop = ShopFactory()
    services.shop_verify(shop=shop, moderator=make_moderator())
    services.shop_hours_set(shop=shop, by=shop.owner, spans=[(d, dt.time(0), dt.time(23, 59)) for d in range(7)])
    html = client.get(reverse("shops:detail", args=[shop.pk])).content.decode()
    assert 'data-testid="verified"' in html and 'data-testid="unverified"' not in html
    assert "Open now" in html and "until midnight" in html
    today = services.shop_today(shop)
    services.shop_exception_set(shop=shop, by=shop.owner, date=today, closed=True, note="盘点")
    html = client.get(reverse("shops:detail", args=[shop.pk])).content.decode()
    assert "Closed" in html and "盘点" in html


def test_the_shop_page_stays_within_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    shop = ShopFactory()
    for kind in pledges.CATALOGUE:
        services.pledge_take(shop=shop, by=shop.owner, kind=kind)
    for _ in range(3):
        services.shop_photo_add(shop=shop, by=shop.owner, upload=image_upload())
        services.shop_follow(shop=shop, resident=ResidentFactory())
        _open_stall(shop)
    services.shop_hours_set(shop=shop, by=shop.owner, spans=[(d, dt.time(8), dt.time(20)) for d in range(7)])
    viewer = ResidentFactory()
    client.force_login(viewer)
    # 10 for the shop, +1 for moderation's record of the last 90 days, +1 for the trust block's
    # public reviews (the reputation itself is stored on the shop).
    with django_assert_max_num_queries(12):
        resp = client.get(reverse("shops:detail", args=[shop.pk]))
    assert resp.status_code == 200


def test_follow_and_unfollow_from_the_page(client):
    shop = ShopFactory()
    fan = ResidentFactory()
    url = reverse("shops:follow", args=[shop.pk])
    resp = client.post(url)
    assert resp.status_code == 302 and reverse("accounts:login") in resp.url
    client.force_login(fan)
    resp = client.post(url, {"action": "follow"}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and 'data-testid="unfollow"' in resp.content.decode()
    assert ShopFollow.objects.filter(shop=shop, resident=fan).exists()
    page = client.get(reverse("shops:detail", args=[shop.pk])).content.decode()
    assert "1 follower" in page
    resp = client.post(url, {"action": "unfollow"})
    assert resp.status_code == 302
    assert not ShopFollow.objects.exists()
    assert client.get(url).status_code == 405


def test_owner_pages_are_for_the_owner_only(client, owner_client):
    shop = owner_client.shop
    names = ["manage", "edit", "hours", "pledges", "photos"]
    for name in names:
        assert owner_client.get(reverse(f"shops:{name}", args=[shop.pk])).status_code == 200, name
    client.force_login(ResidentFactory())
    for name in names:
        assert client.get(reverse(f"shops:{name}", args=[shop.pk])).status_code == 403, name
    assert client.get(reverse("shops:qr", args=[shop.pk, "poster.pdf"])).status_code == 403
    assert client.post(reverse("shops:edit", args=[shop.pk]), {"name": "Hijacked"}).status_code == 403
    assert owner_client.get(reverse("shops:manage", args=[99999])).status_code == 404


def test_edit_details(owner_client):
    shop = owner_client.shop
    data = {
        "name": "静安面包房 2",
        "category": "bakery",
        "time_zone": "Asia/Shanghai",
        "lat": shop.lat,
        "lng": shop.lng,
        "phone": "021-5555",
    }
    resp = owner_client.post(reverse("shops:edit", args=[shop.pk]), data)
    assert resp.status_code == 302
    shop.refresh_from_db()
    assert shop.name == "静安面包房 2" and shop.phone == "021-5555"


def test_week_hours_form_parses_spans_and_names_the_bad_day(owner_client):
    shop = owner_client.shop
    url = reverse("shops:hours", args=[shop.pk])
    resp = owner_client.post(url, {"form": "week", "day_0": "08:00-12:00, 14:00-20:00", "day_5": "9:00–24:00"})
    assert resp.status_code == 302
    assert list(shop.hours.values_list("weekday", "opens", "closes")) == [
        (0, dt.time(8), dt.time(12)),
        (0, dt.time(14), dt.time(20)),
        (5, dt.time(9), dt.time(23, 59)),
    ]
    resp = owner_client.post(url, {"form": "week", "day_1": "08:00-12:00, 11:00-13:00"})
    assert resp.status_code == 200
    assert "overlap" in resp.context["week_form"].errors["day_1"][0]
    resp = owner_client.post(url, {"form": "week", "day_2": "18:00-09:00"})
    assert "closes before it opens" in resp.context["week_form"].errors["day_2"][0]
    resp = owner_client.post(url, {"form": "week", "day_3": "morning"})
    assert "day_3" in resp.context["week_form"].errors
    assert shop.hours.count() == 3  # the good week stands


def test_exceptions_form(owner_client):
    shop = owner_client.shop
    url = reverse("shops:hours", args=[shop.pk])
    day = services.shop_today(shop) + dt.timedelta(days=3)
    resp = owner_client.post(url, {"form": "exception", "date": day.isoformat(), "closed": "on", "note": "春节"})
    assert resp.status_code == 302
    assert OpeningException.objects.get(shop=shop).note == "春节"
    resp = owner_client.post(url, {"form": "exception", "date": day.isoformat(), "opens": "14:00", "closes": "10:00"})
    assert resp.status_code == 200 and resp.context["exception_form"].errors
    resp = owner_client.post(reverse("shops:exception_remove", args=[shop.pk, day.isoformat()]))
    assert resp.status_code == 302 and not OpeningException.objects.exists()


def test_pledges_page_takes_changes_and_withdraws(owner_client):
    shop = owner_client.shop
    url = reverse("shops:pledges", args=[shop.pk])
    assert owner_client.post(url, {"kind": "returns", "returns-days": "10"}).status_code == 302
    p = ShopPledge.objects.get(shop=shop, is_active=True)
    assert p.terms == {"days": 10}
    resp = owner_client.post(url, {"kind": "returns", "returns-days": "99"})
    assert resp.status_code == 200
    assert ShopPledge.objects.filter(shop=shop).count() == 1
    assert owner_client.post(url, {"kind": "refund_no_return", "refund_no_return-amount": "30"}).status_code == 302
    assert owner_client.post(reverse("shops:pledge_withdraw", args=[shop.pk, p.pk])).status_code == 302
    p.refresh_from_db()
    assert not p.is_active


def test_photos_page_adds_refuses_fakes_and_removes(owner_client):
    shop = owner_client.shop
    url = reverse("shops:photos", args=[shop.pk])
    assert owner_client.post(url, {"image": image_upload()}).status_code == 302
    bad = image_upload().__class__("evil.jpg", b"MZ\x90\x00 not a jpeg", "image/jpeg")
    resp = owner_client.post(url, {"image": bad})
    assert resp.status_code == 200 and "image" in resp.context["form"].errors
    photo = shop.photos.get()
    assert owner_client.post(reverse("shops:photo_remove", args=[shop.pk, photo.pk])).status_code == 302
    assert not shop.photos.exists()


def test_staff_and_removal(owner_client):
    shop = owner_client.shop
    helper = ResidentFactory(username="xiaoming")
    owner_client.post(reverse("shops:staff", args=[shop.pk]), {"username": "XiaoMing"})
    assert list(shop.staff.all()) == [helper]
    owner_client.post(reverse("shops:staff", args=[shop.pk]), {"remove": helper.pk})
    assert not shop.staff.exists()
    owner_client.post(reverse("shops:delete", args=[shop.pk]), {"confirm": "wrong"})
    assert Shop.objects.filter(pk=shop.pk).exists()
    owner_client.post(reverse("shops:delete", args=[shop.pk]), {"confirm": shop.name})
    assert not Shop.objects.filter(pk=shop.pk).exists()


def test_shop_list_shows_nearby_cards_and_my_shops(client, owner_client):
    other = ShopFactory(name="Far away", lat=31.5, lng=121.9)
    resident_home_set(resident=owner_client.shop.owner, lat=JINGAN.lat, lng=JINGAN.lng)
    resp = owner_client.get(reverse("shops:list"))
    html = resp.content.decode()
    assert "静安面包房" in html and 'data-testid="shop-card"' in html
    assert other.name not in html
    assert "My shops" in html and reverse("shops:manage", args=[owner_client.shop.pk]) in html
    client.logout()
    assert client.get(reverse("shops:list"), {"cursor": "garbage", "category": "nope"}).status_code == 200


def test_a_visitor_who_joins_from_the_invitation_comes_back_to_the_shop(client):
    shop = ShopFactory()
    page = reverse("shops:detail", args=[shop.pk])
    html = client.get(page + "?qr=1").content.decode()
    assert f"{reverse('accounts:sign_up')}?next={page}" in html
    resp = client.post(
        f"{reverse('accounts:sign_up')}?next={page}",
        {
            "username": "newfan",
            "email": "newfan@example.org",
            "display_name": "新粉丝",
            "language": "en",
            "password1": "a-long-pass-2026",
            "password2": "a-long-pass-2026",
        },
    )
    assert resp.status_code == 302 and resp.url.startswith(reverse("accounts:home")) and "next=" in resp.url
    resp = client.post(resp.url, {"lat": "31.2155", "lng": "121.4566"})
    assert resp.status_code == 302 and resp.url == page
    home = client.post(f"{reverse('accounts:home')}?next=https://evil.example/", {"lat": "31.2", "lng": "121.4"})
    assert home.url == reverse("home")


def test_shop_lists_cost_the_same_queries_for_two_shops_or_eight(client):
    client.force_login(ResidentFactory(home=JINGAN))

    def fill(n):
        for _ in range(n):
            shop = ShopFactory()
            services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS)
            services.shop_photo_add(shop=shop, by=shop.owner, upload=image_upload())
            services.shop_hours_set(shop=shop, by=shop.owner, spans=[(0, dt.time(8), dt.time(9))])

    counts, total = [], 0
    for n in (2, 6):
        fill(n)
        total += n
        cache.clear()  # both pages count what they read, not what an earlier one kept (the bell's count)
        with CaptureQueriesContext(connection) as page_queries:
            html = client.get(reverse("shops:list")).content.decode()
        assert html.count('data-testid="shop-card"') == total
        with CaptureQueriesContext(connection) as api_queries:
            body = client.get("/api/shops/", {"lat": JINGAN.lat, "lng": JINGAN.lng}).json()
        counts.append((len(page_queries), len(api_queries), len(body["results"])))
    (page_a, api_a, shown_a), (page_b, api_b, shown_b) = counts
    assert (shown_a, shown_b) == (2, 8)
    assert page_a == page_b and api_a == api_b
