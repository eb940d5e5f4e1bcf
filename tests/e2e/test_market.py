"""The market in the browser: a shopkeeper puts up a stall with a photo; a neighbour finds it."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from apps.market.models import Stall
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, publish
from tests.market.test_selectors import NORTH_600M

pytestmark = pytest.mark.e2e


def jpeg(tmp_path, color="tomato"):
    path = tmp_path / "lychees.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue())
    return path


def test_shop_stall_with_photo_found_in_feed_map_and_filters(live_site, new_context, log_in, tmp_path):
    shop = make_shop(at=NORTH_600M, name="老王水果 Wang's Fruit", pledges=["returns"], verified=True)
    publish(shop=shop, title="Bok choy", price="3.50", category="fruit_veg")
    resident = ResidentFactory(home=JINGAN, display_name="Li Hua")

    keeper = log_in(new_context().new_page(), shop.owner)
    keeper.goto(live_site.reverse("market:stall_create"))
    keeper.select_option("#id_kind", "sale")
    keeper.fill("#id_title", "Fresh lychees, 1 jin")
    keeper.fill("#id_description", "From Guangdong this morning.")
    keeper.select_option("#id_category", "fruit_veg")
    keeper.fill("#id_price", "-3")
    keeper.select_option("#id_shop", str(shop.pk))
    keeper.get_by_test_id("publish").click()
    expect(keeper.locator(".field.has-error")).to_have_count(1)  # a negative price is refused on the form
    keeper.fill("#id_price", "18")
    keeper.set_input_files("#id_photos", str(jpeg(tmp_path)))
    keeper.get_by_test_id("publish").click()
    expect(keeper.get_by_test_id("stall-detail")).to_contain_text("Fresh lychees")
    expect(keeper.locator(".gallery img")).to_have_count(1)
    stall = Stall.objects.get(title="Fresh lychees, 1 jin")
    assert stall.shop == shop and stall.location_is_exact

    page = log_in(new_context().new_page(), resident)
    page.goto(live_site.reverse("home"))
    cards = page.get_by_test_id("stall-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Fresh lychees")  # just posted: fresher than the bok choy
    expect(cards.first).to_contain_text("7-day returns")
    expect(cards.first.locator("img.thumb")).to_be_visible()

    page.locator(".filters summary").click()
    page.fill("#id_q", "lychee")
    page.get_by_test_id("apply-filters").click()
    expect(cards).to_have_count(1)
    page.fill("#id_q", "")
    page.fill("#id_price_min", "10")
    page.fill("#id_price_max", "1")
    page.get_by_test_id("apply-filters").click()
    expect(page.locator(".filter-form .error")).to_be_visible()

    page.get_by_test_id("map-view").click()
    expect(page.get_by_test_id("feed-map")).to_be_visible()
    expect(page.locator("#feed-map path.leaflet-interactive")).not_to_have_count(0)  # own area and markers
    page.goto(live_site.reverse("market:map"))
    page.get_by_test_id("map-stall").filter(has_text="Fresh lychees").click()
    expect(page.get_by_test_id("stall-detail")).to_contain_text("¥18")
    page.locator("details.pledge summary").first.click()
    expect(page.locator("details.pledge p").first).to_contain_text("7 days")


def test_neighbour_stall_shows_an_area_not_a_point(live_site, new_context, log_in):
    seller = ResidentFactory(home=NORTH_600M)
    stall = publish(seller, kind="free", title="Moving boxes")
    page = log_in(new_context().new_page(), ResidentFactory(home=JINGAN))
    page.goto(live_site.reverse("market:stall_detail", stall.pk))
    expect(page.get_by_test_id("stall-detail")).to_contain_text("within about")
    expect(page.locator("#area-map path.leaflet-interactive")).to_have_count(1)
    html = page.content()
    assert str(seller.lat) not in html and str(seller.lng) not in html

    visitor = new_context().new_page()
    visitor.goto(live_site.reverse("market:stall_detail", stall.pk))
    expect(visitor).to_have_url(live_site.reverse("accounts:login") + f"?next=/market/stalls/{stall.pk}/")


def test_new_since_last_visit_is_marked_on_the_cards(live_site, new_context, log_in):
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import Resident

    me = ResidentFactory(home=JINGAN)
    old = publish(shop=make_shop(at=NORTH_600M), title="Yesterday's bread")
    earlier = timezone.now() - timedelta(hours=5)
    Stall.objects.filter(pk=old.pk).update(created_at=earlier - timedelta(hours=1))
    Resident.objects.filter(pk=me.pk).update(feed_visit_at=earlier, feed_seen_at=earlier)
    publish(shop=make_shop(at=NORTH_600M), title="Today's dumplings")
    page = log_in(new_context().new_page(), me)
    page.goto(live_site.reverse("home"))
    expect(page.get_by_test_id("new-since")).to_be_visible()
    expect(page.get_by_test_id("new-mark")).to_have_count(1)
    expect(page.locator(".stall-card.is-new")).to_contain_text("Today's dumplings")
