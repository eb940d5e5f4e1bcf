"""Two real ASGI server processes sharing Redis and PostgreSQL: a message sent by a client of one
reaches a client of the other. Runs in the PostgreSQL + Redis pass; there, a missing Redis fails."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from apps.chat.models import Message
from tests.processes import database_url, free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)


def start_server(port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "true",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "neighborhood.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "off", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_listening(port: int, process: subprocess.Popen, log: Path, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server on {port} exited:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"server on {port} did not start:\n{log.read_text()}")


@pytest.fixture
def two_servers(tmp_path):
    import redis

    # In the second CI pass Redis must be there: an unreachable Redis fails this test here.
    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    servers = []
    for name in ("a", "b"):
        port, log = free_port(), tmp_path / f"server-{name}.log"
        servers.append((port, start_server(port, log), log))
    try:
        for port, process, log in servers:
            wait_listening(port, process, log)
        yield [port for port, _, _ in servers]
    finally:
        for _, process, _ in servers:
            process.terminate()
        for _, process, _ in servers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def frames_until(ws, kind, timeout=10.0):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


def test_a_message_sent_through_one_server_reaches_a_client_of_the_other(two_servers, alice, bob, direct):
    from websockets.asyncio.client import connect

    port_a, port_b = two_servers
    alice_cookie, bob_cookie = cookie(alice), cookie(bob)

    async def scenario():
        path = f"/ws/chat/{direct.pk}/?after=0"
        async with (
            connect(f"ws://127.0.0.1:{port_a}{path}", origin="http://127.0.0.1",
                    additional_headers={"Cookie": alice_cookie}) as on_a,
            connect(f"ws://127.0.0.1:{port_b}{path}", origin="http://127.0.0.1",
                    additional_headers={"Cookie": bob_cookie}) as on_b,
        ):  # fmt: skip
            await frames_until(on_a, "sync.done")
            await frames_until(on_b, "sync.done")
            await on_a.send(json.dumps({"type": "message.send", "client_id": "x-1", "body": "across processes"}))
            received = await frames_until(on_b, "message.new")
            assert received["message"]["body"] == "across processes"
            assert received["message"]["sender"]["id"] == alice.pk
            await on_b.send(json.dumps({"type": "message.send", "client_id": "x-2", "body": "and back"}))
            back = await frames_until(on_a, "message.new")
            if back["message"]["seq"] == 1:  # alice's own message came back first
                back = await frames_until(on_a, "message.new")
            assert back["message"]["body"] == "and back" and back["message"]["seq"] == 2

    asyncio.run(scenario())
    assert list(Message.objects.order_by("seq").values_list("body", flat=True)) == ["across processes", "and back"]
