"""Chat messages in the moderators' queue: reported through chat's own report service."""

import pytest
from django.urls import reverse

from apps.chat import services as chat
from apps.chat.payloads import message_as_dict
from apps.moderation import areas, services
from apps.moderation.models import Case, Decision
from tests.accounts.factories import JINGAN
from tests.moderation.factories import PUDONG, moderator, neighbour

pytestmark = pytest.mark.django_db


def _room_message(sender, body="Cheap iPhones, DM me"):
    room = chat.room_join(resident=sender)
    return chat.message_send(sender=sender, conversation_id=room.pk, body=body, client_msg_id="room-1"), room


def test_room_messages_hide_after_enough_weighted_reports_and_come_back_on_dismissal():
    spammer = neighbour()
    message, room = _room_message(spammer)
    readers = [neighbour() for _ in range(3)]
    for reader in readers[:2]:
        chat.room_join(resident=reader)
        chat.message_report(reporter=reader, message_id=message.pk, reason="spam")
    message.refresh_from_db()
    assert message.hidden_at is None
    chat.room_join(resident=readers[2])
    chat.message_report(reporter=readers[2], message_id=message.pk, reason="spam")
    message.refresh_from_db()
    assert message.hidden_at is not None
    shown = message_as_dict(message)
    assert shown["hidden"] and shown["body"] == "" and shown["photo"] is None
    case = Case.objects.get()
    assert case.kind == "message" and case.area == areas.area_of_cell(room.room_cell)
    assert case.snapshot["text"] == "Cheap iPhones, DM me"

    with pytest.raises(areas.OutsideArea):
        services.case_decide(case=case, moderator=moderator(at=PUDONG), action="dismiss", reason="Not mine")
    services.case_decide(case=case, moderator=moderator(at=JINGAN), action="dismiss", reason="A real offer")
    message.refresh_from_db()
    assert message.hidden_at is None


def test_direct_messages_carry_earlier_messages_as_context_and_a_warning_keeps_them_hidden():
    alice, bob = neighbour(), neighbour()
    direct = chat.conversation_open(resident=alice, other=bob)
    chat.message_send(sender=alice, conversation_id=direct.pk, body="Is the bike still there?", client_msg_id="1")
    rude = chat.message_send(sender=bob, conversation_id=direct.pk, body="Go away, idiot", client_msg_id="2")
    chat.message_report(reporter=alice, message_id=rude.pk, reason="harassment")
    case = Case.objects.get()
    assert [m["body"] for m in case.snapshot["context"]] == ["Is the bike still there?"]
    assert case.area == areas.area_of_cell(bob.home_cell)
    services.case_decide(case=case, moderator=moderator(), action="warn", reason="Insults in a direct message")
    rude.refresh_from_db()
    assert rude.hidden_at is not None
    assert Decision.objects.get(action="warn").subject == bob


def test_suspended_residents_cannot_send_messages():
    from apps.chat.services import NotInConversation

    alice, bob = neighbour(), neighbour()
    direct = chat.conversation_open(resident=alice, other=bob)
    services.resident_suspend_for(resident=bob, moderator=moderator(), days=3, reason="Spamming neighbours")
    bob.refresh_from_db()
    with pytest.raises(NotInConversation):
        chat.message_send(sender=bob, conversation_id=direct.pk, body="hello?", client_msg_id="x")


def test_the_case_page_shows_the_reported_message(client):
    alice, bob = neighbour(), neighbour()
    direct = chat.conversation_open(resident=alice, other=bob)
    message = chat.message_send(
        sender=bob, conversation_id=direct.pk, body="Pay me first, by WeChat", client_msg_id="1"
    )
    chat.message_report(reporter=alice, message_id=message.pk, reason="scam")
    client.force_login(moderator())
    page = client.get(reverse("admin:moderation_case_change", args=[Case.objects.get().pk])).content.decode()
    assert "Pay me first, by WeChat" in page


def test_the_report_form_of_a_message_is_not_found_for_who_cannot_read_it(client):
    alice, bob, outsider = neighbour(), neighbour(), neighbour()
    direct = chat.conversation_open(resident=alice, other=bob)
    message = chat.message_send(sender=bob, conversation_id=direct.pk, body="My door code is 4711", client_msg_id="1")
    url = reverse("moderation:report", args=["message", message.pk])
    client.force_login(outsider)
    for response in (client.get(url), client.post(url, {"reason": "scam"})):
        assert response.status_code == 404
        assert "4711" not in response.content.decode()
    assert not Case.objects.exists()
    client.force_login(alice)
    page = client.get(url)
    assert page.status_code == 200 and "4711" in page.content.decode()
