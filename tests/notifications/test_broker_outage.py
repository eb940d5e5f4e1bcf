"""Fault: the Celery broker is down while transactions that owe tasks commit.

Real processes on a private redis-server (the broker): a uvicorn server where residents send
messages over the HTTP API (a message to someone who is not reading owes them an e-mail: a delivery
row and its task), a Celery worker sending to an SMTP server on loopback, and Celery beat, which runs
the outbox's flush every second here (JIEFANG_OUTBOX_FLUSH_S; 30 s in production).

1. The broker is up: the first message's e-mail goes out at once (published at commit).
2. The broker is killed by its pid. Messages sent now are stored (201, not a 500), and the tasks
   they owe wait in the outbox, committed with them.
3. A transaction that owed an e-mail rolls back while the broker is down: it leaves nothing behind.
4. A row for a task that was already published is put back in the outbox: the state a web process
   leaves when it dies between publishing a task and deleting its row.
5. The broker is started again on the same port: beat's flush publishes what waited, and every
   resident gets exactly one e-mail: the waiting ones arrive, the republished task sends nothing
   again, the rolled-back one never exists.

(A worker killed mid-task is tests/notifications/test_worker.py.)
"""

import time

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.urls import reverse

from apps.chat import services as chat
from apps.core.models import QueuedTask
from apps.notifications import services as notifications
from apps.notifications.kinds import Kind
from apps.notifications.models import EmailDelivery, Notification
from tests.processes import (
    RedisServer,
    free_port,
    require_postgresql,
    signed_in,
    start_celery,
    start_uvicorn,
    stop,
    stop_group,
    tail,
    wait_serving,
    wait_until,
)

from .conftest import SmtpHandler, neighbour

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

DELIVERY_SEND = "apps.notifications.tasks.delivery_send"


class Rollback(Exception):
    pass


def test_broker_down_at_commit_no_committed_task_lost_none_for_a_rollback_no_duplicate_email(tmp_path):
    require_postgresql()
    alice = neighbour(display_name="Alice", digest="off")
    bob = neighbour(display_name="Bob", digest="off")
    carol = neighbour(display_name="Carol", digest="off")
    dave = neighbour(display_name="Dave", digest="off")
    to_bob = chat.conversation_open(resident=alice, other=bob)
    to_carol = chat.conversation_open(resident=alice, other=carol)

    broker = RedisServer(tmp_path).start()
    handler = SmtpHandler()
    smtp_port = free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = {
        "REDIS_URL": broker.url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "JIEFANG_OUTBOX_FLUSH_S": "1",
        "JIEFANG_OUTBOX_GRACE_S": "2",
    }
    web_port = free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    web = start_uvicorn(web_port, env, logs["web"])
    worker = start_celery("worker", env, logs["worker"], "-n", "outage@%h")
    beat = None
    base = f"http://127.0.0.1:{web_port}"
    alice_http = signed_in(alice, base)

    def send(conversation, client_id):
        url = base + reverse("api-chat-messages", args=[conversation.pk])
        return alice_http.post(url, json={"client_id": client_id, "body": f"hello {client_id}"}, timeout=30)

    def received(resident) -> int:
        return len(handler.to(resident.email))

    try:
        wait_serving(web_port, web, logs["web"])

        # 1. The broker is up: published at commit, sent by the worker.
        assert send(to_bob, "b1").status_code == 201
        wait_until(lambda: received(bob) == 1, timeout=60, what="Bob's e-mail", logs=(logs["worker"],))
        assert not QueuedTask.objects.exists()

        # 2. The broker dies; a committed message owes Carol an e-mail.
        broker.kill()
        response = send(to_carol, "c1")
        assert response.status_code == 201, (response.text, tail(logs["web"]))
        assert send(to_carol, "c2").status_code == 201  # the same unread run: no second e-mail owed
        owed = EmailDelivery.objects.get(resident=carol)
        assert owed.status == EmailDelivery.Status.QUEUED
        waiting = list(QueuedTask.objects.values_list("task", "args"))
        assert waiting == [(DELIVERY_SEND, [owed.pk])]

        # 3. A transaction that owes Dave an e-mail rolls back: no row, no task, no delivery.
        with pytest.raises(Rollback), transaction.atomic():
            notifications.notification_send(
                recipient_id=dave.pk, kind=Kind.MESSAGE, params={"sender": "x", "preview": "y"}
            )
            assert QueuedTask.objects.count() == 2
            raise Rollback
        assert not Notification.objects.filter(recipient=dave).exists()
        assert not EmailDelivery.objects.filter(resident=dave).exists()
        assert QueuedTask.objects.count() == 1

        # 4. Bob's task again, as a web process that died after publishing it would leave it.
        sent_to_bob = EmailDelivery.objects.get(resident=bob)
        assert sent_to_bob.status == EmailDelivery.Status.SENT
        QueuedTask.objects.create(task=DELIVERY_SEND, args=[sent_to_bob.pk])

        # 5. The broker is back on the same port; beat's flush publishes what waited.
        broker.start()
        beat = start_celery("beat", env, logs["beat"])

        def settled() -> bool:
            return not QueuedTask.objects.exists() and received(carol) >= 1

        wait_until(settled, timeout=90, what="the outbox to drain", logs=(logs["beat"], logs["worker"]))
        wait_until(
            lambda: EmailDelivery.objects.filter(status=EmailDelivery.Status.SENT).count() == 2,
            timeout=30, what="both deliveries to be recorded as sent", logs=(logs["worker"],),
        )  # fmt: skip
        time.sleep(2)  # anything sent twice would arrive now
    finally:
        for process in (beat, worker):
            if process is not None:
                stop_group(process)
        stop(web)
        stop(broker.process)
        smtp.stop()

    assert {r.display_name: received(r) for r in (bob, carol, dave)} == {"Bob": 1, "Carol": 1, "Dave": 0}
    assert len(handler.messages) == 2
