"""What goes into a resident's nearby digest: reads only (the sending lives in services.py).

Everything is "new since the last digest" (`since`) and near the resident's home area: the home is
only ever a cell centre, and neighbours appear as a count and names, never with a place or distance.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, QuerySet

from apps.accounts.selectors import residents_nearby
from apps.market.models import Stall
from apps.market.selectors import FeedFilters, shown_photos_prefetch, stall_cards, stalls_feed_ranked, stalls_open
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
    pledges: list[ShopPledge] = field(default_factory=list)
    neighbours_count: int = 0
    neighbour_names: list[str] = field(default_factory=list)
    # None until the chat app can say; shown only alongside news, never a reason to write.
    unread_messages: int | None = None
    # Residents whose digest shows their area's news as it is (nothing of their own left out)
    # share its rendered sections: emails.py caches them by this key.
    area_key: tuple | None = None
    is_area_shared: bool = False

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

    def __init__(self, *, since: datetime, until: datetime, exclude_seller_id: int | None = None):
        super().__init__()
        self.since, self.until = since, until
        self.exclude_seller_id = exclude_seller_id

    def apply(self, qs: QuerySet) -> QuerySet:
        qs = super().apply(qs).filter(created_at__gt=self.since, created_at__lte=self.until)
        return qs if self.exclude_seller_id is None else qs.exclude(seller_id=self.exclude_seller_id)


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
    photos = stall.photos_in_order()
    return absolute_url(photos[0].image.url) if photos else None


def _with_links(stalls: list[Stall]) -> list[Stall]:
    from django.urls import reverse

    for stall in stalls:
        stall.photo_url = _photo_url(stall)
        stall.absolute_url = absolute_url(reverse("market:stall_detail", args=[stall.pk]))
    return stalls


def _area_key(resident, since: datetime, now: datetime) -> tuple:
    return (resident.home_cell, resident.radius_m, since, now)


@dataclass
class AreaNews:
    """What is new around one home area in one window: the same for every resident of the area
    (their home is the cell's centre), read once. Lists hold a few more than shown, so that a
    resident's own stalls or shops can be left out without another query."""

    stalls: list[Stall]
    stalls_beyond: bool  # more stalls exist past the ones read
    shops: list[Shop]
    shops_beyond: bool
    pledges: list[ShopPledge]
    neighbours: list[tuple[int, str]]


@dataclass
class _AreaRead:
    """An area's news as read, before its stalls' cards are loaded (for many areas at once)."""

    ranked: list[tuple[int, float, float]]  # (stall id, rank, distance) best first
    stalls_beyond: bool
    shops: list[Shop]
    pledges: list[ShopPledge]
    neighbours: list[tuple[int, str]]

    def news(self, cards: dict[int, Stall]) -> AreaNews:
        stalls = []
        for pk, rank, distance in self.ranked:
            card = cards.get(pk)  # gone between the two reads: the list is one shorter, as in the feed
            if card is not None:
                # One stall can be news in several areas, each at its own distance: a copy each.
                stall = copy.copy(card)
                stall.rank, stall.distance_m = rank, distance
                stalls.append(stall)
        return AreaNews(
            stalls=_with_links(stalls),
            stalls_beyond=self.stalls_beyond,
            shops=self.shops[: SHOPS_SHOWN + PAD],
            shops_beyond=len(self.shops) > SHOPS_SHOWN + PAD,
            pledges=self.pledges,
            neighbours=self.neighbours,
        )


PAD = 3


class DigestBuilder:
    """Builds the digests of many residents (a batch, the admin's preview, the benchmark).

    Neighbours share their area's news: residents live at their home cell's centre, so everything
    "near home" depends only on (home cell, radius, window). It is read once per area and kept in
    a small LRU; the scheduler orders residents by home cell, so a batch meets each area in a run.
    A batch reads its areas up front (`prepare_areas`), loading the stalls' cards of all of them in
    one go, and the stalls from followed shops for all its residents in one query (`prepare`).
    """

    def __init__(self, *, now: datetime, cache_size: int = 256):
        self.now = now
        self.cache_size = cache_size
        self._areas: OrderedDict[tuple, AreaNews] = OrderedDict()
        self._followed: dict[int, list[Stall]] = {}
        self._followed_since: dict[int, datetime] = {}

    # --- batch preparation ---

    def prepare(self, windows: dict[int, datetime]) -> None:
        """Reads the stalls of followed shops for these residents ({resident id: since}) at once."""
        if not windows:
            return
        earliest = min(windows.values())
        rows = (
            stalls_open(now=self.now)
            .filter(shop__follows__resident_id__in=list(windows), created_at__gt=earliest, created_at__lte=self.now)
            .annotate(follower_id=F("shop__follows__resident_id"))
            .select_related("shop", "seller")
            .prefetch_related(shown_photos_prefetch())
            .order_by("-created_at", "-pk")
        )
        for rid in windows:
            self._followed[rid] = []
            self._followed_since[rid] = windows[rid]
        for stall in rows:
            mine = self._followed[stall.follower_id]
            if stall.created_at > windows[stall.follower_id] and len(mine) < FOLLOWED_SHOWN + STALLS_SHOWN:
                mine.append(stall)

    def prepare_areas(self, residents: list[tuple[object, datetime]]) -> None:
        """Reads the news of the home areas of these (resident, since) pairs that are not read yet:
        each area's own queries, then the cards of all their stalls in one query."""
        pending: dict[tuple, tuple] = {}
        for resident, since in residents:
            if resident.point is None:
                continue
            key = _area_key(resident, since, self.now)
            if key not in self._areas and key not in pending:
                pending[key] = (resident, since)
        if not pending:
            return
        self.cache_size = max(self.cache_size, len(pending))  # none of the batch's areas is dropped
        reads = {key: self._query_area(resident, since) for key, (resident, since) in pending.items()}
        cards = stall_cards({pk for read in reads.values() for pk, _rank, _d in read.ranked})
        for key, read in reads.items():
            self._remember(key, read.news(cards))

    def _followed_of(self, resident, since: datetime) -> list[Stall]:
        if self._followed_since.get(resident.pk) == since:
            return self._followed[resident.pk]
        qs = (
            stalls_open(now=self.now)
            .filter(shop__follows__resident_id=resident.pk, created_at__gt=since, created_at__lte=self.now)
            .select_related("shop", "seller")
            .prefetch_related(shown_photos_prefetch())
            .order_by("-created_at", "-pk")
        )
        return list(qs[: FOLLOWED_SHOWN + STALLS_SHOWN])

    # --- the area ---

    def area(self, resident, since: datetime) -> AreaNews:
        key = _area_key(resident, since, self.now)
        news = self._areas.get(key)
        if news is not None:
            self._areas.move_to_end(key)
            return news
        news = self._read_area(resident, since)
        self._remember(key, news)
        return news

    def _remember(self, key: tuple, news: AreaNews) -> None:
        self._areas[key] = news
        self._areas.move_to_end(key)
        while len(self._areas) > self.cache_size:
            self._areas.popitem(last=False)

    def _read_area(self, resident, since: datetime, *, exclude_id: int | None = None) -> AreaNews:
        read = self._query_area(resident, since, exclude_id=exclude_id)
        return read.news(stall_cards(pk for pk, _rank, _d in read.ranked))

    def _query_area(self, resident, since: datetime, *, exclude_id: int | None = None) -> _AreaRead:
        origin, radius, now = resident.point, resident.radius_m, self.now
        ranked, next_cursor = stalls_feed_ranked(
            origin=origin,
            radius_m=radius,
            viewer=resident,
            filters=_NewSince(since=since, until=now, exclude_seller_id=exclude_id),
            limit=STALLS_SHOWN + PAD,
            now=now,
        )
        shops_qs = shops_visible().filter(created_at__gt=since, created_at__lte=now)
        if exclude_id is not None:
            shops_qs = shops_qs.exclude(owner_id=exclude_id)
        shops = list(located_within(shops_qs, origin=origin, radius_m=radius)[: SHOPS_SHOWN + PAD + 1])
        pledges = list(
            ShopPledge.objects.filter(
                is_active=True,
                created_at__gt=since,
                created_at__lte=now,
                kind__in=list(pledge_catalogue.CATALOGUE),
                shop__in=located_within(shops_visible(), origin=origin, radius_m=radius).values("pk"),
            )
            .select_related("shop")
            .order_by("-created_at", "-pk")[: PLEDGES_SHOWN + SHOPS_SHOWN + PAD]
        )
        # Newly verified neighbours: how many, and a few names. Never where: no distance, no place.
        neighbours = list(
            residents_nearby(origin=origin, radius_m=radius)
            .filter(residency_verified_at__gt=since, residency_verified_at__lte=now)
            .order_by("residency_verified_at", "pk")
            .values_list("pk", "display_name")
        )
        return _AreaRead(
            ranked=ranked,
            stalls_beyond=next_cursor is not None,
            shops=shops,
            pledges=pledges,
            neighbours=neighbours,
        )

    # --- one resident ---

    def build(self, *, resident, since: datetime, unread_messages: int | None = None) -> Digest:
        """The resident's digest for the window (since, now]: the area's news without what is the
        resident's own, and the stalls of the shops they follow."""
        digest = Digest(resident=resident, since=since, until=self.now, unread_messages=unread_messages)
        if resident.point is not None:
            shared = area = self.area(resident, since)
            stalls = [s for s in area.stalls if s.seller_id != resident.pk]
            shops = [s for s in area.shops if s.owner_id != resident.pk]
            personal = (len(stalls) < STALLS_SHOWN and area.stalls_beyond) or (
                len(shops) < SHOPS_SHOWN and area.shops_beyond
            )
            if personal:
                # So many of the area's news are the resident's own that the next ones must be read.
                area = self._read_area(resident, since, exclude_id=resident.pk)
                stalls, shops = area.stalls, area.shops
            digest.stalls = stalls[:STALLS_SHOWN]
            digest.more_stalls = len(stalls) > STALLS_SHOWN or area.stalls_beyond
            digest.shops = shops[:SHOPS_SHOWN]
            shown_shops = {s.pk for s in area.shops}
            digest.pledges = [p for p in area.pledges if p.shop_id not in shown_shops][:PLEDGES_SHOWN]
            names = [name for pk, name in area.neighbours if pk != resident.pk]
            digest.neighbours_count = len(names)
            digest.neighbour_names = names[:NEIGHBOUR_NAMES_SHOWN]
            # The shared sections may be reused only if this digest shows exactly what they show.
            digest.area_key = _area_key(resident, since, self.now)
            digest.is_area_shared = (
                not personal
                and digest.stalls == shared.stalls[:STALLS_SHOWN]
                and digest.more_stalls == (len(shared.stalls) > STALLS_SHOWN or shared.stalls_beyond)
                and digest.shops == shared.shops[:SHOPS_SHOWN]
                and len(names) == len(shared.neighbours)
            )
        shown = {s.pk for s in digest.stalls}
        followed = _with_links([s for s in self._followed_of(resident, since) if s.pk not in shown])
        digest.followed = followed[:FOLLOWED_SHOWN]
        return digest


def digest_build(*, resident, since: datetime, now: datetime, unread_messages: int | None = None) -> Digest:
    """One resident's digest for the window (since, now]."""
    return DigestBuilder(now=now).build(resident=resident, since=since, unread_messages=unread_messages)
