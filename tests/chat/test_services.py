import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.chat import events, presence, selectors, services
from apps.chat.models import Block, Conversation, Member, Message
from apps.core.ratelimit import RateLimited
from apps.market.models import Stall
from apps.notifications.models import Notification
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.chat.factories import ShopFactory, StallFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_memory_layer")]


def listen(group: str) -> str:
    """A real channel on the in-memory layer, added to `group`, to see what is broadcast."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def drain(channel: str) -> list[dict]:
    layer = get_channel_layer()
    received = []

    async def take():
        import asyncio

        while True:
            try:
                received.append(await asyncio.wait_for(layer.receive(channel), 0.05))
            except TimeoutError:
                return

    async_to_sync(take)()
    return received


def send(sender, conversation, body="hello", client_id=None, **kwargs):
    send.n = getattr(send, "n", 0) + 1
    return services.message_send(
        sender=sender,
        conversation_id=conversation.pk,
        body=body,
        client_msg_id=client_id or f"c{send.n}",
        **kwargs,
    )


# --- opening conversations ---


def test_direct_conversation_is_one_per_pair_whoever_opens_it(alice, bob):
    first = services.conversation_open(resident=alice, other=bob)
    again = services.conversation_open(resident=bob, other=alice)
    assert first.pk == again.pk
    assert Conversation.objects.count() == 1
    assert set(Member.objects.filter(conversation=first).values_list("resident_id", flat=True)) == {alice.pk, bob.pk}


def test_cannot_message_oneself(alice):
    with pytest.raises(services.InvalidTarget):
        services.conversation_open(resident=alice, other=alice)


def test_exactly_one_target_is_required(alice, bob, shop):
    with pytest.raises(services.InvalidTarget):
        services.conversation_open(resident=alice)
    with pytest.raises(services.InvalidTarget):
        services.conversation_open(resident=alice, other=bob, shop=shop)


def test_shop_conversation_is_seen_by_owner_and_staff(alice, shop):
    clerk = ResidentFactory()
    shop.staff.add(clerk)
    conversation = services.conversation_open(resident=alice, shop=shop)
    for person in (alice, shop.owner, clerk):
        assert [c.pk for c in selectors.conversations_for(resident=person)] == [conversation.pk]
    stranger = ResidentFactory()
    assert not selectors.is_member(stranger, conversation)


def test_a_shop_cannot_message_itself(shop):
    with pytest.raises(services.InvalidTarget):
        services.conversation_open(resident=shop.owner, shop=shop)


def test_message_the_seller_of_a_shop_stall_opens_the_shop_conversation_with_the_stall_pinned(alice, shop):
    stall = StallFactory(seller=shop.owner, shop=shop)
    conversation = services.conversation_open_for_stall(resident=alice, stall=stall)
    assert (conversation.kind, conversation.shop_id, conversation.stall_id) == ("shop", shop.pk, stall.pk)
    newer = StallFactory(seller=shop.owner, shop=shop)
    again = services.conversation_open_for_stall(resident=alice, stall=newer)
    assert again.pk == conversation.pk
    again.refresh_from_db()
    assert again.stall_id == newer.pk


def test_message_the_seller_of_a_residents_stall_opens_a_direct_conversation(alice, bob):
    stall = StallFactory(seller=bob)
    conversation = services.conversation_open_for_stall(resident=alice, stall=stall)
    assert conversation.kind == "direct"
    assert {conversation.resident_a_id, conversation.resident_b_id} == {alice.pk, bob.pk}
    with pytest.raises(services.InvalidTarget):
        services.conversation_open_for_stall(resident=bob, stall=stall)


def test_a_hidden_stall_cannot_be_asked_about(alice, bob):
    stall = StallFactory(seller=bob, status=Stall.Status.HIDDEN)
    with pytest.raises(services.InvalidTarget):
        services.conversation_open_for_stall(resident=alice, stall=stall)


def test_a_block_refuses_new_conversations_both_ways(alice, bob):
    services.block_create(blocker=bob, blocked=alice)
    with pytest.raises(services.ConversationBlocked):
        services.conversation_open(resident=alice, other=bob)
    with pytest.raises(services.ConversationBlocked):
        services.conversation_open(resident=bob, other=alice)


# --- sending ---


def test_messages_get_increasing_sequence_numbers(alice, bob, direct):
    seqs = [send(alice, direct).seq, send(bob, direct).seq, send(alice, direct).seq]
    assert seqs == [1, 2, 3]
    direct.refresh_from_db()
    assert direct.last_seq == 3
    assert direct.last_message_at is not None


def test_a_message_is_broadcast_after_commit_once(alice, bob, direct, django_capture_on_commit_callbacks):
    channel = listen(events.conversation_group(direct.pk))
    with django_capture_on_commit_callbacks(execute=True):
        message = send(alice, direct, "hello", client_id="same")
    with django_capture_on_commit_callbacks(execute=True):
        retry = send(alice, direct, "hello", client_id="same")
    assert retry.pk == message.pk and retry.was_duplicate and not message.was_duplicate
    assert Message.objects.count() == 1
    received = drain(channel)
    assert [e["type"] for e in received] == ["chat.message"]
    assert received[0]["seq"] == 1


def test_nothing_is_broadcast_before_commit(alice, direct, django_capture_on_commit_callbacks):
    channel = listen(events.conversation_group(direct.pk))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(alice, direct)
        assert drain(channel) == []
    assert callbacks  # queued for after the commit


def test_members_lists_hear_of_activity(alice, bob, direct, django_capture_on_commit_callbacks):
    channel = listen(events.user_group(bob.pk))
    with django_capture_on_commit_callbacks(execute=True):
        send(alice, direct)
    pushed = [e["event"] for e in drain(channel)]
    assert {"type": "conversation.activity", "conversation_id": direct.pk} in pushed


def test_the_same_client_id_with_another_text_is_refused(alice, direct):
    send(alice, direct, "first", client_id="abc")
    with pytest.raises(services.ClientIdReused):
        send(alice, direct, "second", client_id="abc")
    assert Message.objects.count() == 1


def test_client_ids_are_per_sender(alice, bob, direct):
    send(alice, direct, "hi", client_id="abc")
    send(bob, direct, "hi", client_id="abc")
    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "client_id", "error"),
    [
        ("", "ok", services.EmptyMessage),
        ("   \n ", "ok", services.EmptyMessage),
        ("x" * 2001, "ok", services.MessageTooLong),
        ("hi", "", services.InvalidClientId),
        ("hi", "has space", services.InvalidClientId),
        ("hi", "x" * 65, services.InvalidClientId),
        ("hi", None, services.InvalidClientId),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored(alice, direct, body, client_id, error):
    with pytest.raises(error):
        services.message_send(sender=alice, conversation_id=direct.pk, body=body, client_msg_id=client_id)
    assert Message.objects.count() == 0


def test_non_members_cannot_send(direct):
    with pytest.raises(services.NotInConversation):
        send(ResidentFactory(), direct)
    with pytest.raises(services.NotInConversation):
        services.message_send(sender=direct.resident_a, conversation_id=999999, body="hi", client_msg_id="x")


def test_a_suspended_resident_cannot_send(alice, direct):
    alice.is_active = False
    alice.save()
    with pytest.raises(services.NotInConversation):
        send(alice, direct)


def test_blocks_stop_messages_both_ways_until_unblocked(alice, bob, direct):
    services.block_create(blocker=alice, blocked=bob)
    with pytest.raises(services.ConversationBlocked):
        send(bob, direct)
    with pytest.raises(services.ConversationBlocked):
        send(alice, direct)
    services.block_remove(blocker=alice, blocked=bob)
    assert send(bob, direct).seq == 1


def test_a_block_between_a_resident_and_shop_staff_closes_the_shop_conversation(alice, shop):
    conversation = services.conversation_open(resident=alice, shop=shop)
    services.block_create(blocker=shop.owner, blocked=alice)
    with pytest.raises(services.ConversationBlocked):
        send(alice, conversation)


def test_blocking_closes_the_blocked_users_sockets(alice, bob, direct, django_capture_on_commit_callbacks):
    channel = listen(events.user_group(bob.pk))
    with django_capture_on_commit_callbacks(execute=True):
        services.block_create(blocker=alice, blocked=bob)
    assert drain(channel) == [{"type": "conversation.revoke", "conversation_ids": [direct.pk], "reason": "blocked"}]
    assert Block.objects.filter(blocker=alice, blocked=bob).count() == 1
    services.block_create(blocker=alice, blocked=bob)  # blocking twice is one block
    assert Block.objects.count() == 1


def test_cannot_block_oneself(alice):
    with pytest.raises(services.InvalidTarget):
        services.block_create(blocker=alice, blocked=alice)


def test_the_shop_side_writes_for_the_shop(alice, shop):
    clerk = ResidentFactory()
    shop.staff.add(clerk)
    conversation = services.conversation_open(resident=alice, shop=shop)
    assert send(alice, conversation).shop_id is None
    assert send(clerk, conversation).shop_id == shop.pk


def test_the_per_user_rate_limit(alice, direct, rate_limit):
    rate_limit("message_send", user=(3, 10**6))  # no window boundary falls inside the test
    for _ in range(3):
        send(alice, direct)
    with pytest.raises(RateLimited) as exc:
        send(alice, direct)
    assert exc.value.status_code == 429
    assert Message.objects.count() == 3


def test_a_retry_does_not_count_against_the_rate_limit(alice, direct, rate_limit):
    rate_limit("message_send", user=(1, 10**6))  # no window boundary falls inside the test
    send(alice, direct, "once", client_id="k")
    assert send(alice, direct, "once", client_id="k").was_duplicate


def test_a_photo_is_cleaned_and_stored(alice, direct, png_upload):
    message = send(alice, direct, "", photo=png_upload)
    assert message.photo.name.startswith("chat/")
    assert message.body == ""


# --- notifications ---


def test_an_absent_recipient_is_notified_once_per_unread_run(alice, bob, direct):
    send(alice, direct, "are you home?")
    send(alice, direct, "second")
    notes = list(Notification.objects.filter(recipient=bob))
    assert len(notes) == 1
    assert notes[0].kind == "message"
    assert notes[0].params == {"sender": "Alice", "preview": "are you home?"}
    assert notes[0].url == f"/chat/{direct.pk}/"
    services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=2)
    send(alice, direct, "third")
    assert Notification.objects.filter(recipient=bob).count() == 2
    assert not Notification.objects.filter(recipient=alice).exists()


def test_a_recipient_with_the_conversation_open_is_not_notified(alice, bob, direct):
    presence.present_enter(direct.pk, bob.pk)
    send(alice, direct)
    assert not Notification.objects.filter(recipient=bob).exists()
    presence.present_leave(direct.pk, bob.pk)
    services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=1)
    send(alice, direct)
    assert Notification.objects.filter(recipient=bob).count() == 1


def test_the_shop_side_is_notified_of_a_residents_message(alice, shop):
    conversation = services.conversation_open(resident=alice, shop=shop)
    send(alice, conversation, "do you have eggs?")
    assert Notification.objects.get(recipient=shop.owner).params["sender"] == "Alice"


# --- read markers ---


def test_read_markers_move_forward_only_and_stop_at_the_last_message(alice, bob, direct):
    for _ in range(3):
        send(alice, direct)
    assert services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=2).last_read_seq == 2
    assert services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=1).last_read_seq == 2
    assert services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=99).last_read_seq == 3
    with pytest.raises(services.NotInConversation):
        services.message_mark_read(resident=ResidentFactory(), conversation_id=direct.pk, seq=1)
    with pytest.raises(services.DomainError):
        services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=-1)


def test_marking_read_tells_the_other_side(alice, bob, direct, django_capture_on_commit_callbacks):
    send(alice, direct)
    channel = listen(events.conversation_group(direct.pk))
    with django_capture_on_commit_callbacks(execute=True):
        services.message_mark_read(resident=bob, conversation_id=direct.pk, seq=1)
    assert drain(channel) == [{"type": "chat.read", "user_id": bob.pk, "seq": 1}]


# --- rooms ---


def test_room_of_a_resident_is_the_coarse_parent_of_their_home(alice, bob):
    room = services.room_join(resident=alice)
    assert room.room_cell == selectors.room_cell_of(alice.home_cell)
    assert services.room_join(resident=bob).pk == room.pk  # neighbours share it


def test_joining_starts_unread_from_now(alice, bob):
    alice.is_staff = True  # staff count as verified until the trust issue adds residency
    room = services.room_join(resident=alice)
    send(alice, room)
    services.room_join(resident=bob)
    assert [c.unread for c in selectors.conversations_for(resident=bob)] == [0]


def test_unverified_residents_read_the_room_but_cannot_post(alice):
    room = services.room_join(resident=alice)
    assert selectors.is_member(alice, room)
    with pytest.raises(services.RoomReadOnly):
        send(alice, room)


def test_verified_residents_post_in_their_room(alice):
    alice.residency_verified_at = timezone.now()
    room = services.room_join(resident=alice)
    assert send(alice, room).shop_id is None


def test_a_verified_shop_posts_in_the_room_of_its_location():
    far_owner = ResidentFactory()  # no home at all
    shop = ShopFactory(owner=far_owner, place=JINGAN)
    room = services.room_join(resident=far_owner)
    assert room.room_cell == selectors.room_cell_of(shop.cell_r9)
    assert send(far_owner, room).shop_id == shop.pk
    shop.is_verified = False
    shop.save()
    with pytest.raises(services.RoomReadOnly):
        send(far_owner, room)


def test_residents_elsewhere_cannot_read_or_join_the_room(alice):
    from apps.nearby.geo import Point

    room = services.room_join(resident=alice)
    faraway = ResidentFactory(home=Point(39.9042, 116.4074))  # Beijing
    assert not selectors.is_member(faraway, room)
    with pytest.raises(services.NoRoom):
        services.room_join(resident=faraway, cell=room.room_cell)
    with pytest.raises(services.NoRoom):
        services.room_join(resident=ResidentFactory())  # no home, no shop


# --- reports ---


def test_a_report_goes_to_the_moderators_queue(alice, bob, direct):
    from apps.moderation.models import Case, Report
    from apps.moderation.services import AlreadyReported

    message = send(alice, direct, "fake designer bags, cheap")
    report = services.message_report(reporter=bob, message_id=message.pk, reason="counterfeit", note="  looks fake ")
    assert (report.reason, report.note, report.object_id) == ("counterfeit", "looks fake", message.pk)
    case = Case.objects.get()
    assert case.kind == "message" and case.subject == alice and "fake designer bags" in case.title
    with pytest.raises(AlreadyReported):
        services.message_report(reporter=bob, message_id=message.pk, reason="scam")
    assert Report.objects.get().reason == "counterfeit"


def test_bad_reports_are_refused(alice, bob, direct):
    from apps.core.errors import NotAllowed
    from apps.moderation import services as moderation
    from apps.moderation.models import Report

    message = send(alice, direct)
    with pytest.raises(moderation.ReportInvalid):
        services.message_report(reporter=bob, message_id=message.pk, reason="boring")
    with pytest.raises(moderation.targets.NotReportable):
        services.message_report(reporter=alice, message_id=message.pk, reason="spam")
    with pytest.raises(moderation.ReportInvalid):
        services.message_report(reporter=bob, message_id=message.pk, reason="spam", note="x" * 501)
    with pytest.raises(NotAllowed):
        services.message_report(reporter=ResidentFactory(), message_id=message.pk, reason="spam")
    assert not Report.objects.exists()
