import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.chat import selectors, services
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.chat.factories import ShopFactory

pytestmark = pytest.mark.django_db


def say(sender, conversation, n=1):
    for i in range(n):
        services.message_send(
            sender=sender, conversation_id=conversation.pk, body=f"m{i}", client_msg_id=f"{sender.pk}-{i}-{id(i)}"
        )


def test_conversations_are_sorted_by_last_activity_with_unread_counts(alice):
    others = [ResidentFactory() for _ in range(3)]
    conversations = [services.conversation_open(resident=alice, other=o) for o in others]
    say(others[0], conversations[0], 2)
    say(others[2], conversations[2], 1)
    say(others[1], conversations[1], 3)
    listed = selectors.conversations_for(resident=alice)
    assert [c.pk for c in listed] == [conversations[1].pk, conversations[2].pk, conversations[0].pk]
    assert [c.unread for c in listed] == [3, 1, 2]
    assert [c.title for c in listed] == [str(others[1]), str(others[2]), str(others[0])]
    services.message_mark_read(resident=alice, conversation_id=conversations[1].pk, seq=2)
    assert selectors.conversations_for(resident=alice)[0].unread == 1
    assert selectors.unread_total(resident=alice) == 4


def test_own_messages_are_not_unread(alice, bob, direct):
    say(alice, direct, 2)
    assert selectors.conversations_for(resident=alice)[0].unread == 0
    assert selectors.conversations_for(resident=bob)[0].unread == 2


def test_the_list_takes_a_bounded_number_of_queries(alice, django_assert_max_num_queries):
    shop = ShopFactory(owner=alice)
    for _ in range(12):
        other = ResidentFactory()
        say(other, services.conversation_open(resident=alice, other=other))
        say(other, services.conversation_open(resident=other, shop=shop))
    services.room_join(resident=alice)
    with django_assert_max_num_queries(2):
        listed = selectors.conversations_for(resident=alice)
        assert len(listed) == 25
        assert all(c.title for c in listed)


def test_history_goes_backwards_by_cursor(alice, direct):
    say(alice, direct, 7)
    newest = selectors.messages_before(conversation=direct, limit=3)
    assert [m.seq for m in newest] == [5, 6, 7]
    older = selectors.messages_before(conversation=direct, before_seq=5, limit=3)
    assert [m.seq for m in older] == [2, 3, 4]
    assert [m.seq for m in selectors.messages_before(conversation=direct, before_seq=2, limit=3)] == [1]


def test_resync_returns_what_came_after_in_order(alice, bob, direct):
    say(alice, direct, 3)
    say(bob, direct, 2)
    assert [m.seq for m in selectors.messages_after(conversation=direct, after_seq=2)] == [3, 4, 5]
    assert [m.seq for m in selectors.messages_after(conversation=direct, after_seq=2, limit=2)] == [3, 4]
    assert selectors.messages_after(conversation=direct, after_seq=5) == []


def test_only_members_get_a_conversation(alice, direct):
    assert selectors.conversation_get_for_member(resident=alice, conversation_id=direct.pk) == direct
    with pytest.raises(PermissionDenied):
        selectors.conversation_get_for_member(resident=ResidentFactory(), conversation_id=direct.pk)
    with pytest.raises(PermissionDenied):
        selectors.conversation_get_for_member(resident=alice, conversation_id=123456)


def test_a_block_closes_the_live_conversation_but_not_its_history(alice, bob, direct):
    services.block_create(blocker=alice, blocked=bob)
    assert selectors.conversation_get_for_member(resident=bob, conversation_id=direct.pk) == direct
    with pytest.raises(PermissionDenied):
        selectors.conversation_get_for_live(resident=bob, conversation_id=direct.pk)


def test_the_verified_resident_rule():
    resident = ResidentFactory(home=JINGAN)
    assert not selectors.resident_is_verified(resident)
    resident.residency_verified_at = timezone.now()
    assert selectors.resident_is_verified(resident)
    moderator = ResidentFactory(is_staff=True)
    assert selectors.resident_is_verified(moderator)


def test_room_cells_cover_the_home_and_the_shops(alice):
    from apps.nearby.geo import Point

    shop = ShopFactory(owner=alice, place=Point(31.30, 121.50))
    cells = selectors.room_cells_for(alice)
    assert cells == {selectors.room_cell_of(alice.home_cell): None, selectors.room_cell_of(shop.cell_r9): shop}


def test_a_room_is_read_by_its_neighbours_and_its_areas_moderators_only(alice):
    from apps.accounts.services import resident_home_set
    from tests.moderation.factories import PUDONG, moderator, superuser

    def living_in_pudong(resident):
        resident_home_set(resident=resident, lat=PUDONG.lat, lng=PUDONG.lng)
        return type(resident).objects.get(pk=resident.pk)

    room = services.room_join(resident=alice)  # Jing'an's room
    assert selectors.can_read_room(living_in_pudong(moderator(at=JINGAN)), room)
    assert selectors.can_read_room(superuser(), room)
    assert not selectors.can_read_room(living_in_pudong(moderator(at=PUDONG)), room)
    assert not selectors.can_read_room(ResidentFactory(is_staff=True), room)
    assert not selectors.can_read_room(ResidentFactory(home=PUDONG), room)
