from django.core.cache import cache
from django.db.models import QuerySet

from .models import Notification


def notifications_for(*, resident) -> QuerySet:
    return Notification.objects.filter(recipient=resident)


# Every page shows the bell's count; counting costs a query per page, so the count is kept a minute.
# Every write that changes it drops the kept count (services._bell_on_commit), at once and again
# once committed; the minute bounds what a reader racing such a write can leave behind.
UNREAD_CACHE_SECONDS = 60


def unread_cache_key(resident_id: int) -> str:
    return f"bell-unread:{resident_id}"


def notifications_unread_count(*, resident) -> int:
    key = unread_cache_key(resident.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(recipient=resident, read_at__isnull=True).count()
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


def digest_preview(*, resident, now=None):
    """The resident's next digest as it would be sent now: (digest, message or None when there is
    nothing new). Reads only; nothing is recorded, so previewing changes no one's next digest."""
    from django.utils import timezone

    from . import emails, services
    from .digest import digest_build, digest_last_end, digest_since
    from .models import EmailDelivery, NotificationPreferences

    now = now or timezone.now()
    prefs = services.preferences_of(resident_id=resident.pk)
    frequency = prefs.digest
    since = digest_since(
        resident=resident, frequency=frequency, now=now, last_end=digest_last_end(resident_id=resident.pk)
    )
    digest = digest_build(resident=resident, since=since, now=now, unread_messages=services._unread_messages(resident))
    if digest.is_empty:
        return digest, None, prefs
    period = services.digest_period(
        frequency if frequency != NotificationPreferences.Digest.OFF else NotificationPreferences.Digest.WEEKLY,
        now,
    )
    delivery = EmailDelivery(resident=resident, kind=EmailDelivery.Kind.DIGEST, period=period, not_before=now)
    return digest, emails.digest_message(digest=digest, delivery=delivery, time_zone=prefs.time_zone), prefs
