"""Reads of shops: open-now in the shop's own time zone, nearby shops, the shop page, pledges."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.utils import timezone
from django.utils.dates import WEEKDAYS

from apps.accounts.models import Resident
from apps.nearby import geo
from apps.nearby.selectors import NearbyPage, located_within, nearby_page

from . import pledges
from .models import OpeningException, Shop, ShopFollow, ShopPledge

# A span that closes at 23:59 runs to midnight: TimeField has no 24:00.
END_OF_DAY = dt.time(23, 59)


# --- Open now ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenState:
    is_open: bool
    local_now: dt.datetime
    # When open: the end of the current span; when closed: the next opening later today, if any.
    closes_at: dt.time | None = None
    opens_at: dt.time | None = None
    # Today's exception to the weekly hours, when there is one.
    exception: OpeningException | None = None
    spans_today: list[tuple[dt.time, dt.time]] = field(default_factory=list)


def _exception_window(today: dt.date) -> tuple[dt.date, dt.date]:
    # Wide enough around the server's date to hold "today" in every time zone (UTC-12 to UTC+14),
    # and the coming week that the shop page lists.
    return today - dt.timedelta(days=2), today + dt.timedelta(days=8)


def near_exceptions_prefetch(prefix: str = "") -> Prefetch:
    """Prefetches the exceptions of the days around now as `near_exceptions`, for open-now and
    the shop page's "coming closures" without a query per shop."""
    lo, hi = _exception_window(timezone.now().date())
    return Prefetch(
        f"{prefix}exceptions",
        queryset=OpeningException.objects.filter(date__range=(lo, hi)),
        to_attr="near_exceptions",
    )


def _exception_on(shop: Shop, day: dt.date) -> OpeningException | None:
    cached = getattr(shop, "near_exceptions", None)
    if cached is not None:
        lo, hi = _exception_window(timezone.now().date())
        if lo < day < hi:
            return next((e for e in cached if e.date == day), None)
    elif "exceptions" in getattr(shop, "_prefetched_objects_cache", {}):
        return next((e for e in shop.exceptions.all() if e.date == day), None)
    return shop.exceptions.filter(date=day).first()


def shop_spans_on(shop: Shop, day: dt.date) -> tuple[list[tuple[dt.time, dt.time]], OpeningException | None]:
    """The opening spans of a local date: an exception for that date wins over the weekly hours."""
    exception = _exception_on(shop, day)
    if exception is not None:
        return ([] if exception.closed else [(exception.opens, exception.closes)]), exception
    weekly = [(h.opens, h.closes) for h in shop.hours.all() if h.weekday == day.weekday()]
    return sorted(weekly), None


def shop_local_now(shop: Shop, at: dt.datetime | None = None) -> dt.datetime:
    return (at or timezone.now()).astimezone(zoneinfo.ZoneInfo(shop.time_zone))


def shop_open_state(shop: Shop, at: dt.datetime | None = None) -> OpenState:
    """Whether the shop is open at `at` (default now), judged by the clock on the shop's wall."""
    local = shop_local_now(shop, at)
    spans, exception = shop_spans_on(shop, local.date())
    t = local.time().replace(tzinfo=None)
    for opens, closes in spans:
        if opens <= t and (t < closes or closes >= END_OF_DAY):
            return OpenState(True, local, closes_at=closes, exception=exception, spans_today=spans)
    later = next((opens for opens, _closes in spans if opens > t), None)
    return OpenState(False, local, opens_at=later, exception=exception, spans_today=spans)


def shop_open_now(shop: Shop, at: dt.datetime | None = None) -> bool:
    return shop_open_state(shop, at).is_open


def shop_week(shop: Shop) -> list[tuple[str, list[tuple[dt.time, dt.time]]]]:
    """The weekly hours as (weekday name, spans), Monday first; no spans means closed that day."""
    hours = list(shop.hours.all())
    return [(WEEKDAYS[d], [(h.opens, h.closes) for h in hours if h.weekday == d]) for d in range(7)]


def shop_exceptions_coming(shop: Shop, at: dt.datetime | None = None) -> list[OpeningException]:
    """Exceptions from today (in the shop's zone) through the coming week."""
    today = shop_local_now(shop, at).date()
    end = today + dt.timedelta(days=7)
    cached = getattr(shop, "near_exceptions", None)
    if cached is not None:
        return [e for e in cached if today <= e.date <= end]
    return list(shop.exceptions.filter(date__range=(today, end)))


# --- Pledges ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PledgeBadge:
    pledge_id: int
    kind: str
    title: str
    summary: str
    description: str
    terms: dict


def _pledges_shown() -> QuerySet:
    """Active pledges, less those of shops that lost their badges to moderation's penalty points
    (docs/moderation.md): the promise still binds the shop, it just earns no badge for now."""
    from apps.moderation.selectors import shops_without_badges

    return ShopPledge.objects.filter(is_active=True).exclude(shop_id__in=shops_without_badges())


def _badges_withdrawn(shop: Shop) -> bool:
    from apps.moderation.selectors import shops_without_badges

    return shops_without_badges().filter(shop_id=shop.pk).exists()


def active_pledges_prefetch(prefix: str = "") -> Prefetch:
    """Use on any queryset that reaches shops, e.g. stalls: `.prefetch_related(active_pledges_prefetch("shop__"))`;
    badges then cost no query per row."""
    return Prefetch(f"{prefix}pledges", queryset=_pledges_shown(), to_attr="active_pledges")


def pledges_active(*, shop: Shop) -> list[ShopPledge]:
    cached = getattr(shop, "active_pledges", None)
    if cached is not None:
        return cached
    if "pledges" in getattr(shop, "_prefetched_objects_cache", {}):  # all pledges were prefetched
        active = [p for p in shop.pledges.all() if p.is_active]
        return active if not active or not _badges_withdrawn(shop) else []
    return list(_pledges_shown().filter(shop=shop))


def _catalogue_order(pledge: ShopPledge) -> int:
    return list(pledges.CATALOGUE).index(pledge.kind) if pledge.kind in pledges.CATALOGUE else len(pledges.CATALOGUE)


def pledge_badges(*, shop: Shop) -> list[PledgeBadge]:
    """The shop's active pledges, in catalogue order, described in the reader's language."""
    badges = []
    for pledge in sorted(pledges_active(shop=shop), key=_catalogue_order):
        kind = pledges.CATALOGUE.get(pledge.kind)
        if kind is None:  # a kind since dropped from the catalogue: no words for it, no badge
            continue
        badges.append(
            PledgeBadge(
                pledge_id=pledge.pk,
                kind=pledge.kind,
                title=str(kind.title),
                summary=kind.short(pledge.terms),
                description=kind.describe(pledge.terms),
                terms=pledge.terms,
            )
        )
    return badges


def pledge_in_force(*, shop: Shop, kind: str, at: dt.datetime) -> ShopPledge | None:
    """The pledge of a kind that held at a moment (a purchase): what a claim relies on."""
    return (
        shop.pledges.filter(kind=kind, created_at__lte=at)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at))
        .order_by("-created_at")
        .first()
    )


def pledge_history(*, shop: Shop) -> QuerySet:
    return shop.pledges.order_by("-created_at")


# --- Shops ------------------------------------------------------------------------------------


def shop_card_prefetches(prefix: str = "") -> list:
    """What a shop card (and open-now, and the badges) reads, prefetched once for a whole list."""
    return [
        f"{prefix}photos",
        f"{prefix}hours",
        active_pledges_prefetch(prefix),
        near_exceptions_prefetch(prefix),
    ]


def shops_visible() -> QuerySet:
    """Shops the public sees: all but those suspended by moderation."""
    now = timezone.now()
    return Shop.objects.filter(Q(suspended_until__isnull=True) | Q(suspended_until__lte=now))


def shops_nearby(*, origin: geo.Point, radius_m: float, category: str | None = None) -> QuerySet:
    """Shops within the radius, nearest first, annotated with their exact `distance_m` (shops are public)."""
    qs = shops_visible()
    if category:
        qs = qs.filter(category=category)
    return located_within(qs, origin=origin, radius_m=radius_m).prefetch_related(*shop_card_prefetches())


def shops_nearby_page(
    *, origin: geo.Point, radius_m: float, cursor: str | None = None, limit: int = 20, category: str | None = None
) -> NearbyPage:
    qs = shops_visible()
    if category:
        qs = qs.filter(category=category)
    return nearby_page(
        qs.prefetch_related(*shop_card_prefetches()), origin=origin, radius_m=radius_m, cursor=cursor, limit=limit
    )


def shops_with_details(*, viewer: Resident | None = None) -> QuerySet:
    """Shops ready for the shop page: photos, hours, active pledges, the coming exceptions,
    `followers_count` and `viewer_follows`, in a fixed number of queries."""
    if viewer is not None and viewer.is_authenticated:
        follows = Exists(ShopFollow.objects.filter(shop=OuterRef("pk"), resident=viewer))
    else:
        follows = Value(False)
    return (
        Shop.objects.select_related("owner")
        .annotate(
            followers_count=Count("follows", distinct=True),
            viewer_follows=follows,
        )
        .prefetch_related(*shop_card_prefetches())
    )


def shop_detail(*, pk: int, viewer: Resident | None = None) -> Shop:
    """One shop for its page; raises Shop.DoesNotExist."""
    return shops_with_details(viewer=viewer).get(pk=pk)


def shops_of_resident(*, resident: Resident) -> QuerySet:
    """Shops the resident owns or works at."""
    staffed = Shop.staff.through.objects.filter(resident_id=resident.pk).values("shop_id")
    return Shop.objects.filter(Q(owner=resident) | Q(pk__in=staffed)).order_by("name", "pk")


def shop_can_sell(*, shop: Shop, resident: Resident) -> bool:
    """Owner and staff may publish stalls for the shop."""
    if not resident.is_authenticated:
        return False
    return shop.owner_id == resident.pk or shop.staff.filter(pk=resident.pk).exists()


def shop_is_owner(*, shop: Shop, resident: Resident | None) -> bool:
    return resident is not None and resident.is_authenticated and shop.owner_id == resident.pk


def shop_followers(*, shop: Shop) -> QuerySet:
    """Residents following the shop: who hears of its new stalls."""
    return Resident.objects.filter(is_active=True, shop_follows__shop=shop)


def shop_stalls_current(*, shop: Shop, limit: int = 20) -> list:
    """The shop's open, unexpired stalls, newest first (the market app may offer a richer version).

    Each stall carries this very shop object, with its `active_pledges`, so stall cards cost no
    query for the shop or its badges."""
    from apps.market.models import Stall

    if not hasattr(shop, "active_pledges"):
        shop.active_pledges = pledges_active(shop=shop)
    stalls = list(
        Stall.objects.filter(shop=shop, status=Stall.Status.OPEN, expires_at__gt=timezone.now())
        .select_related("seller")
        .prefetch_related("photos")
        .order_by("-created_at")[:limit]
    )
    for stall in stalls:
        stall.shop = shop
    return stalls
