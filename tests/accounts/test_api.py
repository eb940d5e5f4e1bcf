import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.nearby import geo
from tests.accounts.factories import JINGAN, ResidentFactory

pytestmark = pytest.mark.django_db


def test_me_needs_login(api_client):
    assert api_client.get("/api/me/").status_code == 403


def test_me_shows_and_updates_the_profile(resident_client):
    body = resident_client.get("/api/me/").json()
    assert body["home_area"] is None and body["radius_m"] == 1000
    resp = resident_client.patch(
        "/api/me/", {"bio": "我喜欢烘焙", "radius_m": 2000, "language": "zh-hans"}, format="json"
    )
    assert resp.status_code == 200, resp.json()
    assert resp.json()["radius_m"] == 2000


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"radius_m": 100}, "radius_m"),
        ({"radius_m": 6000}, "radius_m"),
        ({"radius_m": "far"}, "radius_m"),
        ({"language": "fr"}, "language"),
        ({"bio": "x" * 300}, "bio"),
        ({"display_name": "y" * 41}, "display_name"),
    ],
)
def test_me_bad_input_names_the_field(resident_client, payload, field):
    resp = resident_client.patch("/api/me/", payload, format="json")
    assert resp.status_code == 400
    assert field in resp.json()
    resident_client.resident.refresh_from_db()
    assert resident_client.resident.radius_m == 1000


def test_home_put_returns_only_the_area(resident_client):
    resp = resident_client.put("/api/me/home/", {"lat": 31.21551234, "lng": 121.45661234}, format="json")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"cell", "boundary"}
    assert len(body["boundary"]) == 6
    assert "31.21551234" not in resp.content.decode()
    me = resident_client.get("/api/me/").json()
    assert me["home_area"]["cell"] == body["cell"]
    assert "lat" not in me and "lng" not in me


@pytest.mark.parametrize(
    "payload", [{"lat": 95, "lng": 0}, {"lat": 0, "lng": -200}, {"lat": "north", "lng": 1}, {"lng": 1}, {}]
)
def test_home_bad_locations_are_400(resident_client, payload):
    resp = resident_client.put("/api/me/home/", payload, format="json")
    assert resp.status_code == 400
    assert resp.json()


def test_home_delete(resident_client):
    resident_client.put("/api/me/home/", {"lat": 31.2, "lng": 121.4}, format="json")
    assert resident_client.delete("/api/me/home/").status_code == 204
    assert resident_client.get("/api/me/").json()["home_area"] is None


def test_area_snap_preview(resident_client):
    resp = resident_client.get("/api/areas/snap/", {"lat": 31.2, "lng": 121.4})
    assert resp.status_code == 200
    assert int(resp.json()["cell"], 16) == geo.cell_of(31.2, 121.4, 9)
    assert resident_client.get("/api/areas/snap/", {"lat": "x", "lng": 1}).status_code == 400


def test_other_residents_show_coarse_distance_only(api_client):
    me = ResidentFactory(home=JINGAN)
    other = ResidentFactory(home=geo.Point(JINGAN.lat + 0.006, JINGAN.lng + 0.001), bio="hi")
    api_client.force_authenticate(me)
    body = api_client.get(f"/api/residents/{other.pk}/").json()
    assert body["coarse_distance_m"] in geo.COARSE_STEPS_M
    assert not {"lat", "lng", "home_cell", "home_area", "email", "cell_r9"} & set(body)


def test_unknown_resident_is_404_json(resident_client):
    resp = resident_client.get("/api/residents/999999/")
    assert resp.status_code == 404
    assert "detail" in resp.json()


def test_avatar_upload(resident_client):
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "green").save(buf, format="PNG")
    resp = resident_client.post(
        "/api/me/avatar/", {"avatar": SimpleUploadedFile("a.png", buf.getvalue(), "image/png")}, format="multipart"
    )
    assert resp.status_code == 200
    assert resp.json()["avatar"].endswith(".jpg")
    bad = resident_client.post(
        "/api/me/avatar/", {"avatar": SimpleUploadedFile("a.png", b"<svg/>", "image/png")}, format="multipart"
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "avatar"


def test_schema_documents_the_endpoints(api_client):
    resp = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in ["/api/me/", "/api/me/home/", "/api/me/avatar/", "/api/areas/snap/", "/api/residents/{id}/"]:
        assert path in paths
    assert api_client.get("/api/docs/").status_code == 200
