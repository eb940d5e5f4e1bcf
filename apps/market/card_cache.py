"""The shared feed cards' cache, and what tells it that a neighbourhood changed.

A page of feed cards holds nothing personal, so it is rendered once and shared by everyone who would
see the same cards (apps/market/views.py). It stays right because every change that could alter a
card or the order of the cards marks the areas it happened in as changed: the market's services and
the signals of `apps/market/signals.py` call `stalls_touch` with the stalls concerned.
A cached page remembers the marks of the areas around it as they were when it was built,
and is rebuilt as soon as one of them differs. So a new, edited, reserved or hidden stall shows at
the next look, and a neighbourhood where nothing happens is served from the cache for
`JIEFANG_FEED_CACHE_SECONDS` (the backstop for any write that goes around the services).

An area is an H3 cell above a stall's cells: resolution 8 (about 0.7 km²) for circles up to 2 km,
resolution 7 (about 5 km²) for wider ones, so that a page reads a few dozen marks at most and a
change rebuilds few pages beyond those it could alter. H3's cells are not exactly nested, so a stall
marks the parents of its cells at every indexed resolution (almost always one cell per area
resolution, near an edge two), and a page reads the parents of the cells of its cover: whichever
resolution the cover uses, the cell through which the page finds a stall has its parent among the
stall's marks.

A page watches only the marks of the areas a change could alter it from: a stall farther away than
the page's reach (`selectors.stalls_feed_reach_m`) ranks after the page's last stall whatever
happens to it. In a busy neighbourhood the first page of a 5 km feed reaches about 2 km, so changes
farther out leave it alone. The page still reads the marks of its whole circle in its one round
trip, because how far it reaches is known only from the cached copy.

A page is rebuilt from the cards it can keep: each stall's card is kept too, without its distance
(which depends on where the page is looked at from), while the mark of the stall's own
resolution-8 area is the one it was built under (`feed_cards`). A change far from a stall rebuilds
the pages around it but not the stall's card; loading and rendering the cards was two thirds of a
page's rebuild.

Marks are written after the transaction commits (`transaction.on_commit`), and a page reads the
marks before it queries: a page built from data older than a mark always carries an older mark, so
it is rebuilt at the next look, never kept stale. A mark lost from the cache (evicted, or Redis
restarted) reads as a change too.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from h3.api import basic_int as h3i

from apps.nearby import geo

AREA_RESOLUTIONS = (7, 8)
# The widest circle whose pages read the finer areas.
FINE_AREAS_UP_TO_M = 2000
# Longer than pages of cards are kept (a mark that expires reads as a change: a needless rebuild).
MARK_SECONDS = 24 * 3600
_CELL_FIELDS = tuple(geo.cell_field(res) for res in geo.RESOLUTIONS)


def _mark_key(area: int) -> str:
    return f"feed-area:{area:x}"  # an H3 index names its resolution too


def area_resolution(radius_m: float) -> int:
    return 8 if radius_m <= FINE_AREAS_UP_TO_M else 7


def areas_of(cells) -> set[int]:
    """The areas above a located thing's cells (its `cell_r8` ... `cell_r11` values), at both
    resolutions."""
    return {h3i.cell_to_parent(cell, res) for cell in cells if cell is not None for res in AREA_RESOLUTIONS}


def mark_keys_of_cells(cells) -> set[str]:
    """The marks a change to a thing in these cells writes."""
    return {_mark_key(area) for area in areas_of(cells)}


@functools.lru_cache(maxsize=4096)
def mark_keys_of_circle(origin: geo.Point, radius_m: float, within_m: float | None = None) -> tuple[str, ...]:
    """The marks a page of the feed circle reads: every area its cover overlaps (cached as the cover
    is). With `within_m`, those a page reaching that far watches: the areas of the cells of the same
    cover resolution that overlap the smaller circle, a part of the whole circle's."""
    res = area_resolution(radius_m)
    if within_m is None or within_m >= radius_m:
        cells = geo.cover_circle(origin, radius_m).cells
    else:
        cells = geo.cover_circle(origin, within_m, resolution=geo.cover_resolution(radius_m)).cells
    keys = tuple(sorted({_mark_key(h3i.cell_to_parent(cell, res)) for cell in cells}))
    if within_m is not None and within_m < radius_m and not set(keys) <= set(mark_keys_of_circle(origin, radius_m)):
        return mark_keys_of_circle(origin, radius_m)  # never watch a mark the page does not read
    return keys


def stalls_touch(stalls) -> None:
    """Marks the areas of these stalls (instances, or a queryset of them) as changed, once the
    current transaction commits (at once outside one)."""
    if hasattr(stalls, "values_list"):
        rows = stalls.values_list(*_CELL_FIELDS)
    else:
        rows = [[getattr(stall, field) for field in _CELL_FIELDS] for stall in stalls]
    keys = set().union(*(mark_keys_of_cells(cells) for cells in rows))
    if keys:
        mark = uuid.uuid4().hex
        transaction.on_commit(lambda: cache.set_many(dict.fromkeys(keys, mark), MARK_SECONDS))


def cards_get(key: str, *, origin: geo.Point, radius_m: float) -> tuple[str | None, dict]:
    """(the cached cards or None, the marks of the circle to build new ones with), in one round trip
    to the cache."""
    mark_keys = mark_keys_of_circle(origin, radius_m)
    found = cache.get_many([key, *mark_keys])
    kept = found.pop(key, None)
    if kept is not None:
        reach_m, watched, html = kept
        if tuple(found.get(k) for k in mark_keys_of_circle(origin, radius_m, reach_m)) == watched:
            return html, found
    return None, found


def cards_set(
    key: str, html: str, *, origin: geo.Point, radius_m: float, reach_m: int, marks: dict, seconds: int
) -> None:
    """Keeps the cards with the marks, read before they were built, of the areas within `reach_m`."""
    if seconds > 0:
        watched = tuple(marks.get(k) for k in mark_keys_of_circle(origin, radius_m, reach_m))
        cache.set(key, (reach_m, watched, html), seconds)


def shop_touch(shop_id: int) -> None:
    """Marks where the shop's open stalls are: their cards show its name, badge, pledges and trust."""
    from .models import Stall

    stalls_touch(Stall.objects.filter(shop_id=shop_id, status=Stall.Status.OPEN))


# Where a kept card's distance goes: never in a card otherwise, since "<" in any text is escaped.
DISTANCE_SLOT = mark_safe("<jiefang-distance>")


@dataclass
class FeedCard:
    """A stall's feed card as kept: its HTML around the distance, and what the page needs of the
    stall (`stalls_feed` sets the rank, distance and age of each look)."""

    pk: int
    created_at: datetime
    expires_at: datetime
    fresh_days: float
    location_is_exact: bool
    before: str
    after: str
    rank: float | None = None
    distance_m: float | None = None
    is_new: bool = False
    age_days: float = 0.0

    def html(self, distance: str) -> str:
        """The card as shown from one place: `distance` (text) escaped into its slot."""
        return mark_safe(self.before + conditional_escape(distance) + self.after)  # noqa: S308 - our template's output


def _card_key(stall_id: int, area: int, language: str) -> str:
    return f"feed-card:v1:{stall_id}:{area:x}:{language}"


def feed_cards(rows, *, language: str, render: Callable) -> dict[int, FeedCard]:
    """The cards of the stalls `rows` names as (id, one of its cells of resolution 8 or finer), by
    id, in one round trip to the cache: a card is kept while the mark of the resolution-8 area above
    that cell is the one read before it was built (a change to what a card shows marks it: `areas_of`);
    the others are loaded, rendered with `render(stall)` (HTML with DISTANCE_SLOT where the distance
    goes) and kept. Near an area's edge a stall may be found through cells of two areas: two cards."""
    from .selectors import stall_cards

    areas = {pk: h3i.cell_to_parent(cell, 8) for pk, cell in rows}
    card_keys = {pk: _card_key(pk, area, language) for pk, area in areas.items()}
    mark_keys = {pk: _mark_key(area) for pk, area in areas.items()}
    found = cache.get_many([*card_keys.values(), *set(mark_keys.values())])
    cards, missing = {}, []
    for pk, _cell in rows:
        kept = found.get(card_keys[pk])
        if kept is not None and kept[0] == found.get(mark_keys[pk]):
            cards[pk] = kept[1]
        else:
            missing.append(pk)
    if missing:
        built = {}
        for pk, stall in stall_cards(missing).items():
            before, slot, after = render(stall).partition(DISTANCE_SLOT)
            if not slot:
                raise ValueError("a feed card must hold DISTANCE_SLOT where its distance goes")
            card = FeedCard(
                pk=pk,
                created_at=stall.created_at,
                expires_at=stall.expires_at,
                fresh_days=stall.fresh_days,
                location_is_exact=stall.location_is_exact,
                before=before,
                after=after,
            )
            cards[pk] = card
            built[card_keys[pk]] = (found.get(mark_keys[pk]), card)
        if settings.JIEFANG_FEED_CACHE_SECONDS > 0:
            cache.set_many(built, settings.JIEFANG_FEED_CACHE_SECONDS)
    return cards
