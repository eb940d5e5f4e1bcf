"""Moderation's tasks: they take ids, claim their work with a conditional update, and are safe to
run twice (a redelivered e-mail task finds the e-mail already claimed and does nothing)."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone

from . import emails, services
from .models import Appeal, Decision


@shared_task(acks_late=True)
def suspensions_lift() -> int:
    """Periodic: holds and suspensions whose time is up give back the stalls they hid."""
    return services.suspensions_end_due()


def _send_once(model, pk: int, send, task) -> bool:
    if not model.objects.filter(pk=pk, emailed_at__isnull=True).update(emailed_at=timezone.now()):
        return False
    try:
        send(model.objects.get(pk=pk))
    except (SMTPException, OSError) as exc:
        # Not sent: release the claim, so the retry (or a redelivery) sends it.
        model.objects.filter(pk=pk).update(emailed_at=None)
        raise task.retry(exc=exc, countdown=60 * 2**task.request.retries)
    return True


@shared_task(bind=True, acks_late=True, max_retries=5)
def decision_email_send(self, decision_id: int) -> bool:
    return _send_once(Decision, decision_id, emails.decision_email, self)


@shared_task(bind=True, acks_late=True, max_retries=5)
def appeal_email_send(self, appeal_id: int) -> bool:
    return _send_once(Appeal, appeal_id, emails.appeal_email, self)
