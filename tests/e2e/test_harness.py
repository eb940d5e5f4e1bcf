"""The browser-test harness itself: what later browser tests rely on."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_static_files_are_served_and_the_internet_is_not_reached(page):
    response = page.goto("/static/vendor/leaflet/leaflet.js")
    assert response.status == 200
    with pytest.raises(PlaywrightError, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("https://tile.openstreetmap.org/0/0/0.png")


def test_pages_carry_no_tile_url_in_tests(page):
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-tile-url", "")


def test_test_code_may_use_async_to_sync_outside_the_browser(page, outside_browser):
    page.goto("/")
    with pytest.raises(RuntimeError, match="same thread as an async event loop"):
        async_to_sync(asyncio.sleep)(0)
    with outside_browser():
        assert async_to_sync(asyncio.sleep)(0, result="done") == "done"
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_contexts_are_independent_users(new_context, log_in):
    from tests.accounts.factories import ResidentFactory

    first, second = ResidentFactory(display_name="Ah Mei"), ResidentFactory(display_name="Lao Zhang")
    page_a = log_in(new_context().new_page(), first)
    page_b = log_in(new_context().new_page(), second)
    page_a.goto("/")
    page_b.goto("/")
    expect(page_a.locator("h1")).to_contain_text("Ah Mei")
    expect(page_b.locator("h1")).to_contain_text("Lao Zhang")
