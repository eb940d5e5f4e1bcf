from django.db.models import QuerySet

from .models import Notification


def notifications_for(*, resident) -> QuerySet:
    return Notification.objects.filter(recipient=resident)


def notifications_unread_count(*, resident) -> int:
    return Notification.objects.filter(recipient=resident, read_at__isnull=True).count()
