import pytest
from django.test import Client

from apps.chat import services
from apps.chat.models import Block, Conversation
from apps.moderation.models import Report
from tests.accounts.factories import ResidentFactory
from tests.chat.factories import StallFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_a_login(direct):
    client = Client()
    for path in ["/chat/", f"/chat/{direct.pk}/", "/chat/room/"]:
        assert client.get(path).status_code == 302


def test_conversation_list_shows_unread_counts(alice, bob, direct, django_assert_max_num_queries):
    services.message_send(sender=alice, conversation_id=direct.pk, body="hi", client_msg_id="a")
    client = signed_in(bob)
    with django_assert_max_num_queries(8):
        page = client.get("/chat/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Alice" in html and 'data-testid="unread">1<' in html
    assert "js/chat.js" in html and "<script>" not in html


def test_conversation_page_is_for_members_only(alice, direct):
    page = signed_in(alice).get(f"/chat/{direct.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-ws-url="/ws/chat/{direct.pk}/"' in html and 'id="chat-strings"' in html
    assert 'data-testid="compose"' in html
    assert signed_in(ResidentFactory()).get(f"/chat/{direct.pk}/").status_code == 403


def test_message_the_seller_button(alice, bob):
    stall = StallFactory(seller=bob)
    client = signed_in(alice)
    assert client.get(f"/chat/open/stall/{stall.pk}/").status_code == 405
    response = client.post(f"/chat/open/stall/{stall.pk}/")
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response.url == f"/chat/{conversation.pk}/"
    page = client.get(response.url).content.decode()
    assert 'data-testid="stall-card"' in page and stall.title in page
    assert f'href="/market/stalls/{stall.pk}/"' in page
    own = signed_in(bob).post(f"/chat/open/stall/{stall.pk}/", follow=True)
    assert "cannot message yourself" in own.content.decode()


def test_a_hidden_stall_cannot_be_messaged_about(alice, bob):
    stall = StallFactory(seller=bob)
    stall.status = stall.Status.HIDDEN
    stall.save(update_fields=["status"])
    assert signed_in(alice).post(f"/chat/open/stall/{stall.pk}/").status_code == 404
    assert not Conversation.objects.exists()


def test_open_with_a_shop_and_a_resident(alice, bob, shop):
    client = signed_in(alice)
    assert client.post(f"/chat/open/shop/{shop.pk}/").status_code == 302
    assert client.post(f"/chat/open/resident/{bob.pk}/").status_code == 302
    assert Conversation.objects.count() == 2


def test_room_page_joins_then_shows_the_room(alice):
    client = signed_in(alice)
    page = client.get("/chat/room/")
    assert page.status_code == 200 and 'data-testid="room-join"' in page.content.decode()
    joined = client.post("/chat/room/")
    room = Conversation.objects.get(kind="room")
    assert joined.url == f"/chat/{room.pk}/"
    assert client.get("/chat/room/").url == f"/chat/{room.pk}/"
    html = client.get(f"/chat/{room.pk}/").content.decode()
    assert 'data-testid="read-only-note"' in html and 'data-testid="compose"' not in html


def test_block_and_unblock_from_the_conversation(alice, bob, direct):
    client = signed_in(alice)
    assert 'data-testid="block"' in client.get(f"/chat/{direct.pk}/").content.decode()
    client.post(f"/chat/block/{bob.pk}/", {"next": f"/chat/{direct.pk}/"})
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    html = client.get(f"/chat/{direct.pk}/").content.decode()
    assert 'data-testid="blocked-note"' in html and 'data-testid="unblock"' in html
    assert client.post(f"/chat/unblock/{bob.pk}/", {"next": "//evil.example/"}).url == "/chat/"
    assert not Block.objects.exists()


def test_report_form(alice, bob, direct):
    message = services.message_send(sender=alice, conversation_id=direct.pk, body="wire me money", client_msg_id="a")
    client = signed_in(bob)
    assert client.get(f"/chat/messages/{message.pk}/report/").status_code == 200
    bad = client.post(f"/chat/messages/{message.pk}/report/", {"reason": "nope"})
    assert bad.status_code == 200 and Report.objects.count() == 0
    done = client.post(f"/chat/messages/{message.pk}/report/", {"reason": "scam", "note": "asks for a transfer"})
    assert done.status_code == 302
    assert Report.objects.get().note == "asks for a transfer"
    own = signed_in(alice).post(f"/chat/messages/{message.pk}/report/", {"reason": "spam"})
    assert own.status_code == 200 and "your own message" in own.content.decode()
    assert signed_in(ResidentFactory()).get(f"/chat/messages/{message.pk}/report/").status_code == 403


def test_reports_are_in_the_moderators_queue(alice, bob, direct):
    message = services.message_send(sender=alice, conversation_id=direct.pk, body="spam spam", client_msg_id="a")
    services.message_report(reporter=bob, message_id=message.pk, reason="spam")
    admin = ResidentFactory(is_staff=True, is_superuser=True)
    page = signed_in(admin).get("/admin/moderation/case/")
    assert page.status_code == 200 and "spam spam" in page.content.decode()
    for model in ["conversation", "message", "block"]:
        assert signed_in(admin).get(f"/admin/chat/{model}/").status_code == 200
