"""Fault: Redis dies in the middle of a chat and comes back.

Two real uvicorn processes share a private redis-server (cache, channel layer, Celery broker) and
the test PostgreSQL database. Alice's socket is on one server, Bob's on the other; a first message
reaches both live. Then the redis-server is killed by its pid (SIGKILL: a crash, nothing saved) and
stays down for JIEFANG_FAULT_REDIS_PAUSE_S seconds (5 by default, to keep CI short; 30 is the
outage of issue 8). Meanwhile both residents keep sending messages over the HTTP API, each to their
own server, and keep loading pages: every answer must be the usual one (201, 200), never a 500.
Redis is then started again on the same port; the residents reconnect their sockets from the last
message they saw and must get every message sent in the outage exactly once, in order, then the
next message live.
"""

import asyncio
import json
import os
import time

import pytest
from django.urls import reverse

from apps.chat.models import Message
from tests.market.factories import make_shop, publish
from tests.processes import (
    RedisServer,
    cookie_header,
    free_port,
    require_postgresql,
    signed_in,
    start_uvicorn,
    stop,
    wait_serving,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PAUSE_S = float(os.environ.get("JIEFANG_FAULT_REDIS_PAUSE_S", "5"))


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture
def two_servers(tmp_path, private_redis):
    require_postgresql()
    servers = []
    for name in ("a", "b"):
        port, log = free_port(), tmp_path / f"server-{name}.log"
        servers.append((port, start_uvicorn(port, {"REDIS_URL": private_redis.url}, log), log))
    try:
        for port, process, log in servers:
            wait_serving(port, process, log)
        yield [(f"http://127.0.0.1:{port}", log) for port, _, log in servers]
    finally:
        for _, process, _ in servers:
            stop(process)


async def next_frame(ws, kind: str, timeout: float = 15.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


async def messages_until_synced(ws, timeout: float = 15.0) -> list[dict]:
    """The message.new frames a (re)connecting socket gets before its sync.done."""
    got = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "message.new":
                got.append(frame["message"])
            elif frame["type"] == "sync.done":
                return got


def test_redis_down_pages_serve_messages_are_stored_and_reconnecting_clients_resync(
    two_servers, private_redis, alice, bob, direct
):
    from websockets.asyncio.client import connect

    (url_a, log_a), (url_b, log_b) = two_servers
    logs = (log_a, log_b, private_redis.log)
    stall = publish(shop=make_shop(), title="Steamed buns")
    alice_http, bob_http = signed_in(alice, url_a), signed_in(bob, url_b)
    senders = [(alice_http, url_a, "alice"), (bob_http, url_b, "bob")]
    pages = [reverse("home"), reverse("chat:list"), reverse("chat:conversation", args=[direct.pk]),
             reverse("market:stall_detail", args=[stall.pk])]  # fmt: skip
    messages_api = reverse("api-chat-messages", args=[direct.pk])

    def send(session, base, client_id, body):
        return session.post(base + messages_api, json={"client_id": client_id, "body": body}, timeout=30)

    def socket(base, session, after):
        return connect(
            f"{base.replace('http', 'ws', 1)}/ws/chat/{direct.pk}/?after={after}",
            origin=base, additional_headers={"Cookie": cookie_header(session)}, open_timeout=15,
        )  # fmt: skip

    sent: list[str] = []
    answers: list[tuple[str, int]] = []

    async def during_the_outage():
        private_redis.kill()
        end, n = time.monotonic() + PAUSE_S, 0
        while n < 4 or time.monotonic() < end:
            session, base, who = senders[n % 2]
            body = f"{who} during the outage #{n}"
            response = await asyncio.to_thread(send, session, base, f"outage-{n}", body)
            answers.append((f"POST {base}{messages_api}", response.status_code))
            if response.status_code == 201:
                sent.append(body)
            for page in pages:
                response = await asyncio.to_thread(session.get, base + page, timeout=30)
                answers.append((f"GET {base}{page}", response.status_code))
            n += 1
            await asyncio.sleep(0.2)

    async def scenario():
        async with socket(url_a, alice_http, 0) as on_a, socket(url_b, bob_http, 0) as on_b:
            await next_frame(on_a, "sync.done")
            await next_frame(on_b, "sync.done")
            response = await asyncio.to_thread(send, alice_http, url_a, "before", "before the outage")
            assert response.status_code == 201, response.text
            for ws in (on_a, on_b):
                assert (await next_frame(ws, "message.new"))["message"]["seq"] == 1
            await during_the_outage()

        private_redis.start()
        last_seen = 1
        async with socket(url_a, alice_http, last_seen) as on_a, socket(url_b, bob_http, last_seen) as on_b:
            resynced = [await messages_until_synced(on_a), await messages_until_synced(on_b)]
            # And live again: the next message reaches both servers' sockets through the new Redis.
            response = await asyncio.to_thread(send, bob_http, url_b, "after", "after the outage")
            assert response.status_code == 201, response.text
            live = [await next_frame(on_a, "message.new"), await next_frame(on_b, "message.new")]
        return resynced, live

    resynced, live = asyncio.run(scenario())

    failures = sorted({answer for answer in answers if answer[1] not in (200, 201)})
    assert not failures, (failures, [log.read_text(errors="replace")[-4000:] for log in logs])
    assert len(sent) >= 4
    stored = list(Message.objects.filter(conversation=direct).order_by("seq").values_list("seq", "body"))
    assert [body for _seq, body in stored] == ["before the outage", *sent, "after the outage"]
    assert [seq for seq, _body in stored] == list(range(1, len(sent) + 3))
    for got in resynced:
        assert [(m["seq"], m["body"]) for m in got] == stored[1 : len(sent) + 1]
    for frame in live:
        assert (frame["message"]["seq"], frame["message"]["body"]) == stored[-1]
