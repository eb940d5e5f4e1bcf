from celery import shared_task

from . import outbox


@shared_task
def outbox_flush() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): tasks whose publication failed when they were committed."""
    return outbox.outbox_flush()
