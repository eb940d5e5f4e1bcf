import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.accounts import services
from apps.accounts.models import Resident
from apps.core.errors import DomainError
from apps.core.images import InvalidImage
from apps.nearby import geo
from tests.accounts.factories import JINGAN, ResidentFactory

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_resident_with_a_hashed_password():
    r = services.resident_sign_up(
        username="liwei",
        email="LiWei@Example.org",
        password="a-long-pass-2026",
        display_name=" 李伟 ",
        language="zh-hans",
    )
    assert r.display_name == "李伟"
    assert r.email == "liwei@example.org"
    assert r.language == "zh-hans"
    assert r.check_password("a-long-pass-2026")
    assert r.home_cell is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "taken"}, "username"),
        ({"email": "TAKEN@example.org"}, "email"),
        ({"password": "123"}, "password"),
        ({"password": "password"}, "password"),
    ],
)
def test_sign_up_refusals_name_the_field_and_store_nothing(kwargs, field):
    ResidentFactory(username="taken", email="taken@example.org")
    data = {"username": "new", "email": "new@example.org", "password": "a-long-pass-2026", "display_name": "N"}
    data.update(kwargs)
    with pytest.raises(DomainError) as exc:
        services.resident_sign_up(**data)
    assert exc.value.field == field
    assert Resident.objects.count() == 1


def test_home_keeps_only_the_cell_never_the_point():
    r = ResidentFactory()
    services.resident_home_set(resident=r, lat=31.21551234, lng=121.45661234)
    r.refresh_from_db()
    assert r.home_cell == geo.cell_of(31.21551234, 121.45661234, 9)
    centre = geo.cell_center(r.home_cell)
    assert (r.lat, r.lng) == (centre.lat, centre.lng)
    stored = {f.attname: getattr(r, f.attname) for f in Resident._meta.concrete_fields}
    assert 31.21551234 not in stored.values() and 121.45661234 not in stored.values()


def test_two_points_in_one_cell_are_indistinguishable():
    a = ResidentFactory(home=JINGAN)
    b = ResidentFactory(home=geo.Point(JINGAN.lat + 0.0002, JINGAN.lng - 0.0002))
    assert (a.home_cell, a.lat, a.lng) == (b.home_cell, b.lat, b.lng)


@pytest.mark.parametrize(("lat", "lng"), [(91, 0), (0, 181), (float("nan"), 0)])
def test_bad_home_is_refused_and_the_old_one_kept(lat, lng):
    r = ResidentFactory(home=JINGAN)
    before = r.home_cell
    with pytest.raises(geo.InvalidLocation):
        services.resident_home_set(resident=r, lat=lat, lng=lng)
    r.refresh_from_db()
    assert r.home_cell == before


@pytest.mark.parametrize("radius", [199, 5001, 0, -5])
def test_radius_outside_the_range_is_refused(radius):
    r = ResidentFactory()
    with pytest.raises(DomainError) as exc:
        services.resident_profile_update(resident=r, radius_m=radius)
    assert exc.value.field == "radius_m"
    r.refresh_from_db()
    assert r.radius_m == 1000


def test_over_long_bio_is_refused():
    r = ResidentFactory()
    with pytest.raises(ValidationError):
        services.resident_profile_update(resident=r, bio="x" * 281)


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "orange")
    exif = Image.Exif()
    exif[0x8825] = {2: (31.0, 12.0, 55.0), 4: (121.0, 27.0, 24.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_avatar_is_reencoded_without_exif():
    raw = _jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif()
    r = ResidentFactory()
    services.resident_avatar_set(resident=r, upload=SimpleUploadedFile("me.jpg", raw, "image/jpeg"))
    with r.avatar.open("rb") as f:
        stored = Image.open(io.BytesIO(f.read()))
        assert not stored.getexif()
        assert "exif" not in stored.info


@pytest.mark.parametrize(
    "payload",
    [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 100, b"GIF89a" + b"\x00" * 20],
)
def test_fake_images_are_refused(payload):
    r = ResidentFactory()
    with pytest.raises(InvalidImage):
        services.resident_avatar_set(resident=r, upload=SimpleUploadedFile("x.jpg", payload, "image/jpeg"))
    r.refresh_from_db()
    assert not r.avatar


def test_oversized_image_is_refused(settings):
    settings.JIEFANG_IMAGE_MAX_BYTES = 1000
    r = ResidentFactory()
    with pytest.raises(InvalidImage):
        services.resident_avatar_set(resident=r, upload=SimpleUploadedFile("x.jpg", _jpeg_with_gps() * 3))
