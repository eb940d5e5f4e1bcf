from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import DomainError

from .kinds import Kind
from .models import Notification


class NotificationNotFound(DomainError):
    status_code = 404
    code = "not_found"


@transaction.atomic
def notification_send(*, recipient_id: int, kind: str, params: dict | None = None, url: str = "") -> Notification:
    """Stores an in-app notification for one resident."""
    Kind(kind)  # an unknown kind is a programming error, not user input
    return Notification.objects.create(recipient_id=recipient_id, kind=kind, params=params or {}, url=url)


@transaction.atomic
def notification_send_many(*, recipient_ids: list[int], kind: str, params: dict | None = None, url: str = "") -> int:
    Kind(kind)
    rows = [Notification(recipient_id=rid, kind=kind, params=params or {}, url=url) for rid in set(recipient_ids)]
    Notification.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@transaction.atomic
def notification_mark_read(*, resident, notification_id: int) -> Notification:
    notification = Notification.objects.filter(pk=notification_id, recipient=resident).first()
    if notification is None:
        raise NotificationNotFound(_("No such notification."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, resident) -> int:
    return Notification.objects.filter(recipient=resident, read_at__isnull=True).update(read_at=timezone.now())
