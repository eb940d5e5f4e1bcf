import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.shops import pledges, services
from apps.shops.models import OpeningHours, Shop, ShopFollow, ShopPledge
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.shops.factories import ShopFactory, image_upload, make_moderator

pytestmark = pytest.mark.django_db

NEW_SHOP = {"name": "静安水果", "category": "fruit_veg", "lat": 31.2236, "lng": 121.4461}


@pytest.fixture
def shop():
    return ShopFactory(name="愚园路面包房")


@pytest.fixture
def owner(api_client, shop):
    api_client.force_authenticate(shop.owner)
    return api_client


@pytest.fixture
def other(api_client):
    api_client.force_authenticate(ResidentFactory())
    return api_client


# --- registration and reading


def test_register_returns_the_shop_unverified(resident_client):
    resp = resident_client.post("/api/shops/", {**NEW_SHOP, "is_verified": True, "licence_number": "X1"}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["is_verified"] is False  # read-only: only a moderator verifies
    assert body["is_owner"] is True and body["licence_number"] == "X1"
    assert (body["lat"], body["lng"]) == (31.2236, 121.4461)
    assert body["url"].endswith(f"/shops/{body['id']}/")
    assert Shop.objects.get().owner == resident_client.resident


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "weapons"}, "category"),
        ({"lat": 91}, "lat"),
        ({"lng": -181}, "lng"),
        ({"lat": "north"}, "lat"),
        ({"name": "x" * 81}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"contact_note": "c" * 201}, "contact_note"),
        ({"time_zone": "Asia/Atlantis"}, "time_zone"),
        ({"name": ""}, "name"),
    ],
)
def test_register_bad_input_names_the_field(resident_client, changes, field):
    resp = resident_client.post("/api/shops/", {**NEW_SHOP, **changes}, format="json")
    assert resp.status_code == 400
    assert field in resp.json(), resp.json()
    assert not Shop.objects.exists()


def test_anonymous_may_read_but_not_write(api_client, shop):
    resp = api_client.get(f"/api/shops/{shop.pk}/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["name"] == "愚园路面包房" and body["licence_number"] is None and body["is_following"] is False
    assert api_client.post("/api/shops/", NEW_SHOP, format="json").status_code == 403
    assert api_client.patch(f"/api/shops/{shop.pk}/", {"name": "x"}, format="json").status_code == 403
    assert api_client.post(f"/api/shops/{shop.pk}/follow/").status_code == 403
    assert api_client.get("/api/shops/999999/").status_code == 404


def test_only_the_owner_edits(owner, shop):
    resp = owner.patch(
        f"/api/shops/{shop.pk}/", {"description": "新鲜出炉", "lat": 31.224, "lng": 121.447}, format="json"
    )
    assert resp.status_code == 200 and resp.json()["description"] == "新鲜出炉"
    assert resp.json()["lat"] == 31.224
    intruder = ResidentFactory()
    owner.force_authenticate(intruder)
    resp = owner.patch(f"/api/shops/{shop.pk}/", {"name": "Mine"}, format="json")
    assert resp.status_code == 403 and resp.json()["code"] == "not_allowed"
    assert owner.delete(f"/api/shops/{shop.pk}/").status_code == 403
    shop.refresh_from_db()
    assert shop.name == "愚园路面包房"


def test_patch_with_half_a_location_is_refused(owner, shop):
    resp = owner.patch(f"/api/shops/{shop.pk}/", {"lat": 31.3}, format="json")
    assert resp.status_code == 400 and "lat" in resp.json()


def test_is_verified_cannot_be_set_by_the_owner(owner, shop):
    resp = owner.patch(f"/api/shops/{shop.pk}/", {"is_verified": True}, format="json")
    assert resp.status_code == 200 and resp.json()["is_verified"] is False
    services.shop_verify(shop=shop, moderator=make_moderator())
    assert owner.get(f"/api/shops/{shop.pk}/").json()["is_verified"] is True


def test_owner_deletes_a_quiet_shop(owner, shop):
    assert owner.delete(f"/api/shops/{shop.pk}/").status_code == 204
    assert not Shop.objects.exists()


def test_nearby_shops_with_distance_and_cursor(api_client):
    shops = [ShopFactory(lat=JINGAN.lat + i * 0.001, lng=JINGAN.lng) for i in range(5)]
    ShopFactory(lat=JINGAN.lat + 0.1, lng=JINGAN.lng)
    params = {"lat": JINGAN.lat, "lng": JINGAN.lng, "radius_m": 1000, "limit": 3}
    first = api_client.get("/api/shops/", params).json()
    assert [s["id"] for s in first["results"]] == [s.pk for s in shops[:3]]
    assert first["results"][1]["distance_m"] == pytest.approx(111, abs=2)
    second = api_client.get("/api/shops/", {**params, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in second["results"]] == [s.pk for s in shops[3:]]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"lat": 95, "lng": 0},
        {"lat": 31.2},
        {"lat": 31.2, "lng": 121.4, "radius_m": 50},
        {"lat": 31.2, "lng": 121.4, "radius_m": 99999},
        {"lat": 31.2, "lng": 121.4, "cursor": "not-a-cursor"},
        {"lat": 31.2, "lng": 121.4, "category": "guns"},
    ],
)
def test_nearby_bad_queries_are_400(api_client, params):
    resp = api_client.get("/api/shops/", params)
    assert resp.status_code == 400, resp.content


def test_my_shops(owner, shop):
    ShopFactory()
    assert [s["id"] for s in owner.get("/api/shops/mine/").json()] == [shop.pk]


# --- photos


def test_photos_owner_only_and_fakes_refused(owner, shop):
    resp = owner.post(f"/api/shops/{shop.pk}/photos/", {"image": image_upload()}, format="multipart")
    assert resp.status_code == 201, resp.json()
    photo_id = resp.json()["id"]
    fake = SimpleUploadedFile("x.jpg", b"\xff\xd8\xff not really a jpeg" * 10, content_type="image/jpeg")
    resp = owner.post(f"/api/shops/{shop.pk}/photos/", {"image": fake}, format="multipart")
    assert resp.status_code == 400 and resp.json()["field"] == "image"
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "BMP")
    bmp = SimpleUploadedFile("x.bmp", buf.getvalue(), content_type="image/bmp")
    assert owner.post(f"/api/shops/{shop.pk}/photos/", {"image": bmp}, format="multipart").status_code == 400
    owner.force_authenticate(ResidentFactory())
    assert owner.post(f"/api/shops/{shop.pk}/photos/", {"image": image_upload()}, format="multipart").status_code == 403
    assert owner.delete(f"/api/shops/{shop.pk}/photos/{photo_id}/").status_code == 403
    owner.force_authenticate(shop.owner)
    assert owner.delete(f"/api/shops/{shop.pk}/photos/{photo_id}/").status_code == 204
    assert shop.photos.count() == 0


# --- hours


def test_hours_put_and_get(owner, api_client, shop):
    week = [{"weekday": 0, "opens": "08:00", "closes": "12:00"}, {"weekday": 0, "opens": "13:00", "closes": "18:30"}]
    resp = owner.put(f"/api/shops/{shop.pk}/hours/", {"hours": week}, format="json")
    assert resp.status_code == 200 and resp.json()["hours"] == week
    assert owner.get(f"/api/shops/{shop.pk}/hours/").json()["hours"] == week


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (
            [{"weekday": 1, "opens": "08:00", "closes": "12:00"}, {"weekday": 1, "opens": "11:00", "closes": "14:00"}],
            "overlap",
        ),
        ([{"weekday": 2, "opens": "18:00", "closes": "09:00"}], "closes before it opens"),
        ([{"weekday": 2, "opens": "09:00", "closes": "09:00"}], "closes before it opens"),
    ],
)
def test_bad_hours_are_refused_and_the_old_week_stands(owner, shop, hours, words):
    services.shop_hours_set(shop=shop, by=shop.owner, spans=[(4, dt.time(9), dt.time(17))])
    resp = owner.put(f"/api/shops/{shop.pk}/hours/", {"hours": hours}, format="json")
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "hours_invalid" and words in body["detail"]
    assert list(OpeningHours.objects.values_list("weekday", flat=True)) == [4]


@pytest.mark.parametrize(
    "hours",
    [
        [{"weekday": 7, "opens": "08:00", "closes": "12:00"}],
        [{"weekday": 1, "opens": "25:00", "closes": "26:00"}],
        [{"weekday": 1, "opens": "eight", "closes": "12:00"}],
        [{"weekday": 1}],
        "Mon 8-12",
    ],
)
def test_malformed_hours_are_field_errors(owner, shop, hours):
    resp = owner.put(f"/api/shops/{shop.pk}/hours/", {"hours": hours}, format="json")
    assert resp.status_code == 400 and "hours" in resp.json()


def test_hours_by_someone_else_are_403(other, shop):
    resp = other.put(f"/api/shops/{shop.pk}/hours/", {"hours": []}, format="json")
    assert resp.status_code == 403


def test_exceptions_api(owner, shop):
    day = (services.shop_today(shop) + dt.timedelta(days=2)).isoformat()
    resp = owner.post(f"/api/shops/{shop.pk}/exceptions/", {"date": day, "closed": True, "note": "休息"}, format="json")
    assert resp.status_code == 200, resp.json()
    assert [e["date"] for e in owner.get(f"/api/shops/{shop.pk}/exceptions/").json()] == [day]
    bad = owner.post(
        f"/api/shops/{shop.pk}/exceptions/",
        {"date": day, "closed": False, "opens": "15:00", "closes": "11:00"},
        format="json",
    )
    assert bad.status_code == 400
    assert owner.delete(f"/api/shops/{shop.pk}/exceptions/{day}/").status_code == 204
    assert owner.delete(f"/api/shops/{shop.pk}/exceptions/{day}/").status_code == 404
    assert owner.delete(f"/api/shops/{shop.pk}/exceptions/not-a-date/").status_code == 400


# --- pledges


def test_catalogue_and_taking_pledges(owner, api_client, shop):
    catalogue = api_client.get("/api/pledges/catalogue/").json()
    assert [k["code"] for k in catalogue] == list(pledges.CATALOGUE)
    resp = owner.post(f"/api/shops/{shop.pk}/pledges/", {"kind": "returns", "terms": {"days": 10}}, format="json")
    assert resp.status_code == 201, resp.json()
    first = resp.json()
    assert first["terms"] == {"days": 10} and first["is_active"]
    resp = owner.post(f"/api/shops/{shop.pk}/pledges/", {"kind": "returns", "terms": {"days": 5}}, format="json")
    second = resp.json()
    assert second["id"] != first["id"]
    record = api_client.get(f"/api/pledges/{first['id']}/").json()
    assert record["terms"] == {"days": 10} and record["is_active"] is False and record["withdrawn_at"]
    badges = api_client.get(f"/api/shops/{shop.pk}/pledges/").json()
    assert [(b["kind"], b["pledge_id"]) for b in badges] == [("returns", second["id"])]
    assert "within 5 days" in badges[0]["description"]
    resp = owner.delete(f"/api/shops/{shop.pk}/pledges/{second['id']}/")
    assert resp.status_code == 200 and resp.json()["is_active"] is False
    assert ShopPledge.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "lifetime_warranty"}, "kind"),
        ({"kind": "returns", "terms": {"days": 0}}, "terms.days"),
        ({"kind": "returns", "terms": {"days": "a week"}}, "terms.days"),
        ({"kind": "returns", "terms": {"hours": 3}}, "terms"),
        ({"kind": "refund_no_return", "terms": {"amount": "-5"}}, "terms.amount"),
        ({"kind": "counterfeit", "terms": "triple"}, "terms"),
    ],
)
def test_bad_pledges_are_400(owner, shop, body, field):
    resp = owner.post(f"/api/shops/{shop.pk}/pledges/", body, format="json")
    assert resp.status_code == 400
    body = resp.json()
    assert body.get("field", next(iter(body))) == field, body
    assert not ShopPledge.objects.exists()


def test_pledges_are_the_owners_to_take(other, shop):
    assert other.post(f"/api/shops/{shop.pk}/pledges/", {"kind": "freshness"}, format="json").status_code == 403
    p = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.FRESHNESS)
    assert other.delete(f"/api/shops/{shop.pk}/pledges/{p.pk}/").status_code == 403


# --- follow, staff


def test_follow_and_unfollow(other, shop):
    resp = other.post(f"/api/shops/{shop.pk}/follow/")
    assert resp.json() == {"following": True, "followers_count": 1}
    assert other.post(f"/api/shops/{shop.pk}/follow/").json()["followers_count"] == 1
    assert other.get(f"/api/shops/{shop.pk}/").json()["is_following"] is True
    assert other.delete(f"/api/shops/{shop.pk}/follow/").json() == {"following": False, "followers_count": 0}
    assert not ShopFollow.objects.exists()


def test_owner_cannot_follow_own_shop(owner, shop):
    assert owner.post(f"/api/shops/{shop.pk}/follow/").status_code == 400


def test_staff_api(owner, shop):
    helper = ResidentFactory(username="ayi")
    resp = owner.post(f"/api/shops/{shop.pk}/staff/", {"username": "AYI"}, format="json")
    assert resp.status_code == 200 and [s["id"] for s in resp.json()] == [helper.pk]
    assert owner.post(f"/api/shops/{shop.pk}/staff/", {"username": "nobody"}, format="json").status_code == 404
    assert [s["id"] for s in owner.get("/api/shops/mine/").json()] == [shop.pk]
    owner.force_authenticate(helper)
    assert [s["id"] for s in owner.get("/api/shops/mine/").json()] == [shop.pk]
    assert owner.get(f"/api/shops/{shop.pk}/staff/").status_code == 403
    assert owner.patch(f"/api/shops/{shop.pk}/", {"name": "x"}, format="json").status_code == 403
    owner.force_authenticate(shop.owner)
    assert owner.delete(f"/api/shops/{shop.pk}/staff/{helper.pk}/").status_code == 204
    assert not shop.staff.exists()


# --- QR


def test_qr_endpoints(owner, shop):
    for path, content_type, magic in [
        ("qr.png", "image/png", b"\x89PNG"),
        ("qr.svg", "image/svg+xml", b"<?xml"),
        ("poster.pdf", "application/pdf", b"%PDF"),
        ("poster.png", "image/png", b"\x89PNG"),
    ]:
        resp = owner.get(f"/api/shops/{shop.pk}/{path}")
        assert resp.status_code == 200, path
        assert resp["Content-Type"] == content_type and resp.content.startswith(magic)
    owner.force_authenticate(ResidentFactory())
    assert owner.get(f"/api/shops/{shop.pk}/poster.pdf").status_code == 403
    owner.force_authenticate(None)
    assert owner.get(f"/api/shops/{shop.pk}/qr.png").status_code == 403


def test_the_schema_documents_the_shop_api(api_client):
    schema = api_client.get("/api/schema/").content.decode()
    for path in ["/api/shops/", "/api/shops/{id}/hours/", "/api/shops/{id}/poster.pdf", "/api/pledges/catalogue/"]:
        assert path in schema, path
    assert "PledgeKindEnum" in schema
