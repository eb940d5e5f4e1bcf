"""The sockets, end to end through the real ASGI application: origin check, session auth, consumers."""

import json
from importlib import import_module

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from apps.chat import events, services
from apps.chat.models import Conversation, Message
from neighborhood.asgi import application
from tests.accounts.factories import ResidentFactory
from tests.chat.factories import ShopFactory

pytestmark = pytest.mark.django_db(transaction=True)


def end_every_session():
    """As a log-out does, through the session store: the database row and any cached copy."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in Session.objects.values_list("session_key", flat=True):
        store().delete(key)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def socket(path, client: Client | None = None, origin="http://testserver") -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def run(scenario):
    async_to_sync(scenario)()


# Generous waits: they only matter when something is wrong, and a loaded 2-core CI is slow.
WAIT = 10


async def expect(comm, kind, timeout=WAIT):
    frame = await comm.receive_json_from(timeout=timeout)
    assert frame["type"] == kind, frame
    return frame


async def expect_close(comm, code, timeout=WAIT):
    while True:
        output = await comm.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            assert output.get("code") == code, output
            return
        # frames sent before the close ("closing") are fine


async def take(comm, n, timeout=WAIT) -> dict[str, list[dict]]:
    """The next n frames, by type (an ack and the broadcast of the same message race each other)."""
    found: dict[str, list[dict]] = {}
    for _ in range(n):
        frame = await comm.receive_json_from(timeout=timeout)
        found.setdefault(frame["type"], []).append(frame)
    return found


async def connect(comm):
    connected, _ = await comm.connect(timeout=WAIT)
    assert connected
    await expect(comm, "sync.done")
    return comm


def say(sender, conversation, body, client_id):
    return services.message_send(sender=sender, conversation_id=conversation.pk, body=body, client_msg_id=client_id)


# --- who gets in ---


def test_anonymous_and_foreign_origins_are_refused(direct, alice):
    client = signed_in(alice)

    async def scenario():
        for comm in (
            socket(f"/ws/chat/{direct.pk}/"),
            socket("/ws/me/"),
            socket(f"/ws/chat/{direct.pk}/", client, origin="http://evil.example"),
        ):
            connected, _ = await comm.connect(timeout=WAIT)
            assert not connected
            await comm.disconnect(timeout=WAIT)

    run(scenario)


def test_non_members_are_refused_before_joining_any_group(direct, in_memory_layer):
    stranger = signed_in(ResidentFactory())

    async def scenario():
        comm = socket(f"/ws/chat/{direct.pk}/", stranger)
        connected, _ = await comm.connect(timeout=WAIT)
        assert not connected
        missing = socket("/ws/chat/999999/", stranger)
        assert not (await missing.connect(timeout=WAIT))[0]

    run(scenario)
    from channels.layers import get_channel_layer

    assert not get_channel_layer().groups.get(events.conversation_group(direct.pk))


# --- live messages ---


def test_a_message_reaches_the_other_member_live(alice, bob, direct):
    a, b = signed_in(alice), signed_in(bob)

    async def scenario():
        sa = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        sb = await connect(socket(f"/ws/chat/{direct.pk}/", b))
        await sa.send_json_to({"type": "message.send", "client_id": "m1", "body": "hi Bob"})
        mine = await take(sa, 2)
        [ack] = mine["message.ack"]
        assert ack["client_id"] == "m1" and not ack["duplicate"] and ack["message"]["seq"] == 1
        assert [f["message"]["seq"] for f in mine["message.new"]] == [1]
        new = await expect(sb, "message.new")
        assert new["message"]["body"] == "hi Bob" and new["message"]["sender"]["name"] == "Alice"
        await sb.send_json_to({"type": "read", "seq": 1})
        assert await expect(sa, "read") == {"type": "read", "user_id": bob.pk, "seq": 1}
        await sa.disconnect(timeout=WAIT)
        await sb.disconnect(timeout=WAIT)

    run(scenario)


def test_a_retried_client_id_stores_and_broadcasts_once(alice, bob, direct):
    a, b = signed_in(alice), signed_in(bob)

    async def scenario():
        sa = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        sb = await connect(socket(f"/ws/chat/{direct.pk}/", b))
        for _ in range(2):
            await sa.send_json_to({"type": "message.send", "client_id": "retry-1", "body": "once"})
        mine = await take(sa, 3)
        acks = mine["message.ack"]
        assert len(mine["message.new"]) == 1
        assert [a["duplicate"] for a in acks] == [False, True]
        assert acks[0]["message"]["id"] == acks[1]["message"]["id"]
        await expect(sb, "message.new")
        assert await sb.receive_nothing(timeout=0.3)
        await sa.send_json_to({"type": "message.send", "client_id": "retry-1", "body": "changed"})
        error = await expect(sa, "error")
        assert error["code"] == "client_id_reused" and error["client_id"] == "retry-1"
        await sa.disconnect(timeout=WAIT)
        await sb.disconnect(timeout=WAIT)

    run(scenario)
    assert Message.objects.count() == 1


def test_reconnecting_with_the_last_seq_gets_the_missed_messages_once_and_in_order(alice, bob, direct):
    for i in range(1, 6):
        say(alice, direct, f"m{i}", f"c{i}")
    b = signed_in(bob)

    async def scenario():
        comm = socket(f"/ws/chat/{direct.pk}/?after=2", b)
        assert (await comm.connect(timeout=WAIT))[0]
        seqs = [(await expect(comm, "message.new"))["message"]["seq"] for _ in range(3)]
        assert seqs == [3, 4, 5]
        assert (await expect(comm, "sync.done"))["last_seq"] == 5
        await sync_to_async(say)(alice, direct, "m6", "c6")
        assert (await expect(comm, "message.new"))["message"]["seq"] == 6
        assert await comm.receive_nothing(timeout=0.2)
        # asking again for what it has (a view reload) sends it again, then stops
        await comm.send_json_to({"type": "sync", "after": 4})
        assert [(await expect(comm, "message.new"))["message"]["seq"] for _ in range(2)] == [5, 6]
        await expect(comm, "sync.done")
        await comm.disconnect(timeout=WAIT)

    run(scenario)


def test_a_lost_event_is_filled_from_the_database(alice, bob, direct):
    b = signed_in(bob)

    def store_without_broadcast(seq):
        Message.objects.create(conversation=direct, seq=seq, sender=alice, client_msg_id=f"x{seq}", body=f"m{seq}")
        Conversation.objects.filter(pk=direct.pk).update(last_seq=seq)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", b))
        await sync_to_async(store_without_broadcast)(1)  # its event is lost
        await sync_to_async(store_without_broadcast)(2)
        from channels.layers import get_channel_layer

        await get_channel_layer().group_send(
            events.conversation_group(direct.pk), {"type": "chat.message", "seq": 2, "text": "{}"}
        )
        seqs = [(await expect(comm, "message.new"))["message"]["seq"] for _ in range(2)]
        assert seqs == [1, 2]
        await expect(comm, "sync.done")
        await comm.disconnect(timeout=WAIT)

    run(scenario)


def test_typing_in_direct_conversations(alice, bob, direct, monkeypatch):
    from apps.chat import consumers

    monkeypatch.setattr(consumers, "TYPING_EVERY_S", 60.0)  # a slow machine must not outlast the window
    a, b = signed_in(alice), signed_in(bob)

    async def scenario():
        sa = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        sb = await connect(socket(f"/ws/chat/{direct.pk}/", b))
        await sa.send_json_to({"type": "typing"})
        assert await expect(sb, "typing") == {"type": "typing", "user_id": alice.pk, "name": "Alice"}
        await sa.send_json_to({"type": "typing"})  # within the window: dropped
        assert await sb.receive_nothing(timeout=0.2)
        assert await sa.receive_nothing(timeout=0.1)
        await sa.disconnect(timeout=WAIT)
        await sb.disconnect(timeout=WAIT)

    run(scenario)


# --- bad input ---


def test_bad_frames_get_error_frames_and_the_socket_stays_usable(alice, direct, settings):
    a = signed_in(alice)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        cases = [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_frame"),
            (json.dumps({"type": "dance"}), "unknown_type"),
            (json.dumps({"type": "message.send", "client_id": "e1", "body": "  "}), "empty"),
            (json.dumps({"type": "message.send", "client_id": "e2", "body": "x" * 2001}), "too_long"),
            (json.dumps({"type": "message.send", "body": "no id"}), "invalid_client_id"),
            (json.dumps({"type": "sync", "after": "yesterday"}), "invalid"),
            (json.dumps({"type": "read", "seq": -3}), "invalid"),
        ]
        for text, code in cases:
            await comm.send_to(text_data=text)
            assert (await expect(comm, "error"))["code"] == code, text
        await comm.send_to(bytes_data=b"\x00\x01")
        assert (await expect(comm, "error"))["code"] == "bad_frame"
        await comm.send_json_to({"type": "ping"})
        await expect(comm, "pong")
        await comm.send_json_to({"type": "message.send", "client_id": "ok", "body": "still here"})
        assert set(await take(comm, 2)) == {"message.ack", "message.new"}
        await comm.disconnect(timeout=WAIT)

    settings.JIEFANG_CHAT_SOCKET_BURST = 50
    run(scenario)
    assert list(Message.objects.values_list("body", flat=True)) == ["still here"]


def test_a_frame_over_the_size_limit_closes_the_socket(alice, direct):
    a = signed_in(alice)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        await comm.send_to(text_data=json.dumps({"type": "message.send", "client_id": "big", "body": "x" * 20000}))
        await expect_close(comm, 1009)

    run(scenario)
    assert not Message.objects.exists()


def test_the_per_connection_rate_limit_refuses_then_closes_a_flood(alice, direct, settings):
    settings.JIEFANG_CHAT_SOCKET_BURST = 3
    settings.JIEFANG_CHAT_SOCKET_REFILL_PER_S = 0.01
    a = signed_in(alice)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        for i in range(3):
            await comm.send_json_to({"type": "message.send", "client_id": f"r{i}", "body": "hi"})
            assert set(await take(comm, 2)) == {"message.ack", "message.new"}
        await comm.send_json_to({"type": "message.send", "client_id": "r3", "body": "hi"})
        error = await expect(comm, "error")
        assert error["code"] == "rate_limited" and error["client_id"] == "r3"
        for _ in range(6):
            await comm.send_json_to({"type": "ping"})
        await expect_close(comm, 4429)

    run(scenario)
    assert Message.objects.count() == 3


def test_the_per_user_rate_limit_spans_sockets(alice, direct, rate_limit):
    rate_limit("message_send", user=(2, 10**6))  # no window boundary falls inside the test
    a1, a2 = signed_in(alice), signed_in(alice)

    async def scenario():
        s1 = await connect(socket(f"/ws/chat/{direct.pk}/", a1))
        s2 = await connect(socket(f"/ws/chat/{direct.pk}/", a2))
        await s1.send_json_to({"type": "message.send", "client_id": "u1", "body": "hi"})
        assert set(await take(s1, 2)) == {"message.ack", "message.new"}
        assert set(await take(s2, 1)) == {"message.new"}
        await s2.send_json_to({"type": "message.send", "client_id": "u2", "body": "hi"})
        assert set(await take(s2, 2)) == {"message.ack", "message.new"}
        assert set(await take(s1, 1)) == {"message.new"}
        await s1.send_json_to({"type": "message.send", "client_id": "u3", "body": "hi"})
        error = await expect(s1, "error")
        assert error["code"] == "rate_limited" and 0 < error["retry_after"] <= 10**6
        await s1.disconnect(timeout=WAIT)
        await s2.disconnect(timeout=WAIT)

    run(scenario)


def test_a_read_only_room_refuses_posts_but_keeps_the_socket(alice):
    room = services.room_join(resident=alice)
    a = signed_in(alice)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{room.pk}/", a))
        await comm.send_json_to({"type": "message.send", "client_id": "r", "body": "hello room"})
        assert (await expect(comm, "error"))["code"] == "read_only"
        await comm.send_json_to({"type": "typing"})
        await comm.send_json_to({"type": "ping"})
        await expect(comm, "pong")
        await comm.disconnect(timeout=WAIT)

    run(scenario)


# --- closing sockets ---


def test_logging_out_closes_that_sessions_sockets_only(alice, direct):
    leaving, staying = signed_in(alice), signed_in(alice)

    async def scenario():
        s1 = await connect(socket(f"/ws/chat/{direct.pk}/", leaving))
        s2 = socket("/ws/me/", leaving)
        assert (await s2.connect(timeout=WAIT))[0]
        other = await connect(socket(f"/ws/chat/{direct.pk}/", staying))
        response = await sync_to_async(leaving.post)("/accounts/logout/")
        assert response.status_code == 302
        assert (await expect(s1, "closing"))["reason"] == "logout"
        await expect_close(s1, 4401)
        await expect(s2, "closing")
        await expect_close(s2, 4401)
        await other.send_json_to({"type": "ping"})
        await expect(other, "pong")
        await other.disconnect(timeout=WAIT)

    run(scenario)


def test_a_socket_whose_session_is_gone_cannot_send(alice, direct):
    a = signed_in(alice)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        await sync_to_async(end_every_session)()  # e.g. expired, or logged out elsewhere
        await comm.send_json_to({"type": "message.send", "client_id": "s", "body": "hi"})
        await expect_close(comm, 4401)

    run(scenario)
    assert not Message.objects.exists()


def test_blocking_closes_the_blocked_users_socket_and_keeps_it_out(alice, bob, direct):
    b = signed_in(bob)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", b))
        await sync_to_async(services.block_create)(blocker=alice, blocked=bob)
        assert (await expect(comm, "closing"))["reason"] == "blocked"
        await expect_close(comm, 4403)
        again = socket(f"/ws/chat/{direct.pk}/", b)
        assert not (await again.connect(timeout=WAIT))[0]

    run(scenario)


def test_suspension_closes_every_socket(alice, direct):
    a = signed_in(alice)

    def suspend():
        alice.is_active = False
        alice.save()

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{direct.pk}/", a))
        await sync_to_async(suspend)()
        assert (await expect(comm, "closing"))["reason"] == "suspended"
        await expect_close(comm, 4401)

    run(scenario)


def test_membership_is_checked_again_on_each_send(alice):
    clerk = ResidentFactory()
    shop = ShopFactory()
    shop.staff.add(clerk)
    conversation = services.conversation_open(resident=alice, shop=shop)
    c = signed_in(clerk)

    async def scenario():
        comm = await connect(socket(f"/ws/chat/{conversation.pk}/", c))
        await sync_to_async(shop.staff.remove)(clerk)
        await comm.send_json_to({"type": "message.send", "client_id": "gone", "body": "hello"})
        assert (await expect(comm, "error"))["code"] == "not_member"
        await expect_close(comm, 4403)

    run(scenario)
    assert not Message.objects.exists()


def test_anything_can_be_pushed_to_a_users_sockets(alice):
    a = signed_in(alice)

    async def scenario():
        comm = socket("/ws/me/", a)
        assert (await comm.connect(timeout=WAIT))[0]
        await sync_to_async(events.publish_to_user_on_commit)(alice.pk, {"type": "notification.new", "unread": 3})
        assert await comm.receive_json_from(timeout=WAIT) == {"type": "notification.new", "unread": 3}
        await comm.disconnect(timeout=WAIT)

    run(scenario)


def test_a_long_resync_comes_in_pages_and_says_when_there_is_more(alice, bob, direct, monkeypatch):
    from apps.chat import consumers, selectors

    monkeypatch.setattr(selectors, "RESYNC_PAGE", 2)
    monkeypatch.setattr(consumers, "RESYNC_MAX_PAGES", 2)
    for i in range(1, 6):
        say(alice, direct, f"m{i}", f"c{i}")
    b = signed_in(bob)

    async def scenario():
        comm = socket(f"/ws/chat/{direct.pk}/?after=0", b)
        assert (await comm.connect(timeout=WAIT))[0]
        assert [(await expect(comm, "message.new"))["message"]["seq"] for _ in range(4)] == [1, 2, 3, 4]
        assert (await expect(comm, "sync.more"))["last_seq"] == 4
        await comm.send_json_to({"type": "sync", "after": 4})
        assert (await expect(comm, "message.new"))["message"]["seq"] == 5
        assert (await expect(comm, "sync.done"))["last_seq"] == 5
        await comm.disconnect(timeout=WAIT)

    run(scenario)
