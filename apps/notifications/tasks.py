"""Celery tasks of the notifications app: each takes ids and calls a service. All three are
idempotent (the deliveries' unique periods and conditional status updates), hence `acks_late`: a
task whose worker dies is delivered again rather than lost, and running twice does no harm."""

from celery import shared_task
from django.conf import settings

from . import services

# A worker stuck this long is killed (prefork); its claims then go stale and are recovered.
HARD_LIMIT_S = 15 * 60


@shared_task(acks_late=True, time_limit=HARD_LIMIT_S)
def digests_schedule() -> dict:
    """Every few minutes (CELERY_BEAT_SCHEDULE): recover what dead workers left, then queue the
    digests whose hour has come."""
    recovered = services.deliveries_recover()
    queued = services.digests_queue_due(batch_size=settings.JIEFANG_DIGEST_BATCH)
    return {**recovered, "queued": queued}


@shared_task(acks_late=True, time_limit=HARD_LIMIT_S)
def deliveries_send(delivery_ids: list[int]) -> dict:
    """One batch of e-mails over one mail connection."""
    return services.deliveries_send(delivery_ids=list(delivery_ids))


@shared_task(acks_late=True, time_limit=HARD_LIMIT_S)
def delivery_send(delivery_id: int) -> dict:
    """One resident's e-mail: an immediate notification, or a retry after a backoff."""
    return services.deliveries_send(delivery_ids=[delivery_id])
