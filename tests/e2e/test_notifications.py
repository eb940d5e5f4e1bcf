"""The bell in the browser: notifications arrive live over the user's socket, on any page."""

import pytest
from playwright.sync_api import expect

from apps.notifications import services
from apps.notifications.kinds import Kind
from tests.accounts.factories import JINGAN, ResidentFactory

pytestmark = pytest.mark.e2e

LIVE_MS = 20_000  # generous: CI's two cores may be busy with other work


def test_the_bell_counts_new_notifications_live(live_site, page, log_in, outside_browser):
    resident = ResidentFactory(home=JINGAN)
    log_in(page, resident)
    page.goto(live_site.reverse("notifications:preferences"))
    bell = page.get_by_test_id("bell")
    expect(bell.get_by_test_id("unread-count")).to_have_count(0)
    expect(bell).to_have_attribute("data-live", "1", timeout=LIVE_MS)  # the socket is open

    with outside_browser():
        services.notification_send(recipient_id=resident.pk, kind=Kind.VOUCH, params={"voucher": "Li Wei"})
    expect(bell.get_by_test_id("unread-count")).to_have_text("1", timeout=LIVE_MS)
    with outside_browser():
        services.notification_send(recipient_id=resident.pk, kind=Kind.RESIDENCY)
    expect(bell.get_by_test_id("unread-count")).to_have_text("2", timeout=LIVE_MS)

    # Read in another tab: this one follows.
    with outside_browser():
        services.notifications_mark_all_read(resident=resident)
    expect(bell.get_by_test_id("unread-count")).to_have_count(0, timeout=LIVE_MS)
