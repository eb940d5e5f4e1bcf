"""Moderation in the browser: a resident reports a shop's stall and, with two trusted neighbours
having reported it already, it is hidden pending review; a moderator confirms it in the admin with
penalty points for the shop; the shop's page shows the sanction; the shopkeeper appeals."""

import pytest
from playwright.sync_api import expect

from apps.market.models import Stall
from apps.moderation.models import Appeal, AuditEntry, Case
from tests.accounts.factories import JINGAN
from tests.market.factories import make_shop, publish
from tests.moderation.factories import moderator, neighbour, report

pytestmark = pytest.mark.e2e


def test_report_auto_hide_moderate_sanction_and_appeal(live_site, new_context, log_in):
    shop = make_shop(at=JINGAN, name="Lucky Fruit 幸运水果", pledges=["returns"])
    stall = publish(shop=shop, title="Organic strawberries (not organic)")
    for _ in range(2):
        report(stall, by=neighbour(), reason="false_advertising")
    resident = neighbour(display_name="Li Hua")
    mod = moderator(at=JINGAN, display_name="Chen Jing")

    # A resident reports the stall from its page: the third trusted report hides it.
    page = log_in(new_context().new_page(), resident)
    page.goto(live_site.reverse("market:stall_detail", stall.pk))
    page.get_by_test_id("report-link").click()
    expect(page.get_by_test_id("report-form")).to_contain_text("Organic strawberries")
    page.get_by_label("False advertising").check()
    page.fill("#id_note", "The label says organic; the box says otherwise.")
    page.get_by_test_id("send-report").click()
    expect(page.get_by_test_id("report-outcome")).to_have_text("Hidden pending review")
    stall.refresh_from_db()
    assert stall.status == Stall.Status.HIDDEN
    assert page.goto(live_site.reverse("market:stall_detail", stall.pk)).status == 404

    # The moderator finds it at the top of the queue, reads it, and gives the shop penalty points.
    admin = log_in(new_context().new_page(), mod)
    admin.goto(live_site.reverse("admin:moderation_case_changelist"))
    expect(admin.locator("#result_list tbody tr")).to_have_count(1)
    admin.locator("#result_list tbody tr").first.get_by_role("link").first.click()
    expect(admin.locator("body")).to_contain_text("The label says organic")
    admin.get_by_test_id("case-action-points").click()
    expect(admin.get_by_test_id("action-form")).to_be_visible()
    admin.get_by_test_id("apply-action").click()  # no reason yet: refused, nothing done
    expect(admin.locator("#id_reason:invalid")).to_have_count(1)
    assert Case.objects.get().is_open
    admin.select_option("#id_tier", "2")
    admin.fill("#id_reason", "Sold conventional strawberries as organic.")
    admin.get_by_test_id("apply-action").click()
    expect(admin.locator(".messagelist")).to_contain_text("1 case decided.")
    assert Case.objects.get().status == Case.Status.UPHELD
    assert AuditEntry.objects.filter(action="case.points", actor=mod).exists()

    # Anyone opening the shop's page sees the sanction.
    visitor = new_context().new_page()
    visitor.goto(live_site.reverse("shops:detail", shop.pk))
    expect(visitor.get_by_test_id("shop-sanctions")).to_contain_text("6 penalty points")
    expect(visitor.get_by_test_id("shop-sanction")).to_contain_text("False advertising")

    # The shopkeeper was told, and appeals once.
    keeper = log_in(new_context().new_page(), shop.owner)
    keeper.goto(live_site.reverse("notifications:list"))
    expect(keeper.locator(".notification").first).to_contain_text("penalty points")
    keeper.goto(live_site.reverse("moderation:decisions"))
    keeper.get_by_test_id("appeal-link").click()
    keeper.fill("#id_text", "These came from a certified organic farm in Chongming; certificate attached.")
    keeper.get_by_test_id("send-appeal").click()
    expect(keeper.get_by_test_id("appeal-status")).to_contain_text("Pending")
    expect(keeper.get_by_test_id("appeal-link")).to_have_count(0)
    assert Appeal.objects.get().appellant == shop.owner


def test_every_decide_button_of_a_case_opens_its_own_decision_page(live_site, new_context, log_in):
    """The Decide buttons sit on Django admin's change page. Each must open the decision page of its
    own action, the first one included: a form nested in the change form would post the change form."""
    stall = publish(shop=make_shop(at=JINGAN, name="Corner Shop"), title="Phone chargers (fake)")
    report(stall, by=neighbour(), reason="counterfeit")
    case = Case.objects.get()
    admin = log_in(new_context().new_page(), moderator(at=JINGAN))
    change_page = live_site.reverse("admin:moderation_case_change", case.pk)
    for name, title in (
        ("dismiss", "Dismiss the reports"),
        ("hide", "Hide the reported content"),
        ("ban", "Ban the person"),
    ):
        admin.goto(change_page)
        admin.get_by_test_id(f"case-action-{name}").click()
        expect(admin.get_by_test_id("action-form")).to_be_visible()
        expect(admin.get_by_test_id("apply-action")).to_have_value(title)

    # The first button, Dismiss, decides the case with a reason, and the change page says so.
    admin.goto(change_page)
    admin.get_by_test_id("case-action-dismiss").click()
    admin.fill("#id_reason", "Genuine chargers, checked the box.")
    admin.get_by_test_id("apply-action").click()
    expect(admin.locator(".messagelist")).to_contain_text("1 case decided.")
    case.refresh_from_db()
    assert case.status == Case.Status.DISMISSED
