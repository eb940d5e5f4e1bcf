"""Chat in the browser: a resident and a shopkeeper talk live, and a dropped socket catches up."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from apps.chat.models import Conversation, Member, Message
from apps.chat.services import conversation_open, message_send
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, publish

pytestmark = pytest.mark.e2e

RECONNECT_MS = 15_000  # the backoff waits up to a few seconds between tries


def photo(tmp_path):
    path = tmp_path / "lychees.png"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "crimson").save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


def bodies(page):
    return page.get_by_test_id("messages").get_by_test_id("message").locator(".body")


def test_resident_and_shopkeeper_chat_live_and_catch_up_after_a_reconnect(live_site, new_context, log_in, tmp_path):
    shop = make_shop(name="老王水果 Wang's Fruit", verified=True)
    stall = publish(shop=shop, title="Fresh lychees, 1 jin", price="18.00", category="fruit_veg")
    resident = ResidentFactory(home=JINGAN, display_name="Li Hua")

    # Both sign in before any page runs: on the embedded SQLite (one shared in-memory database)
    # a write from the test thread fails at once while the server is writing.
    buyer = log_in(new_context().new_page(), resident)
    keeper_context = new_context()
    keeper = log_in(keeper_context.new_page(), shop.owner)
    buyer.goto(live_site.reverse("market:stall_detail", pk=stall.pk))
    buyer.get_by_test_id("message-seller").click()  # opens the conversation about this stall
    expect(buyer.get_by_test_id("stall-card")).to_contain_text("Fresh lychees")
    conversation = Conversation.objects.get(shop=shop, resident=resident)
    assert conversation.stall == stall
    expect(buyer.get_by_test_id("chat-status")).to_have_text("Live")
    buyer.get_by_test_id("compose-body").fill("Are the lychees sweet?")
    buyer.get_by_test_id("compose-body").press("Enter")
    expect(bodies(buyer)).to_have_text(["Are the lychees sweet?"])

    # The shopkeeper sees the unread conversation in the list, opens it, and they talk live.
    keeper.goto(live_site.reverse("chat:list"))
    row = keeper.locator(f'[data-conversation-id="{conversation.pk}"]')
    expect(row.get_by_test_id("unread")).to_have_text("1")
    row.get_by_role("link").click()
    expect(keeper.get_by_test_id("chat-status")).to_have_text("Live")
    expect(bodies(keeper)).to_have_text(["Are the lychees sweet?"])
    expect(buyer.get_by_test_id("seen")).to_be_visible()  # the shopkeeper's read marker, live

    keeper.get_by_test_id("compose-body").press_sequentially("Very")
    expect(buyer.get_by_test_id("typing")).to_contain_text("is typing")
    keeper.get_by_test_id("compose-body").press_sequentially(" sweet, picked yesterday.")
    keeper.get_by_test_id("compose-send").click()
    expect(bodies(buyer)).to_have_text(["Are the lychees sweet?", "Very sweet, picked yesterday."])

    buyer.get_by_test_id("compose-photo").set_input_files(str(photo(tmp_path)))
    expect(keeper.get_by_test_id("messages").locator("img")).to_have_count(1)

    # The shopkeeper's connection drops; the resident writes meanwhile; on reconnect the shopkeeper
    # gets exactly the missed messages, in order, without reloading the page.
    keeper_context.set_offline(True)
    keeper.evaluate("window.jiefangChat.ws.close()")
    expect(keeper.get_by_test_id("chat-status")).to_contain_text("Offline")
    for text in ["I'll take two jin.", "Can I pick them up at six?"]:
        buyer.get_by_test_id("compose-body").fill(text)
        buyer.get_by_test_id("compose-send").click()
    expect(bodies(buyer)).to_have_count(4)
    expect(bodies(keeper)).to_have_count(2)
    keeper_context.set_offline(False)
    expect(keeper.get_by_test_id("chat-status")).to_have_text("Live", timeout=RECONNECT_MS)
    expect(bodies(keeper)).to_have_text(
        [
            "Are the lychees sweet?",
            "Very sweet, picked yesterday.",
            "I'll take two jin.",
            "Can I pick them up at six?",
        ]
    )
    expect(keeper.get_by_test_id("messages").get_by_test_id("message")).to_have_count(5)  # with the photo
    # The shopkeeper's open page marks what it shows as read; the resident sees it as "Seen". Only
    # then does the test read the database: the embedded SQLite (one in-memory database shared by
    # the test and the server thread) refuses a write that meets a read instead of waiting.
    expect(buyer.locator('[data-seq="5"]').get_by_test_id("seen")).to_be_visible()
    assert Member.objects.get(conversation=conversation, resident=shop.owner).last_read_seq == 5
    assert Message.objects.filter(conversation=conversation).count() == 5


# Records the conversation rows taken out of the list (a move takes a row out and puts it back).
WATCH_ROW_MOVES = """() => {
  window.rowsMoved = [];
  new MutationObserver((records) => records.forEach((r) => r.removedNodes.forEach((n) => {
    if (n.nodeType === 1) window.rowsMoved.push(n.dataset.conversationId);
  }))).observe(document.querySelector(".chat-conversations"), {childList: true});
}"""


def test_conversation_list_follows_new_messages_live_and_moves_only_what_changed(live_site, new_context, log_in):
    reader = ResidentFactory(home=JINGAN, display_name="Zhou Min")
    earlier = ResidentFactory(home=JINGAN, display_name="Chen Jie")
    later = ResidentFactory(home=JINGAN, display_name="Sun Li")
    with_earlier = conversation_open(resident=earlier, other=reader)
    message_send(sender=earlier, conversation_id=with_earlier.pk, body="Hello neighbour", client_msg_id="e1")
    with_later = conversation_open(resident=later, other=reader)
    message_send(sender=later, conversation_id=with_later.pk, body="Is the ladder free?", client_msg_id="l1")

    page = log_in(new_context().new_page(), reader)
    writer = log_in(new_context().new_page(), earlier)
    page.goto(live_site.reverse("chat:list"))
    rows = page.get_by_test_id("conversations").locator("[data-conversation-id]")
    expect(rows.locator("strong")).to_have_text(["Sun Li", "Chen Jie"])  # the latest activity first
    page.evaluate(WATCH_ROW_MOVES)

    # A new message in the lower conversation: the list moves it to the top and counts it, live.
    writer.goto(live_site.reverse("chat:conversation", pk=with_earlier.pk))
    expect(writer.get_by_test_id("chat-status")).to_have_text("Live")
    writer.get_by_test_id("compose-body").fill("Still there?")
    writer.get_by_test_id("compose-body").press("Enter")
    expect(rows.locator("strong")).to_have_text(["Chen Jie", "Sun Li"])
    expect(rows.first.get_by_test_id("unread")).to_have_text("2")
    expect(rows.last.get_by_test_id("unread")).to_have_text("1")
    # Only that row moved: a row taken out of the page, even for a moment, loses a tap on it.
    assert page.evaluate("window.rowsMoved") == [str(with_earlier.pk)]
    rows.first.get_by_role("link").click()
    expect(page.get_by_test_id("chat-status")).to_have_text("Live")
    expect(bodies(page)).to_have_text(["Hello neighbour", "Still there?"])
