import pytest
from django.core.management import call_command

from apps.accounts.models import Resident
from apps.chat import selectors
from apps.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db


def test_the_demo_has_conversations_and_a_room():
    call_command("seed_demo", "--seed", "7")
    resident = Resident.objects.get(username="resident")
    listed = selectors.conversations_for(resident=resident)
    assert len([c for c in listed if not c.is_room]) >= 2
    room = Conversation.objects.get(kind="room")
    assert Message.objects.filter(conversation=room).count() == 1
    assert all(c.last_seq == Message.objects.filter(conversation=c).count() for c in Conversation.objects.all())
