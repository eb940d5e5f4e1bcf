import pytest
from django.core import mail
from django.urls import reverse

from apps.accounts.models import Resident
from tests.accounts.factories import JINGAN, TEST_PASSWORD, ResidentFactory

pytestmark = pytest.mark.django_db


def test_sign_up_logs_in_and_asks_for_the_home(client):
    resp = client.post(
        reverse("accounts:sign_up"),
        {
            "username": "meimei",
            "email": "meimei@example.org",
            "display_name": "梅梅",
            "language": "zh-hans",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
        },
    )
    assert resp.status_code == 302 and resp.url == reverse("accounts:home")
    assert Resident.objects.get(username="meimei").language == "zh-hans"
    page = client.get(reverse("home"))
    # The resident chose Chinese at sign-up: the page speaks it (the catalogue is complete, tests/core/test_i18n.py).
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "选择我住的片区" in page.content.decode()


def test_sign_up_errors_are_shown_on_the_form(client):
    ResidentFactory(username="taken")
    resp = client.post(
        reverse("accounts:sign_up"),
        {
            "username": "taken",
            "email": "bad",
            "display_name": "",
            "language": "en",
            "password1": "1",
            "password2": "2",
        },
    )
    assert resp.status_code == 200
    form = resp.context["form"]
    assert {"email", "display_name", "password2"} <= set(form.errors)
    assert Resident.objects.count() == 1


def test_home_form_keeps_only_the_area(client):
    r = ResidentFactory()
    client.force_login(r)
    resp = client.post(reverse("accounts:home"), {"lat": "31.2155", "lng": "121.4566"})
    assert resp.status_code == 302
    r.refresh_from_db()
    assert r.home_cell is not None
    assert client.post(reverse("accounts:home"), {"lat": "99", "lng": "1"}).status_code == 200


def test_home_page_shows_the_area_not_a_point(client):
    r = ResidentFactory(home=JINGAN)
    client.force_login(r)
    html = client.get(reverse("market:map")).content.decode()
    assert 'id="home-area"' in html
    assert str(JINGAN.lat) not in html


def test_profile_edit_and_bad_radius(client):
    r = ResidentFactory()
    client.force_login(r)
    ok = client.post(reverse("accounts:profile"), {"display_name": "Li", "bio": "", "language": "en", "radius_m": 800})
    assert ok.status_code == 302
    bad = client.post(reverse("accounts:profile"), {"display_name": "Li", "bio": "", "language": "en", "radius_m": 50})
    assert bad.status_code == 200 and "radius_m" in bad.context["form"].errors
    r.refresh_from_db()
    assert r.radius_m == 800


def test_login_logout(client):
    ResidentFactory(username="zhang")
    resp = client.post(reverse("accounts:login"), {"username": "zhang", "password": TEST_PASSWORD})
    assert resp.status_code == 302
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_password_reset_sends_a_working_link(client):
    r = ResidentFactory(email="reset@example.org")
    client.post(reverse("accounts:password_reset"), {"email": "reset@example.org"})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path, follow=True)
    assert page.status_code == 200
    new = "another-long-pass-77"
    resp = client.post(page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert resp.status_code == 302
    r.refresh_from_db()
    assert r.check_password(new)


def test_language_switch_is_kept_on_the_profile(client):
    r = ResidentFactory(language="en")
    client.force_login(r)
    client.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/"})
    r.refresh_from_db()
    assert r.language == "zh-hans"


def test_not_found_page(client):
    assert client.get("/no-such-page/").status_code == 404
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404


def test_a_residents_page_is_for_signed_in_neighbours(client):
    resident = ResidentFactory(display_name="Zhou Min")
    url = reverse("accounts:resident_detail", args=[resident.pk])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    client.force_login(ResidentFactory())
    assert "Zhou Min" in client.get(url).content.decode()


def test_a_neighbours_page_says_how_far_in_the_readers_units(client):
    from apps.nearby import geo

    me = ResidentFactory(home=JINGAN, language="en")
    far = ResidentFactory(home=geo.Point(JINGAN.lat + 0.04, JINGAN.lng), language="zh-hans")
    client.force_login(me)
    html = client.get(reverse("accounts:resident_detail", args=[far.pk])).content.decode()
    assert "Lives within about 5.0 km of you" in html
    client.force_login(far)  # who reads Chinese
    html = client.get(reverse("accounts:resident_detail", args=[me.pk])).content.decode()
    assert "住在离你约 5.0 公里的范围内" in html
