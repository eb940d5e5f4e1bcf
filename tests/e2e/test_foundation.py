"""The foundation in the browser: join in Chinese, choose a home area on the map, come back later."""

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Resident
from apps.nearby import geo
from tests.accounts.factories import ResidentFactory

pytestmark = pytest.mark.e2e

PASSWORD = "jiefang-lihua-2026"


def switch_language(page, code: str):
    page.locator(f"footer button[name=language][value={code}]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_sign_up_in_chinese_choose_home_and_come_back(page, live_site, new_context):
    page.goto("/")
    switch_language(page, "zh-hans")
    page.get_by_role("link", name="加入", exact=True).click()
    expect(page).to_have_url(live_site.reverse("accounts:sign_up"))

    page.fill("#id_username", "lihua")
    page.fill("#id_email", "lihua@example.org")
    page.fill("#id_display_name", "李华")
    page.select_option("#id_language", "zh-hans")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_test_id("sign-up").click()

    # Straight on to the home area: tap the map, see the area it snaps to, save.
    expect(page).to_have_url(live_site.reverse("accounts:home"))
    picker = page.locator("#home-map.leaflet-container")
    expect(picker).to_be_visible()
    expect(page.get_by_test_id("picked-area")).to_have_text("还没有选择片区。")
    picker.click(position={"x": 200, "y": 150})
    picked = page.get_by_test_id("picked-area")
    expect(picked).to_have_attribute("data-cell", re.compile(r"^[0-9a-f]{15}$"))
    expect(picked).to_have_text("片区已选好，保存后生效。")
    expect(picker.locator("path.leaflet-interactive")).to_have_count(1)
    shown_cell = int(picked.get_attribute("data-cell"), 16)  # the API shows H3's hex form
    tapped = tuple(float(page.locator(f"#home-form [name={name}]").input_value()) for name in ("lat", "lng"))
    assert geo.cell_of(*tapped, 9) == shown_cell
    page.get_by_test_id("save-home").click()

    # Home: the nearby feed, around the area just saved.
    expect(page).to_have_url(live_site.reverse("home"))
    expect(page.locator(".message")).to_contain_text("你住的片区已保存")
    expect(page.get_by_test_id("feed")).to_be_attached()
    expect(page.locator(".feed-head h1")).to_have_text("附近")
    page.get_by_role("link", name="我的", exact=True).click()
    page.get_by_role("link", name="我住的片区", exact=True).click()
    expect(page.get_by_test_id("picked-area")).to_have_text("地图上标出的是你现在的片区。")
    expect(page.locator("#home-map path.leaflet-interactive")).to_have_count(1)

    lihua = Resident.objects.get(username="lihua")
    assert lihua.language == "zh-hans"
    assert lihua.home_cell == shown_cell
    # Only the area is kept: the stored point is the cell's centre, not where the map was tapped.
    centre = geo.cell_center(shown_cell)
    assert (lihua.lat, lihua.lng) == (centre.lat, centre.lng) != tapped

    page.get_by_test_id("logout").click()
    expect(page.get_by_role("link", name="加入你身边的街坊", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # Another device with an English browser: once signed in, the resident's own language wins.
    other = new_context(locale="en-GB").new_page()
    other.goto("/accounts/login/")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    other.fill("#id_username", "lihua")
    other.fill("#id_password", PASSWORD)
    other.get_by_test_id("log-in").click()
    expect(other).to_have_url(live_site.reverse("home"))
    expect(other.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(other.get_by_test_id("feed")).to_be_attached()
    expect(other.get_by_test_id("logout")).to_have_text("退出登录")


def test_sign_up_form_errors_show_in_the_page(page, live_site):
    page.goto("/accounts/signup/")
    page.fill("#id_username", "wangfang")
    page.fill("#id_email", "not-an-address")
    page.fill("#id_display_name", "Wang Fang")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD + "-typo")
    page.get_by_test_id("sign-up").click()

    expect(page).to_have_url(live_site.reverse("accounts:sign_up"))
    expect(page.locator(".field.has-error")).to_have_count(2)
    expect(page.locator(".has-error:has(#id_password2) .error")).to_have_text("The two passwords differ.")
    expect(page.locator(".has-error:has(#id_email) .error")).to_have_text("Enter a valid email address.")
    # What was typed is kept, except the passwords.
    expect(page.locator("#id_display_name")).to_have_value("Wang Fang")
    expect(page.locator("#id_password1")).to_have_value("")
    assert not Resident.objects.filter(username="wangfang").exists()


def test_saving_a_home_without_choosing_an_area_says_what_to_do(page, live_site, log_in):
    resident = ResidentFactory()
    log_in(page, resident)
    page.goto("/accounts/home/")
    page.get_by_test_id("save-home").click()

    expect(page).to_have_url(live_site.reverse("accounts:home"))
    expect(page.locator(".errors[role=alert]")).to_contain_text("Tap the map or use your location")
    resident.refresh_from_db()
    assert resident.home_cell is None
