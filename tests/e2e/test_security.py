"""The Content-Security-Policy in a real browser: it blocks what it should, and the site's own
pages (maps, htmx, chat are covered by the other e2e tests, which fail on any violation), the API
docs and htmx's CSRF header work under it."""

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import ResidentFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.e2e


def test_an_injected_inline_script_is_blocked_and_reported(page, csp_violations):
    page.goto("/")
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.injected = true";
          document.body.appendChild(s);
          const d = document.createElement("div");
          d.setAttribute("onclick", "window.injected = true");
          document.body.appendChild(d);
          d.click();
        }"""
    )
    page.wait_for_function("() => true")
    assert page.evaluate("() => window.injected") is None
    page.wait_for_timeout(100)  # violations are reported asynchronously
    assert any("script-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()


def test_htmx_sends_the_csrf_token_in_a_header(page, live_site, log_in):
    """htmx.ajax() from outside any form carries no csrf field: only site.js's header can pass."""
    shop = ShopFactory()
    fan = ResidentFactory()
    log_in(page, fan)
    page.goto(live_site.reverse("shops:detail", shop.pk))
    url = live_site.reverse("shops:follow", shop.pk)
    with page.expect_request(url) as request_info:
        page.evaluate(f"""() => htmx.ajax("POST", "{url}", {{target: "#follow-box", swap: "outerHTML"}})""")
    assert request_info.value.headers.get("x-csrftoken")
    expect(page.get_by_test_id("unfollow")).to_be_visible()
    assert shop.follows.filter(resident=fan).exists()
    # The same request without the header is refused: the check is real.
    status = page.evaluate(f"""() => fetch("{url}", {{method: "POST"}}).then(r => r.status)""")
    assert status == 403


def test_swagger_ui_renders_under_the_policy(page, live_site, log_in):
    log_in(page, ResidentFactory())
    response = page.goto("/api/docs/")
    assert "'nonce-" in response.headers["content-security-policy"]
    expect(page.locator(".opblock").first).to_be_visible(timeout=60_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/me/").first).to_be_visible(timeout=60_000)


def test_redoc_renders_under_its_own_policy(page, log_in, csp_violations):
    log_in(page, ResidentFactory())
    page.goto("/api/redoc/")
    # Redoc parses the whole schema in the browser: slow on a loaded 2-core machine.
    expect(page.get_by_text("/api/me/").first).to_be_attached(timeout=60_000)
    # Redoc's "powered by" footer links its logo from its CDN: blocked, as the site loads nothing
    # from elsewhere. Nothing else may be.
    page.wait_for_timeout(200)
    assert [v for v in csp_violations if "cdn.redoc.ly" not in v] == []
    csp_violations.clear()
