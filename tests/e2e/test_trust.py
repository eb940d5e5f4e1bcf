"""Trust in the browser: two neighbours chat about a stall, the seller marks the sale from the
conversation, the buyer confirms it and reviews it, and the ladder on the seller's profile moves
from stranger to semi-acquaintance, with its reasons."""

import pytest
from playwright.sync_api import expect

from apps.chat.models import Conversation
from apps.trust.models import Deal, Review
from tests.market.factories import publish
from tests.trust.factories import neighbour

pytestmark = pytest.mark.e2e


def bodies(page):
    return page.get_by_test_id("messages").get_by_test_id("message").locator(".body")


def test_chat_deal_confirm_review_and_the_ladder_moves(live_site, new_context, log_in):
    seller = neighbour(display_name="Wang Fang", verified=True)
    buyer = neighbour(display_name="Li Wei", verified=True)
    stall = publish(seller, title="Giant city bicycle", price="280.00", category="second_hand")

    # Both sign in before any page runs (the embedded SQLite is shared with the server).
    me = log_in(new_context().new_page(), buyer)
    them = log_in(new_context().new_page(), seller)

    # Strangers at first.
    me.goto(live_site.reverse("accounts:resident_detail", pk=seller.pk))
    expect(me.get_by_test_id("ladder-level")).to_have_text("Stranger")

    # The buyer writes from the stall page; the seller answers live.
    me.goto(live_site.reverse("market:stall_detail", pk=stall.pk))
    expect(me.get_by_test_id("seller-trust").get_by_test_id("ladder-level")).to_have_text("Stranger")
    me.get_by_test_id("message-seller").click()
    expect(me.get_by_test_id("chat-status")).to_have_text("Live")
    me.get_by_test_id("compose-body").fill("Is the bicycle still available?")
    me.get_by_test_id("compose-body").press("Enter")
    expect(bodies(me)).to_have_text(["Is the bicycle still available?"])

    conversation = Conversation.objects.get(kind="direct")
    them.goto(live_site.reverse("chat:list"))
    them.locator(f'[data-conversation-id="{conversation.pk}"]').get_by_role("link").click()
    expect(them.get_by_test_id("chat-status")).to_have_text("Live")
    them.get_by_test_id("compose-body").fill("Yes! Come by after six.")
    them.get_by_test_id("compose-send").click()
    expect(bodies(me)).to_have_text(["Is the bicycle still available?", "Yes! Come by after six."])

    # The seller marks the sale to this buyer, from the conversation.
    them.reload()
    them.get_by_test_id("mark-sale").locator("summary").click()
    expect(them.locator("#id_stall")).to_have_value(str(stall.pk))
    them.fill("#id_price", "250")
    them.get_by_test_id("mark-sale-submit").click()
    expect(them.get_by_test_id("deal-status")).to_have_text("Waiting for the buyer")

    # The buyer sees it in the conversation, confirms it, and reviews the seller.
    me.reload()
    me.get_by_test_id("deal-confirm-link").click()
    me.get_by_test_id("deal-confirm").click()
    expect(me.get_by_test_id("deal-status")).to_have_text("Confirmed")
    me.locator('input[name="stars"][value="5"]').check()
    me.fill("#id_text", "Like new, and a fair price.")
    me.get_by_test_id("review-submit").click()
    expect(me.get_by_test_id("review")).to_contain_text("Like new, and a fair price.")
    expect(me.get_by_test_id("review-form")).to_have_count(0)

    deal = Deal.objects.get()
    assert (deal.status, deal.buyer_id, deal.seller_id, str(deal.price)) == ("confirmed", buyer.pk, seller.pk, "250.00")
    assert Review.objects.get().stars == 5

    # On the seller's profile: semi-acquaintances now, and why.
    me.goto(live_site.reverse("accounts:resident_detail", pk=seller.pk))
    expect(me.get_by_test_id("ladder-level")).to_have_text("Semi-acquaintance")
    reasons = me.get_by_test_id("ladder-reasons")
    expect(reasons).to_contain_text("You bought from them once")
    expect(reasons).to_contain_text("You have chatted once")
    expect(me.get_by_test_id("resident-reviews")).to_contain_text("Like new, and a fair price.")
