from celery import shared_task

from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send_many

from . import services
from .models import Stall


@shared_task(acks_late=True)
def stalls_expire() -> int:
    """Periodic: a conditional update, so a second beat or a redelivery does no harm."""
    return services.stalls_expire_due()


@shared_task(acks_late=True)
def stall_notify_followers(stall_id: int) -> int:
    stall = Stall.objects.select_related("shop").filter(pk=stall_id, shop__isnull=False).first()
    if stall is None:
        return 0
    from apps.notifications.models import Notification

    url = stall_url(stall)
    follower_ids = list(stall.shop.follows.values_list("resident_id", flat=True))
    # Idempotent on redelivery: residents already told about this stall are skipped.
    told = set(
        Notification.objects.filter(
            kind=Kind.STALL_FROM_FOLLOWED_SHOP, url=url, recipient_id__in=follower_ids
        ).values_list("recipient_id", flat=True)
    )
    return notification_send_many(
        recipient_ids=[rid for rid in follower_ids if rid not in told and rid != stall.seller_id],
        kind=Kind.STALL_FROM_FOLLOWED_SHOP,
        params={"shop": stall.shop.name, "title": stall.title},
        url=url,
    )


def stall_url(stall: Stall) -> str:
    from django.urls import reverse

    return reverse("market:stall_detail", args=[stall.pk])
