"""What goes into a resident's nearby digest: reads only (the sending lives in services.py).

Everything is "new since the last digest" (`since`) and near the resident's home area: the home is
only ever a cell centre, and neighbours appear as a count and names, never with a place or distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from apps.accounts.selectors import residents_nearby
from apps.market.models import Stall, StallPhoto
from apps.market.selectors import FeedFilters, stalls_feed, stalls_open
from apps.nearby.selectors import located_within
from apps.shops import pledges as pledge_catalogue
from apps.shops.models import Shop, ShopPledge
from apps.shops.selectors import shops_visible

from .models import EmailDelivery, NotificationPreferences

STALLS_SHOWN = 5
FOLLOWED_SHOWN = 5
SHOPS_SHOWN = 5
PLEDGES_SHOWN = 5
NEIGHBOUR_NAMES_SHOWN = 3

PERIOD_LENGTH = {
    NotificationPreferences.Digest.DAILY: timedelta(days=1),
    NotificationPreferences.Digest.WEEKLY: timedelta(days=7),
    # A preview for a resident who has the digest off shows what a weekly one would say.
    NotificationPreferences.Digest.OFF: timedelta(days=7),
}


def absolute_url(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return settings.JIEFANG_SITE_URL.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class Digest:
    resident: object
    since: datetime
    until: datetime
    stalls: list[Stall] = field(default_factory=list)
    more_stalls: bool = False
    followed: list[Stall] = field(default_factory=list)
    shops: list[Shop] = field(default_factory=list)
    pledges: list[dict] = field(default_factory=list)
    neighbours_count: int = 0
    neighbour_names: list[str] = field(default_factory=list)
    # None until the chat app can say; shown only alongside news, never a reason to write.
    unread_messages: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.stalls or self.followed or self.shops or self.pledges or self.neighbours_count)

    def summary(self) -> dict:
        return {
            "stalls": len(self.stalls),
            "followed": len(self.followed),
            "shops": len(self.shops),
            "pledges": len(self.pledges),
            "neighbours": self.neighbours_count,
        }


class _NewSince(FeedFilters):
    """The feed's own filters and ranking, narrowed to stalls posted since the last digest by others."""

    def __init__(self, *, since: datetime, until: datetime, exclude_seller_id: int):
        super().__init__()
        self.since, self.until = since, until
        self.exclude_seller_id = exclude_seller_id

    def apply(self, qs: QuerySet) -> QuerySet:
        qs = super().apply(qs).filter(created_at__gt=self.since, created_at__lte=self.until)
        return qs.exclude(seller_id=self.exclude_seller_id)


def digest_since(*, resident, frequency: str, now: datetime, last_end: datetime | None) -> datetime:
    """Where the window starts: the end of the last digest, at most two periods back (to bridge a
    missed one); the first digest, or the first after a long pause, looks one period back."""
    length = PERIOD_LENGTH[frequency]
    return last_end if last_end is not None and last_end >= now - 2 * length else now - length


def digest_last_end(*, resident_id: int) -> datetime | None:
    return (
        EmailDelivery.objects.filter(
            resident_id=resident_id,
            kind=EmailDelivery.Kind.DIGEST,
            status__in=(EmailDelivery.Status.SENT, EmailDelivery.Status.HANDED, EmailDelivery.Status.EMPTY),
            window_end__isnull=False,
        )
        .order_by("-window_end")
        .values_list("window_end", flat=True)
        .first()
    )


def _photo_url(stall: Stall) -> str | None:
    photos = list(stall.photos.all())
    return absolute_url(photos[0].image.url) if photos else None


def _with_links(stalls: list[Stall]) -> list[Stall]:
    from django.urls import reverse

    for stall in stalls:
        stall.photo_url = _photo_url(stall)
        stall.absolute_url = absolute_url(reverse("market:stall_detail", args=[stall.pk]))
    return stalls


def _followed_stalls(resident, since: datetime, now: datetime, skip: set[int]) -> list[Stall]:
    from django.db.models import Prefetch

    qs = (
        stalls_open(now=now)
        .filter(shop__follows__resident_id=resident.pk, created_at__gt=since, created_at__lte=now)
        .exclude(pk__in=skip)
        .select_related("shop", "seller")
        .prefetch_related(Prefetch("photos", queryset=StallPhoto.objects.order_by("position", "id")))
        .order_by("-created_at", "-pk")
    )
    return list(qs[:FOLLOWED_SHOWN])


def digest_build(*, resident, since: datetime, now: datetime, unread_messages: int | None = None) -> Digest:
    """The resident's digest for the window (since, now]."""
    digest = Digest(resident=resident, since=since, until=now, unread_messages=unread_messages)
    origin = resident.point
    if origin is not None:
        page = stalls_feed(
            origin=origin,
            radius_m=resident.radius_m,
            viewer=resident,
            filters=_NewSince(since=since, until=now, exclude_seller_id=resident.pk),
            limit=STALLS_SHOWN,
            now=now,
        )
        digest.stalls = _with_links(page.items)
        digest.more_stalls = page.next_cursor is not None

        shops = located_within(
            shops_visible().filter(created_at__gt=since, created_at__lte=now).exclude(owner_id=resident.pk),
            origin=origin,
            radius_m=resident.radius_m,
        )
        digest.shops = list(shops[:SHOPS_SHOWN])
        new_shop_ids = {s.pk for s in digest.shops}

        pledges = (
            ShopPledge.objects.filter(
                is_active=True,
                created_at__gt=since,
                created_at__lte=now,
                shop__in=located_within(shops_visible(), origin=origin, radius_m=resident.radius_m).values("pk"),
            )
            .exclude(shop_id__in=new_shop_ids)
            .select_related("shop")
            .order_by("-created_at", "-pk")
        )
        for pledge in pledges[:PLEDGES_SHOWN]:
            kind = pledge_catalogue.CATALOGUE.get(pledge.kind)
            if kind is None:
                continue
            digest.pledges.append({"shop": pledge.shop, "title": str(kind.title), "summary": kind.short(pledge.terms)})

        # Newly verified neighbours: how many, and a few names. Never where: no distance, no place.
        neighbours = residents_nearby(origin=origin, radius_m=resident.radius_m, exclude=resident).filter(
            residency_verified_at__gt=since, residency_verified_at__lte=now
        )
        names = list(neighbours.order_by("residency_verified_at", "pk").values_list("display_name", flat=True))
        digest.neighbours_count = len(names)
        digest.neighbour_names = names[:NEIGHBOUR_NAMES_SHOWN]

    digest.followed = _with_links(_followed_stalls(resident, since, now, skip={s.pk for s in digest.stalls}))
    return digest
