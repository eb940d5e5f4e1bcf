"""Tasks owed by a transaction reach the broker even if it is down when the transaction commits.

`transaction.on_commit(lambda: task.delay(...))` loses the task when the broker cannot be reached at
that moment (and turns the already committed request into a 500). Instead, services call
`task_queue_on_commit(task, ...)`: a `QueuedTask` row is written in the transaction itself, so it
exists exactly when the change that owes the task was committed (a rolled-back transaction leaves
neither). Once committed, the task is published at once and its row deleted. If the broker refuses,
the row stays; `outbox_flush`, run by beat every `JIEFANG_OUTBOX_FLUSH_S`, publishes rows older than
`JIEFANG_OUTBOX_GRACE_S` (those whose publication at commit failed, or whose process died between the
commit and the publication) once the broker is back.

Delivery is at least once: a process that dies after publishing and before deleting the row leaves it
to be published again. Every task queued this way is idempotent (STYLE.md rule 7), so the second run
does nothing; e-mails in particular are claimed by a conditional update before they are sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis import RedisError

from .models import QueuedTask

log = logging.getLogger(__name__)

# What a broker that cannot be reached raises (Celery wraps most of it in kombu's OperationalError).
BROKER_ERRORS = (OperationalError, RedisError, ConnectionError, TimeoutError)


def tasks_queue_on_commit(task, arg_lists: list[tuple | list], *, countdown: int | None = None) -> None:
    """Owes one run of `task` per argument list, published once the current transaction commits."""
    if not arg_lists:
        return
    eta = timezone.now() + timedelta(seconds=countdown) if countdown else None
    rows = QueuedTask.objects.bulk_create([QueuedTask(task=task.name, args=list(args), eta=eta) for args in arg_lists])
    transaction.on_commit(lambda: _publish(rows))


def task_queue_on_commit(task, *args, countdown: int | None = None) -> None:
    tasks_queue_on_commit(task, [args], countdown=countdown)


def _send(row: QueuedTask) -> None:
    options = {"eta": row.eta} if row.eta and row.eta > timezone.now() else {}
    current_app.tasks[row.task].apply_async(row.args, row.kwargs, **options)


def _broker_errors() -> tuple:
    # Tasks run in-process (the embedded set-up, tests): there is no broker, and what a task raises
    # is the task's own error, to be raised as before.
    return () if current_app.conf.task_always_eager else BROKER_ERRORS


def _publish(rows: list[QueuedTask]) -> None:
    done = []
    try:
        for row in rows:
            try:
                _send(row)
            except _broker_errors() as exc:
                log.warning("broker unreachable (%s): %d task(s) left to the outbox", exc, len(rows) - len(done))
                return
            done.append(row.pk)
    finally:
        if done:
            QueuedTask.objects.filter(pk__in=done).delete()


def outbox_flush(*, limit: int = 1000) -> int:
    """Publishes the tasks owed for longer than the grace time; returns how many. Rows are locked
    while being published (SKIP LOCKED), so two flushes at once do not publish one twice."""
    cutoff = timezone.now() - timedelta(seconds=settings.JIEFANG_OUTBOX_GRACE_S)
    published = []
    with transaction.atomic():
        rows = list(
            QueuedTask.objects.select_for_update(skip_locked=True).filter(created_at__lt=cutoff).order_by("pk")[:limit]
        )
        for row in rows:
            try:
                _send(row)
            except _broker_errors() as exc:
                log.warning("outbox: broker still unreachable (%s); %d task(s) wait", exc, len(rows) - len(published))
                break
            published.append(row.pk)
        QueuedTask.objects.filter(pk__in=published).delete()
    return len(published)
