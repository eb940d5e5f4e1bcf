from datetime import timedelta

import pytest
from django.utils import timezone

from apps.market.models import Stall
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, photo, publish
from tests.market.test_selectors import NORTH_600M

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(api_client):
    resident = ResidentFactory(home=JINGAN)
    api_client.force_authenticate(resident)
    return resident


def test_publish_json_and_read_back(api_client, me):
    resp = api_client.post("/api/stalls/", {"kind": "sale", "title": "Rice cooker", "price": "60"}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["location"]["exact"] is False and "lat" not in body["location"]
    assert len(body["location"]["area"]) == 6
    assert body["distance_m"] == 250
    assert api_client.get(f"/api/stalls/{body['id']}/").json()["title"] == "Rice cooker"


def test_publish_multipart_with_photos(api_client, me):
    resp = api_client.post(
        "/api/stalls/", {"kind": "free", "title": "Plant pots", "photos": [photo(), photo("red")]}, format="multipart"
    )
    assert resp.status_code == 201, resp.json()
    assert len(resp.json()["photos"]) == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "sale", "title": "x", "price": "-5"}, "price"),
        ({"kind": "sale", "title": "x", "price": "lots"}, "price"),
        ({"kind": "sale", "title": "x"}, "price"),
        ({"kind": "free", "title": "x", "price": "3"}, "price"),
        ({"kind": "sale", "title": "t" * 81, "price": "1"}, "title"),
        ({"kind": "party", "title": "x"}, "kind"),
        ({"kind": "sale", "title": "x", "price": "1", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"kind": "sale", "title": "replica watches", "price": "1"}, "title"),
        ({"kind": "sale", "title": "x", "price": "1", "shop": 999999}, "shop"),
    ],
)
def test_publish_bad_input_is_400_naming_the_field(api_client, me, payload, field):
    resp = api_client.post("/api/stalls/", payload, format="json")
    assert resp.status_code == 400, resp.json()
    assert field in resp.json()
    assert Stall.objects.count() == 0


def test_publish_non_image_photo(api_client, me):
    from django.core.files.uploadedfile import SimpleUploadedFile

    resp = api_client.post(
        "/api/stalls/",
        {"kind": "free", "title": "x", "photos": [SimpleUploadedFile("a.jpg", b"GIF89a..", "image/jpeg")]},
        format="multipart",
    )
    assert resp.status_code == 400 and resp.json()["field"] == "photos"
    assert Stall.objects.count() == 0


def test_posting_for_someone_elses_shop_is_403(api_client, me):
    shop = make_shop()
    resp = api_client.post("/api/stalls/", {"kind": "sale", "title": "x", "price": "1", "shop": shop.pk}, format="json")
    assert resp.status_code == 403


def test_only_the_owner_edits(api_client, me):
    stall = publish(title="Lamp")
    assert api_client.patch(f"/api/stalls/{stall.pk}/", {"title": "Mine"}, format="json").status_code == 403
    assert api_client.post(f"/api/stalls/{stall.pk}/close/").status_code == 403
    api_client.force_authenticate(stall.seller)
    assert api_client.patch(f"/api/stalls/{stall.pk}/", {"title": "Desk lamp"}, format="json").json()["title"] == (
        "Desk lamp"
    )
    assert api_client.post(f"/api/stalls/{stall.pk}/reserve/").json()["status"] == "reserved"
    assert api_client.post(f"/api/stalls/{stall.pk}/reserve/").status_code == 409
    renew = api_client.post(
        f"/api/stalls/{stall.pk}/renew/", {"expires_at": (timezone.now() + timedelta(days=40)).isoformat()}
    )
    assert renew.status_code == 400 and renew.json()["field"] == "expires_at"


def test_anonymous_cannot_write(api_client):
    stall = publish(shop=make_shop())
    assert api_client.post("/api/stalls/", {"kind": "free", "title": "x"}, format="json").status_code == 403
    assert api_client.patch(f"/api/stalls/{stall.pk}/", {"title": "y"}, format="json").status_code == 403


def test_feed_api_filters_and_pages(api_client, me):
    shop = make_shop(at=NORTH_600M, pledges=["returns"], verified=True)
    for i in range(5):
        publish(shop=shop, title=f"Bun {i}", price="3", category="bakery")
    publish(ResidentFactory(home=JINGAN), kind="free", title="Toys")
    body = api_client.get("/api/stalls/feed/", {"limit": 3}).json()
    assert len(body["results"]) == 3 and body["next_cursor"]
    more = api_client.get("/api/stalls/feed/", {"limit": 3, "cursor": body["next_cursor"]}).json()
    assert len(more["results"]) == 3 and more["next_cursor"] is None
    bakery = api_client.get("/api/stalls/feed/", {"category": "bakery"}).json()["results"]
    assert {s["title"][:3] for s in bakery} == {"Bun"}
    assert bakery[0]["shop"]["is_verified"] is True and bakery[0]["shop"]["pledges"][0]["kind"] == "returns"
    assert bakery[0]["shop"]["pledges"][0]["summary"] == "7-day returns"
    assert bakery[0]["location"] == {"exact": True, "lat": shop.lat, "lng": shop.lng}


@pytest.mark.parametrize(
    "params",
    [
        {"radius_m": 50},
        {"radius_m": 9000},
        {"lat": 95, "lng": 0},
        {"lat": 31.2},
        {"price_min": 10, "price_max": 5},
        {"price_min": -1},
        {"cursor": "garbage"},
        {"kind": "nope"},
        {"limit": 500},
        {"q": "x" * 101},
    ],
)
def test_feed_api_bad_queries_are_400(api_client, me, params):
    resp = api_client.get("/api/stalls/feed/", params)
    assert resp.status_code == 400, resp.content
    assert resp.json()


def test_feed_api_for_visitors_shows_shops_only(api_client):
    publish(shop=make_shop(at=NORTH_600M), title="Tea eggs")
    resident_stall = publish(ResidentFactory(home=JINGAN), title="Sofa")
    titles = [
        s["title"]
        for s in api_client.get("/api/stalls/feed/", {"lat": JINGAN.lat, "lng": JINGAN.lng}).json()["results"]
    ]
    assert titles == ["Tea eggs"]
    assert api_client.get(f"/api/stalls/{resident_stall.pk}/").status_code == 403


def test_near_me_now_is_never_stored(api_client, me):
    before = (me.home_cell, me.lat, me.lng)
    api_client.get("/api/stalls/feed/", {"lat": 31.2301, "lng": 121.4701})
    me.refresh_from_db()
    assert (me.home_cell, me.lat, me.lng) == before


def test_hidden_stall_is_404_for_others(api_client, me):
    stall = publish()
    Stall.objects.filter(pk=stall.pk).update(status="hidden")
    assert api_client.get(f"/api/stalls/{stall.pk}/").status_code == 404


def test_hidden_stall_is_shown_to_the_moderators_of_its_area_only(api_client):
    from tests.moderation.factories import PUDONG, moderator, superuser

    stall = publish()  # in Jing'an
    Stall.objects.filter(pk=stall.pk).update(status="hidden")
    staff_without_moderation = ResidentFactory(is_staff=True)
    for viewer, status in [
        (moderator(at=JINGAN), 200),
        (superuser(), 200),
        (moderator(at=PUDONG), 404),
        (staff_without_moderation, 404),
    ]:
        api_client.force_authenticate(viewer)
        assert api_client.get(f"/api/stalls/{stall.pk}/").status_code == status, viewer


def test_photo_delete(api_client, me):
    stall = publish(me, photos=[photo()])
    pid = stall.photos.first().pk
    other = ResidentFactory(home=JINGAN)
    api_client.force_authenticate(other)
    assert api_client.delete(f"/api/stalls/{stall.pk}/photos/{pid}/").status_code == 403
    api_client.force_authenticate(me)
    assert api_client.delete(f"/api/stalls/{stall.pk}/photos/{pid}/").status_code == 204
    # gone, or never on this stall: not found, and the stall's other photos stay
    kept = publish(me, photos=[photo()])
    kept_pid = kept.photos.first().pk
    for missing in (pid, kept_pid):
        gone = api_client.delete(f"/api/stalls/{stall.pk}/photos/{missing}/")
        assert gone.status_code == 404
        assert gone.json()["code"] == "not_found" and gone.json()["field"] == "photo", gone.json()
    assert kept.photos.filter(pk=kept_pid).exists()


def test_my_stalls(api_client, me):
    publish(me, title="mine")
    publish(title="not mine")
    assert [s["title"] for s in api_client.get("/api/stalls/").json()] == ["mine"]


def test_schema_lists_market_endpoints(api_client):
    paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for p in ["/api/stalls/", "/api/stalls/feed/", "/api/stalls/{id}/", "/api/stalls/{id}/renew/"]:
        assert p in paths
