"""Shops in the browser: a shopkeeper registers a shop on the map with a photo and prints its QR
code; a visitor who is not logged in scans it (opens the link) and is invited to follow."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from apps.shops import pledges, services
from apps.shops.models import Shop
from tests.accounts.factories import ResidentFactory

pytestmark = pytest.mark.e2e

try:
    import zxingcpp
except ImportError:
    zxingcpp = None


def shop_photo(tmp_path):
    path = tmp_path / "front.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "orange").save(buf, format="JPEG")
    path.write_bytes(buf.getvalue())
    return path


def test_shopkeeper_registers_a_shop_and_a_visitor_scans_its_qr(live_site, new_context, log_in, tmp_path):
    keeper = ResidentFactory(display_name="王芳")
    page = log_in(new_context().new_page(), keeper)
    page.goto(live_site.reverse("shops:list"))
    page.get_by_test_id("register-shop").click()

    page.fill("#id_name", "静安面包房 Jing'an Bakery")
    page.select_option("#id_category", "bakery")
    page.fill("#id_description", "Buns at six every morning.")
    page.get_by_test_id("save-shop").click()
    expect(page.locator(".field.has-error")).not_to_have_count(0)  # no place chosen yet: refused on the form
    assert not Shop.objects.exists()

    page.get_by_test_id("shop-map").click(position={"x": 180, "y": 120})  # the door, on the map
    expect(page.locator("#id_lat")).not_to_have_value("")
    page.set_input_files("#id_photo", str(shop_photo(tmp_path)))
    page.get_by_test_id("save-shop").click()
    expect(page.get_by_test_id("shop-manage")).to_contain_text("静安面包房")
    shop = Shop.objects.get(owner=keeper)
    assert shop.photos.count() == 1 and shop.lat is not None and not shop.is_verified
    services.pledge_take(shop=shop, by=keeper, kind=pledges.RETURNS, terms={"days": 7})

    # The code printed for the counter opens the shop's page.
    qr_url = page.locator(".qr-url").inner_text().strip()
    assert qr_url == live_site.reverse("shops:detail", shop.pk) + "?qr=1"
    png = page.request.get(live_site.reverse("shops:qr", shop.pk, "qr.png"))
    assert png.ok and png.headers["content-type"] == "image/png"
    if zxingcpp is not None:
        assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body())))] == [qr_url]
    pdf = page.request.get(live_site.reverse("shops:qr", shop.pk, "poster.pdf"))
    assert pdf.body().startswith(b"%PDF")

    visitor = new_context().new_page()
    visitor.goto(qr_url)
    expect(visitor.get_by_test_id("shop-name")).to_have_text("静安面包房 Jing'an Bakery")
    invite = visitor.get_by_test_id("follow-invite")
    expect(invite).to_contain_text("Welcome to 静安面包房")
    expect(visitor.get_by_test_id("unverified")).to_be_visible()
    expect(visitor.locator(".gallery img")).to_have_count(1)
    visitor.locator("details.pledge summary").first.click()
    expect(visitor.locator("details.pledge p").first).to_contain_text("within 7 days")
    expect(visitor.get_by_test_id("follow")).to_have_count(0)

    # Logging in from the invitation comes back to the shop, where following is one tap.
    fan = ResidentFactory()
    visitor.get_by_test_id("invite-login").click()
    visitor.fill("#id_username", fan.username)
    visitor.fill("#id_password", "neighbour-pass-2026")
    visitor.locator("main form button[type=submit]").click()
    expect(visitor.get_by_test_id("shop-name")).to_be_visible()
    visitor.get_by_test_id("follow").click()
    expect(visitor.get_by_test_id("unfollow")).to_be_visible()
    expect(visitor.get_by_test_id("followers-count")).to_have_text("1 follower")
    assert shop.follows.filter(resident=fan).exists()
