"""Tasks owed by a transaction go through the outbox (apps/core/outbox.py): a row in the same
transaction, published once it commits. Here tasks run in-process (eager); the broker being down
is tests/notifications/test_broker_outage.py, with real processes."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core import outbox
from apps.core.models import QueuedTask
from apps.notifications import services as notifications
from apps.notifications.kinds import Kind
from apps.notifications.models import EmailDelivery, Notification
from tests.notifications.conftest import neighbour

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


def notify(resident):
    return notifications.notification_send(
        recipient_id=resident.pk, kind=Kind.MESSAGE, params={"sender": "Alice", "preview": "hi"}
    )


def test_the_task_row_commits_with_the_change_and_goes_once_published(mailoutbox):
    bob = neighbour(digest="off")
    with transaction.atomic():
        notify(bob)
        assert QueuedTask.objects.filter(task="apps.notifications.tasks.delivery_send").count() == 1
    assert not QueuedTask.objects.exists()
    assert EmailDelivery.objects.get(resident=bob).status == EmailDelivery.Status.SENT
    assert [m.to for m in mailoutbox] == [[bob.email]]


def test_a_rolled_back_transaction_owes_nothing_and_runs_nothing(mailoutbox):
    bob = neighbour(digest="off")
    with pytest.raises(Rollback), transaction.atomic():
        notify(bob)
        raise Rollback
    assert not QueuedTask.objects.exists()
    assert not Notification.objects.exists() and not EmailDelivery.objects.exists()
    assert mailoutbox == []


def test_the_flush_publishes_only_rows_older_than_the_grace_time(settings, mailoutbox):
    settings.JIEFANG_OUTBOX_GRACE_S = 60
    bob = neighbour(digest="off")
    notify(bob)
    delivery = EmailDelivery.objects.get(resident=bob)
    # Its task again, as a process that died between publishing it and deleting its row leaves it.
    old = QueuedTask.objects.create(task="apps.notifications.tasks.delivery_send", args=[delivery.pk])
    QueuedTask.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    young = QueuedTask.objects.create(task="apps.notifications.tasks.delivery_send", args=[delivery.pk])
    assert outbox.outbox_flush() == 1
    assert list(QueuedTask.objects.values_list("pk", flat=True)) == [young.pk]
    # The task ran twice: the e-mail went once.
    assert [m.to for m in mailoutbox] == [[bob.email]]
